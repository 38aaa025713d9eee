from __future__ import annotations

from django.conf import settings
from django.db import models


class SourceVideo(models.Model):
    """A user's own video, accepted only after its content was validated."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="source_videos")
    title = models.CharField(max_length=200)
    file = models.FileField(max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField()
    duration_s = models.FloatField()
    container = models.CharField(max_length=60)
    video_codec = models.CharField(max_length=40)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    fps = models.FloatField()
    has_audio = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.title
