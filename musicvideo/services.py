from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from config.uploads import accept_upload, delete_stored
from mediakit.probe import MediaInfo
from mediakit.validate import MediaLimits, audio_limits
from musicvideo.models import Song


def song_limits() -> MediaLimits:
    return audio_limits(max_bytes=settings.SONG_MAX_BYTES, max_duration_s=settings.SONG_MAX_DURATION_S)


def song_create(*, user: User, upload: UploadedFile | None, title: str = "") -> Song:
    """Validate an uploaded song by content, then store it; a refusal leaves no file and no row."""

    def create_row(info: MediaInfo, original_name: str) -> Song:
        assert info.audio is not None  # validation guarantees an audio stream
        return Song.objects.create(
            user=user, title=(title.strip() or Path(original_name or "song").stem)[:200],
            original_name=original_name[:255], size_bytes=info.size_bytes, duration_s=info.duration_s,
            container=info.container[:60], codec=info.audio.codec, sample_rate=info.audio.sample_rate,
            channels=info.audio.channels)

    return accept_upload(upload=upload, kind="audio", limits=song_limits(), create_row=create_row,
                         storage_stem=lambda song: f"songs/{user.pk}/{song.pk}/original")


def song_delete(*, song: Song) -> None:
    name = song.file.name
    song.delete()
    transaction.on_commit(lambda: delete_stored([name]))
