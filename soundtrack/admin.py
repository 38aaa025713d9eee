from django.contrib import admin

from soundtrack.models import Soundtrack, SourceVideo


@admin.register(SourceVideo)
class SourceVideoAdmin(admin.ModelAdmin[SourceVideo]):
    list_display = ("id", "title", "user", "duration_s", "width", "height", "created_at")
    search_fields = ("title", "user__username")


@admin.register(Soundtrack)
class SoundtrackAdmin(admin.ModelAdmin[Soundtrack]):
    list_display = ("id", "video", "take", "user", "genre", "energy", "mix", "tempo_bpm", "key", "beat_hit_rate",
                    "created_at")
    list_filter = ("genre", "mix", "backend")
    search_fields = ("video__title", "user__username")
    raw_id_fields = ("video", "job", "user")
    readonly_fields = ("created_at",)
