"""Soundtrack app fixtures: one generated clip per session, uploaded per test through the real service."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from soundtrack.models import SourceVideo
from soundtrack.services import source_video_create
from soundtrack.testing.synthetic import SyntheticVideo, make_beat_video


@pytest.fixture(scope="session")
def beat_clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    """5 s of shapes turning every 0.6 s (100 BPM) with a cut on beat 5, and a hum as the original sound."""
    return make_beat_video(tmp_path_factory.mktemp("clips") / "beats.mp4", duration_s=5.0, size=(192, 108),
                           beat_period_s=0.6, beat_offset_s=0.3, cuts_s=[0.3 + 0.6 * 5], seed=2, with_audio=True)


@pytest.fixture
def source_video(user: User, beat_clip: SyntheticVideo) -> SourceVideo:
    upload = SimpleUploadedFile("beats.mp4", beat_clip.path.read_bytes())
    return source_video_create(user=user, upload=upload, title="Shapes")
