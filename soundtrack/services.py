from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import UploadedFile

from config.uploads import accept_upload
from mediakit.probe import MediaInfo
from mediakit.validate import MediaLimits, video_limits
from soundtrack.models import SourceVideo


def source_video_limits() -> MediaLimits:
    return video_limits(max_bytes=settings.VIDEO_MAX_BYTES, max_duration_s=settings.VIDEO_MAX_DURATION_S)


def source_video_create(*, user: User, upload: UploadedFile | None, title: str = "") -> SourceVideo:
    """Validate an uploaded video by content, then store it; a refusal leaves no file and no row."""

    def create_row(info: MediaInfo, original_name: str) -> SourceVideo:
        assert info.video is not None  # validation guarantees a video stream
        return SourceVideo.objects.create(
            user=user, title=(title.strip() or Path(original_name or "video").stem)[:200],
            original_name=original_name[:255], size_bytes=info.size_bytes, duration_s=info.duration_s,
            container=info.container[:60], video_codec=info.video.codec, width=info.video.width,
            height=info.video.height, fps=info.video.fps, has_audio=info.audio is not None)

    return accept_upload(upload=upload, kind="video", limits=source_video_limits(), create_row=create_row,
                         storage_stem=lambda video: f"videos/{user.pk}/{video.pk}/original")
