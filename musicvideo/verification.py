"""Reading a file's provenance back (C2PA manifest + invisible watermark), for the command and the API.

The engines live in ``mediakit.provenance`` / ``mediakit.watermark``; this module only adds what
needs Django: the configured certificate and trust anchors, and the job the watermark points at.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db.models import QuerySet

from jobs.models import Job
from mediakit.errors import MediaError
from mediakit.probe import probe
from mediakit.progress import ProgressFn, null_progress
from mediakit.provenance import ProvenanceConfig, config_from_settings, inspect_media
from mediakit.validate import audio_limits, validate_media, video_limits


def provenance_config() -> ProvenanceConfig:
    """The project's provenance settings (certificate, trust anchors, generator, watermark on/off)."""
    return config_from_settings(settings)


def jobs_with_watermark_id(*, prefix_hex: str) -> QuerySet[Job]:
    """Jobs whose UUID starts with the 64-bit watermark id (at most one in practice)."""
    value = int(prefix_hex, 16)
    low, high = uuid.UUID(int=value << 64), uuid.UUID(int=(value << 64) | ((1 << 64) - 1))
    return Job.objects.filter(pk__gte=low, pk__lte=high)


def media_verify(*, path: str | os.PathLike[str], progress: ProgressFn = null_progress) -> dict[str, Any]:
    """Both provenance signals of a local file: manifest validity and claims, watermark id and confidence."""
    config = provenance_config()
    report = inspect_media(path, trust_anchors_pem=config.trust_anchors(), progress=progress).as_dict()
    wm = report["watermark"]
    consistent: bool | None = None
    if wm and wm.get("found") and report["manifest"].get("job_id"):
        # The manifest names the whole job UUID; the watermark carries its first 64 bits.
        consistent = str(report["manifest"]["job_id"]).replace("-", "").lower().startswith(wm["job_id_prefix"])
    report["consistent"] = consistent
    return report


def media_verify_upload(*, upload: UploadedFile) -> dict[str, Any]:
    """Verify an uploaded file: spooled to a private temporary file, checked by content, then removed."""
    work = Path(settings.ENCORE_WORK_DIR) / "verify"
    work.mkdir(parents=True, exist_ok=True)
    limit = settings.VIDEO_MAX_BYTES
    fd, tmp = tempfile.mkstemp(prefix="verify-", dir=work)
    path = Path(tmp)
    try:
        written = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in upload.chunks():
                written += len(chunk)
                if written > limit:
                    raise MediaError(f"The file is larger than {limit / 2**20:.0f} MiB.", code="media_too_large")
                out.write(chunk)
        if written == 0:
            raise MediaError("The file is empty.", code="media_empty")
        info = probe(path)
        if info.video is not None:
            validate_media(path, kind="video", limits=video_limits(max_bytes=limit,
                                                                   max_duration_s=settings.VIDEO_MAX_DURATION_S))
        else:
            validate_media(path, kind="audio", limits=audio_limits(max_bytes=limit,
                                                                   max_duration_s=settings.SONG_MAX_DURATION_S))
        return media_verify(path=path)
    finally:
        path.unlink(missing_ok=True)
