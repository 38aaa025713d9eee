from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from soundtrack.models import Soundtrack, SourceVideo


class SourceVideoSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceVideo
        fields = ("id", "title", "original_name", "size_bytes", "duration_s", "container", "video_codec", "width",
                  "height", "fps", "has_audio", "created_at")
        read_only_fields = fields


class SourceVideoUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="mp4, mov, mkv, webm or avi; checked by content; up to 5 minutes.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)


class SoundtrackCreateSerializer(serializers.Serializer):
    genre = serializers.ChoiceField(choices=Soundtrack.Genre.choices, default=Soundtrack.Genre.AUTO,
                                    help_text="A genre preset, or 'auto' to let the video's mood choose.")
    energy = serializers.IntegerField(min_value=1, max_value=5, default=3,
                                      help_text="1 (sparse) to 5 (busy); 3 follows the video's motion as it is.")
    mix = serializers.ChoiceField(choices=Soundtrack.Mix.choices, default=Soundtrack.Mix.REPLACE)
    seed = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False,
                                    help_text="Same seed and options give the same music; leave out for a new take.")


class SoundtrackDownloadsSerializer(serializers.Serializer):
    video = serializers.CharField(allow_null=True, help_text="The video with its new soundtrack (MP4).")
    audio = serializers.CharField(allow_null=True, help_text="The music alone (WAV).")
    midi = serializers.CharField(allow_null=True, help_text="The score (Standard MIDI File); none from MusicGen.")


class SoundtrackSerializer(serializers.ModelSerializer):
    job = serializers.UUIDField(source="job.pk", read_only=True)
    status = serializers.CharField(source="job.status", read_only=True)
    stage = serializers.CharField(source="job.stage", read_only=True)
    progress = serializers.FloatField(source="job.progress", read_only=True)
    message = serializers.CharField(source="job.message", read_only=True)
    error_code = serializers.CharField(source="job.error_code", read_only=True)
    error_detail = serializers.CharField(source="job.error_detail", read_only=True)
    downloads = serializers.SerializerMethodField()
    summary = serializers.SerializerMethodField()

    class Meta:
        model = Soundtrack
        fields = ("id", "video", "take", "genre", "energy", "mix", "seed", "job", "status", "stage", "progress",
                  "message", "error_code", "error_detail", "backend", "tempo_bpm", "key", "beat_hit_rate",
                  "downloads", "summary", "created_at")
        read_only_fields = fields

    @extend_schema_field(SoundtrackDownloadsSerializer)
    def get_downloads(self, obj: Soundtrack) -> dict[str, str | None]:
        request = self.context.get("request")

        def url(kind: str, present: bool) -> str | None:
            if not present:
                return None
            path = reverse("soundtrack:download", args=[obj.pk, kind]) + "?download=1"
            return request.build_absolute_uri(path) if request is not None else path

        return {"video": url("video", bool(obj.video_file)), "audio": url("audio", bool(obj.audio_file)),
                "midi": url("midi", bool(obj.midi_file))}

    @extend_schema_field(serializers.DictField(allow_null=True, help_text=(
        "When done: the analysis (visual beats, cuts, motion curve, mood), the music (tempo, key, beats, "
        "downbeats, sections, instruments) and the alignment figures (hit rate, F-measure, BeatAlign).")))
    def get_summary(self, obj: Soundtrack) -> dict[str, Any] | None:
        return obj.job.result or None
