from django.contrib import admin

from soundtrack.models import SourceVideo


@admin.register(SourceVideo)
class SourceVideoAdmin(admin.ModelAdmin[SourceVideo]):
    list_display = ("id", "title", "user", "duration_s", "width", "height", "created_at")
    search_fields = ("title", "user__username")
