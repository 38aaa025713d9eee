"""Oversized request bodies are refused before they are stored anywhere."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadhandler import StopUpload
from django.test import Client
from rest_framework.test import APIClient

from config.limits import CountingUploadHandler, body_limit
from musicvideo.models import Song
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def test_each_path_has_its_limit(settings: Any) -> None:
    settings.ENCORE_REQUEST_MAX_BYTES = 100
    settings.ENCORE_UPLOAD_MAX_BYTES_BY_PATH = {"/api/songs/": 1000, "/api/songs/1/lyrics/": 50}
    assert body_limit("/api/songs/") == 1000
    assert body_limit("/api/songs/1/lyrics/") == 50       # the longest prefix wins
    assert body_limit("/api/consent/challenges/") == 100


def test_a_declared_oversized_upload_is_refused_unread(api_user: APIClient, settings: Any, tmp_path: Path) -> None:
    settings.ENCORE_UPLOAD_MAX_BYTES_BY_PATH = {"/api/songs/": 2**20}
    incoming = Path(settings.FILE_UPLOAD_TEMP_DIR)
    before = sorted(incoming.iterdir()) if incoming.exists() else []
    big = io.BytesIO(b"\0" * (3 * 2**20))
    big.name = "huge.wav"
    response = api_user.post("/api/songs/", {"file": big}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (413, "media_too_large")
    assert "1 MiB at most" in response.json()["detail"]
    assert Song.objects.count() == 0 and stored_files(settings.MEDIA_ROOT) == []
    assert (sorted(incoming.iterdir()) if incoming.exists() else []) == before
    assert not (Path(settings.ENCORE_WORK_DIR) / "uploads").exists() or not any(
        (Path(settings.ENCORE_WORK_DIR) / "uploads").iterdir())


def test_the_page_says_it_in_words(client_user: Client, settings: Any) -> None:
    settings.ENCORE_UPLOAD_MAX_BYTES_BY_PATH = {"/songs/": 2**20}
    big = io.BytesIO(b"\0" * (2 * 2**20))
    big.name = "huge.wav"
    response = client_user.post("/songs/", {"file": big})
    assert response.status_code == 413 and b"That file is too large" in response.content


def test_a_body_without_a_length_is_cut_off_while_streaming() -> None:
    handler = CountingUploadHandler(None, limit=10)
    assert handler.receive_data_chunk(b"x" * 6, 0) == b"x" * 6
    with pytest.raises(StopUpload) as stopped:
        handler.receive_data_chunk(b"x" * 6, 6)
    assert stopped.value.connection_reset
