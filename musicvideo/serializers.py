from __future__ import annotations

from rest_framework import serializers

from musicvideo.models import Song


class SongSerializer(serializers.ModelSerializer):
    class Meta:
        model = Song
        fields = ("id", "title", "original_name", "size_bytes", "duration_s", "container", "codec", "sample_rate",
                  "channels", "created_at")
        read_only_fields = fields


class SongUploadSerializer(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=True, help_text="mp3, wav, flac, ogg or m4a; checked by content; up to 15 minutes.")
    title = serializers.CharField(required=False, allow_blank=True, max_length=200)
