from django.contrib import admin
from django.http import HttpRequest

from soundtrack.models import Soundtrack, SourceVideo


@admin.register(SourceVideo)
class SourceVideoAdmin(admin.ModelAdmin[SourceVideo]):
    list_display = ("id", "title", "user", "duration_s", "width", "height", "created_at")
    search_fields = ("title", "user__username")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # uploaded and checked by the soundtrack pages, never typed in


@admin.register(Soundtrack)
class SoundtrackAdmin(admin.ModelAdmin[Soundtrack]):
    list_display = ("id", "video", "take", "user", "genre", "energy", "mix", "tempo_bpm", "key", "beat_hit_rate",
                    "created_at")
    list_filter = ("genre", "mix", "backend")
    search_fields = ("video__title", "user__username")
    raw_id_fields = ("video", "job", "user")
    readonly_fields = ("created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # made by the soundtrack job from a user's request, never typed in
