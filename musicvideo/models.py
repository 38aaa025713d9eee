from __future__ import annotations

from django.conf import settings
from django.db import models


class Song(models.Model):
    """An uploaded song, accepted only after its content was validated."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="songs")
    title = models.CharField(max_length=200)
    file = models.FileField(max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField()
    duration_s = models.FloatField()
    container = models.CharField(max_length=60)
    codec = models.CharField(max_length=40)
    sample_rate = models.PositiveIntegerField()
    channels = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)

    def __str__(self) -> str:
        return self.title
