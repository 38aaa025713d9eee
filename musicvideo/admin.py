from django.contrib import admin

from musicvideo.models import Song


@admin.register(Song)
class SongAdmin(admin.ModelAdmin[Song]):
    list_display = ("id", "title", "user", "duration_s", "codec", "created_at")
    search_fields = ("title", "user__username")
