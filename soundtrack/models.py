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


class Soundtrack(models.Model):
    """One take of music composed for a SourceVideo, made by a job; its outputs live in storage."""

    class Genre(models.TextChoices):
        AUTO = "auto", "Follow the mood"
        POP = "pop", "Pop"
        ELECTRONIC = "electronic", "Electronic"
        LOFI = "lofi", "Lo-fi hip hop"
        CINEMATIC = "cinematic", "Cinematic"
        AMBIENT = "ambient", "Ambient"
        ROCK = "rock", "Rock"
        ACOUSTIC = "acoustic", "Acoustic"

    class Mix(models.TextChoices):
        REPLACE = "replace", "Replace the original sound"
        DUCK = "duck", "Keep the original sound under the music"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="soundtracks")
    video = models.ForeignKey(SourceVideo, on_delete=models.CASCADE, related_name="soundtracks")
    job = models.OneToOneField("jobs.Job", on_delete=models.CASCADE, related_name="soundtrack")
    take = models.PositiveIntegerField()
    genre = models.CharField(max_length=20, choices=Genre.choices, default=Genre.AUTO)
    energy = models.PositiveSmallIntegerField(default=3)
    seed = models.PositiveIntegerField(default=0)
    mix = models.CharField(max_length=10, choices=Mix.choices, default=Mix.REPLACE)
    # Filled in by the job; empty until it succeeds.
    video_file = models.FileField(max_length=300, blank=True)
    audio_file = models.FileField(max_length=300, blank=True)
    midi_file = models.FileField(max_length=300, blank=True)
    backend = models.CharField(max_length=20, blank=True)
    tempo_bpm = models.FloatField(null=True, blank=True)
    key = models.CharField(max_length=30, blank=True)
    beat_hit_rate = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = [
            models.CheckConstraint(condition=models.Q(energy__gte=1) & models.Q(energy__lte=5),
                                   name="soundtrack_energy_1_5"),
            models.UniqueConstraint(fields=("video", "take"), name="soundtrack_take_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.video.title}, take {self.take}"
