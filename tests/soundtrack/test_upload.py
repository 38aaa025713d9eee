"""Video uploads: accepted by content; every refusal leaves no file and no row behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from soundtrack.models import SourceVideo
from tests.conftest import stored_files
from tests.media import truncate, write_audio, write_png, write_video


def upload(client: APIClient, path: Path, name: str | None = None) -> tuple[int, dict]:
    response = client.post("/api/soundtrack/videos/",
                           {"file": SimpleUploadedFile(name or path.name, path.read_bytes())}, format="multipart")
    return response.status_code, response.json()


def assert_refused(client: APIClient, path: Path, code: str) -> None:
    before = stored_files(settings.MEDIA_ROOT)
    status, body = upload(client, path)
    assert (status, body["code"]) == (400, code)
    assert SourceVideo.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == before
    assert stored_files(settings.ENCORE_WORK_DIR) == []


@pytest.mark.django_db
def test_upload_video(api_user: APIClient, tmp_path: Path, user) -> None:
    status, body = upload(api_user, write_video(tmp_path / "v.mov", 2.0))
    assert status == 201
    video = SourceVideo.objects.get(pk=body["id"])
    assert (video.width, video.height, video.video_codec, video.has_audio) == (160, 120, "h264", True)
    assert video.file.name == f"videos/{user.pk}/{video.pk}/original.mp4"
    assert stored_files(settings.MEDIA_ROOT) == [video.file.name]


@pytest.mark.django_db
def test_png_behind_video_extension(api_user: APIClient, tmp_path: Path) -> None:
    assert_refused(api_user, write_png(tmp_path / "clip.mp4"), "media_type_not_allowed")


@pytest.mark.django_db
def test_audio_only_file(api_user: APIClient, tmp_path: Path) -> None:
    assert_refused(api_user, write_audio(tmp_path / "clip.mp4", "aac", "mp4"), "media_no_video")


@pytest.mark.django_db
def test_truncated_video(api_user: APIClient, tmp_path: Path) -> None:
    full = write_video(tmp_path / "v.mp4", 3.0)
    assert_refused(api_user, truncate(full, tmp_path / "cut.mp4"), "media_truncated")


@pytest.mark.django_db
def test_too_long_video(api_user: APIClient, tmp_path: Path, settings) -> None:
    settings.VIDEO_MAX_DURATION_S = 1.0
    assert_refused(api_user, write_video(tmp_path / "v.mp4", 2.0), "media_too_long")


@pytest.mark.django_db
def test_oversize_video(api_user: APIClient, tmp_path: Path, settings) -> None:
    settings.VIDEO_MAX_BYTES = 2_000
    assert_refused(api_user, write_video(tmp_path / "v.mp4", 2.0), "media_too_large")
