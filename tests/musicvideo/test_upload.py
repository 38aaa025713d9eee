"""Song uploads: accepted by content; every refusal leaves no file and no row behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from musicvideo.models import Song
from tests.conftest import stored_files
from tests.media import truncate, write_audio, write_png, write_video, write_wav


def upload(client: APIClient, path: Path, name: str | None = None) -> tuple[int, dict]:
    data = path.read_bytes()
    response = client.post("/api/songs/", {"file": SimpleUploadedFile(name or path.name, data), "title": "T"},
                           format="multipart")
    return response.status_code, response.json()


@pytest.mark.django_db
def test_upload_mp3_is_stored_under_content_type(api_user: APIClient, tmp_path: Path, user) -> None:
    path = write_audio(tmp_path / "x.mp3", "libmp3lame", "mp3", 3.0)
    # A misleading name: the stored file is named from what the content is.
    status, body = upload(api_user, path, name="holiday.wav")
    assert status == 201
    song = Song.objects.get(pk=body["id"])
    assert (song.user, song.title, song.codec, song.original_name) == (user, "T", "mp3float", "holiday.wav")
    assert song.file.name == f"songs/{user.pk}/{song.pk}/original.mp3"
    assert stored_files(settings.MEDIA_ROOT) == [song.file.name]
    assert stored_files(settings.ENCORE_WORK_DIR) == []


def assert_refused(client: APIClient, path: Path, code: str, name: str | None = None) -> None:
    before = stored_files(settings.MEDIA_ROOT)
    status, body = upload(client, path, name)
    assert status == 400
    assert body["code"] == code
    assert body["detail"]
    assert Song.objects.count() == 0
    assert stored_files(settings.MEDIA_ROOT) == before
    assert stored_files(settings.ENCORE_WORK_DIR) == []  # the spooled temporary file is gone too


@pytest.mark.django_db
def test_wrong_type_behind_right_extension(api_user: APIClient, tmp_path: Path) -> None:
    assert_refused(api_user, write_png(tmp_path / "song.mp3"), "media_type_not_allowed")


@pytest.mark.django_db
def test_text_behind_audio_extension(api_user: APIClient, tmp_path: Path) -> None:
    path = tmp_path / "song.flac"
    path.write_text("not a song")
    assert_refused(api_user, path, "media_unreadable")


@pytest.mark.django_db
def test_empty(api_user: APIClient, tmp_path: Path) -> None:
    path = tmp_path / "song.mp3"
    path.write_bytes(b"")
    assert_refused(api_user, path, "media_empty")


@pytest.mark.django_db
def test_truncated(api_user: APIClient, tmp_path: Path) -> None:
    full = write_audio(tmp_path / "full.mp3", "libmp3lame", "mp3", 6.0)
    assert_refused(api_user, truncate(full, tmp_path / "cut.mp3"), "media_truncated")


@pytest.mark.django_db
def test_oversize(api_user: APIClient, tmp_path: Path, settings) -> None:
    settings.SONG_MAX_BYTES = 10_000
    assert_refused(api_user, write_wav(tmp_path / "big.wav", 2.0), "media_too_large")


@pytest.mark.django_db
def test_too_long(api_user: APIClient, tmp_path: Path, settings) -> None:
    settings.SONG_MAX_DURATION_S = 2.0
    assert_refused(api_user, write_wav(tmp_path / "long.wav", 3.0), "media_too_long")


@pytest.mark.django_db
def test_video_without_sound_is_not_a_song(api_user: APIClient, tmp_path: Path) -> None:
    assert_refused(api_user, write_video(tmp_path / "v.mp4", 1.0, with_audio=False), "media_no_audio")


@pytest.mark.django_db
def test_missing_file_field(api_user: APIClient) -> None:
    response = api_user.post("/api/songs/", {"title": "no file"}, format="multipart")
    assert response.status_code == 400
    assert response.json()["code"] == "required"
    assert Song.objects.count() == 0


@pytest.mark.django_db
def test_default_limit_is_fifteen_minutes() -> None:
    from musicvideo.services import song_limits

    assert song_limits().max_duration_s == 900.0


@pytest.mark.django_db
def test_page_upload_refusal_shows_code(client_user, tmp_path: Path) -> None:
    data = write_png(tmp_path / "s.mp3").read_bytes()
    response = client_user.post("/songs/", {"file": SimpleUploadedFile("s.mp3", data)})
    assert response.status_code == 400
    assert b"media_type_not_allowed" in response.content
    assert Song.objects.count() == 0


@pytest.mark.django_db
def test_other_user_cannot_fetch_song_file(api_user: APIClient, tmp_path: Path, other_user) -> None:
    status, body = upload(api_user, write_wav(tmp_path / "a.wav", 1.0))
    assert status == 201
    intruder = APIClient()
    intruder.force_login(other_user)
    assert intruder.get(f"/songs/{body['id']}/file/").status_code == 404
    assert intruder.get(f"/api/songs/{body['id']}/").status_code == 404
    assert api_user.get(f"/songs/{body['id']}/file/").status_code == 200
