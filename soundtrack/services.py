from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction

from config.uploads import delete_stored, extension_for, store_file, validated_upload
from mediakit.validate import MediaLimits, video_limits
from soundtrack.models import SourceVideo


def source_video_limits() -> MediaLimits:
    return video_limits(max_bytes=settings.VIDEO_MAX_BYTES, max_duration_s=settings.VIDEO_MAX_DURATION_S)


def source_video_create(*, user: User, upload: UploadedFile | None, title: str = "") -> SourceVideo:
    """Validate an uploaded video by content, then store it; a refusal leaves no file and no row."""
    with validated_upload(upload=upload, kind="video", limits=source_video_limits()) as (path, info):
        assert info.video is not None and upload is not None  # validated_upload guarantees both
        stored: list[str] = []
        try:
            with transaction.atomic():
                video = SourceVideo.objects.create(
                    user=user, title=(title.strip() or Path(upload.name or "video").stem)[:200],
                    original_name=(upload.name or "")[:255], size_bytes=info.size_bytes, duration_s=info.duration_s,
                    container=info.container[:60], video_codec=info.video.codec, width=info.video.width,
                    height=info.video.height, fps=info.video.fps, has_audio=info.audio is not None)
                stored.append(store_file(source=path,
                                         name=f"videos/{user.pk}/{video.pk}/original{extension_for(info)}"))
                video.file.name = stored[0]
                video.save(update_fields=["file"])
        except BaseException:
            delete_stored(stored)
            raise
    return video
