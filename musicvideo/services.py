from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from config.uploads import delete_stored, extension_for, store_file, validated_upload
from mediakit.validate import MediaLimits, audio_limits
from musicvideo.models import Song


def song_limits() -> MediaLimits:
    return audio_limits(max_bytes=settings.SONG_MAX_BYTES, max_duration_s=settings.SONG_MAX_DURATION_S)


def song_create(*, user: User, upload: UploadedFile | None, title: str = "") -> Song:
    """Validate an uploaded song by content, then store it; a refusal leaves no file and no row."""
    with validated_upload(upload=upload, kind="audio", limits=song_limits()) as (path, info):
        assert info.audio is not None and upload is not None  # validated_upload guarantees both
        stored: list[str] = []
        try:
            with transaction.atomic():
                song = Song.objects.create(
                    user=user, title=(title.strip() or Path(upload.name or "song").stem)[:200],
                    original_name=(upload.name or "")[:255], size_bytes=info.size_bytes, duration_s=info.duration_s,
                    container=info.container[:60], codec=info.audio.codec, sample_rate=info.audio.sample_rate,
                    channels=info.audio.channels)
                stored.append(store_file(source=path, name=f"songs/{user.pk}/{song.pk}/original{extension_for(info)}"))
                song.file.name = stored[0]
                song.save(update_fields=["file"])
        except BaseException:
            delete_stored(stored)
            raise
    return song


def song_delete(*, song: Song) -> None:
    name = song.file.name
    song.delete()
    transaction.on_commit(lambda: delete_stored([name]))
