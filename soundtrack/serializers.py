from __future__ import annotations

from rest_framework import serializers

from soundtrack.models import SourceVideo


class SourceVideoSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceVideo
        fields = ("id", "title", "original_name", "size_bytes", "duration_s", "container", "video_codec", "width",
                  "height", "fps", "has_audio", "created_at")
        read_only_fields = fields


class SourceVideoUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="mp4, mov, mkv, webm or avi; checked by content; up to 5 minutes.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
