from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from rest_framework.test import APIClient

from jobs.models import Job
from mediakit.encode import encode_mp4
from mediakit.provenance import provenance_apply
from musicvideo.testing.footage import compositor_like
from musicvideo.verification import media_verify, provenance_config
from soundtrack.services import soundtrack_create, source_video_create
from soundtrack.testing.synthetic import make_beat_video


@pytest.fixture
def dev_ca(settings: Any, tmp_path: Path) -> Path:
    settings.PROVENANCE_CERT_CHAIN = settings.PROVENANCE_PRIVATE_KEY = settings.PROVENANCE_TRUST_ANCHORS = ""
    settings.PROVENANCE_DEV_CA_DIR = tmp_path / "dev-ca"
    settings.PROVENANCE_GENERATOR_VERSION = "0.1.0"
    return tmp_path / "dev-ca"


@pytest.fixture
def signed_video(dev_ca: Path, user: User, tmp_path: Path) -> tuple[Path, Job]:
    job = Job.objects.create(user=user, kind=Job.Kind.RENDER, task_name="musicvideo.render_video")
    # 48 frames of 640x360: the default schedule marks frames 15, 16, 45 and 46.
    video = encode_mp4(tmp_path / "render.mp4", compositor_like(48, width=640, height=360), fps=30)
    [result] = provenance_apply([video], job_id=job.pk, consent_record_id="31", config=provenance_config())
    assert result.frames_marked == 4 and result.signed
    return video, job


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("verify_media", *args, stdout=out)
    return out.getvalue()


def test_command_reports_manifest_watermark_and_job(signed_video: tuple[Path, Job]) -> None:
    video, job = signed_video
    report = json.loads(run_command(str(video), "--json"))

    manifest = report["manifest"]
    assert manifest["validation_state"] == "Trusted" and manifest["trusted"]
    assert manifest["generator"] == "Encore" and manifest["generator_version"] == "0.1.0"
    assert manifest["ai_generated"] and manifest["digital_source_type"] == "trainedAlgorithmicMedia"
    assert manifest["job_id"] == str(job.pk) and manifest["consent_record_id"] == "31"
    assert report["watermark"]["found"] and report["watermark"]["job_id_prefix"] == job.pk.hex[:16]
    assert report["watermark"]["confidence"] > 0.9
    assert report["consistent"] is True
    assert report["job"] == {"id": str(job.pk), "kind": "render", "status": "queued", "user": "ada"}

    text = run_command(str(video))
    assert "Manifest: Trusted" in text
    assert f"Watermark: job {job.pk.hex[:16]}" in text
    assert "Manifest and watermark agree: yes" in text


def test_command_on_a_tampered_copy_keeps_the_watermark_but_fails_the_manifest(
        signed_video: tuple[Path, Job], tmp_path: Path) -> None:
    video, job = signed_video
    data = bytearray(video.read_bytes())
    data[data.index(b"mdat") + 64] ^= 0x01
    tampered = tmp_path / "tampered.mp4"
    tampered.write_bytes(bytes(data))

    report = json.loads(run_command(str(tampered), "--json"))
    assert report["manifest"]["validation_state"] == "Invalid"
    assert "assertion.bmffHash.mismatch" in report["manifest"]["failures"]
    assert report["watermark"]["found"] and report["job"]["id"] == str(job.pk)


def test_command_on_an_unsigned_video(dev_ca: Path, db: None, tmp_path: Path) -> None:
    plain = encode_mp4(tmp_path / "plain.mp4", compositor_like(20, width=640, height=360), fps=30)
    report = json.loads(run_command(str(plain), "--json"))
    assert report["manifest"]["present"] is False
    assert report["watermark"]["found"] is False
    assert report["consistent"] is None and "job" not in report
    assert "Manifest: none" in run_command(str(plain))


def test_api_verifies_an_upload_and_keeps_nothing(signed_video: tuple[Path, Job], api_user: APIClient,
                                                  settings: Any) -> None:
    video, job = signed_video
    response = api_user.post("/api/songs/verify/", {"file": SimpleUploadedFile("x.mp4", video.read_bytes())},
                             format="multipart")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["manifest"]["validation_state"] == "Trusted"
    assert body["manifest"]["job_id"] == str(job.pk)
    assert body["watermark"]["found"] and body["watermark"]["job_id_prefix"] == job.pk.hex[:16]
    assert body["consistent"] is True
    work = Path(settings.ENCORE_WORK_DIR) / "verify"
    assert list(work.iterdir()) == []          # the spooled upload is gone


def test_api_refusals_answer_code_and_detail(dev_ca: Path, api_user: APIClient) -> None:
    empty = api_user.post("/api/songs/verify/", {"file": SimpleUploadedFile("x.mp4", b"")}, format="multipart")
    assert empty.status_code == 400 and empty.json()["code"] == "media_empty"
    junk = api_user.post("/api/songs/verify/", {"file": SimpleUploadedFile("x.mp4", b"not a video" * 100)},
                         format="multipart")
    assert junk.status_code == 400 and junk.json()["code"] == "media_unreadable"
    assert set(junk.json()) == {"code", "detail"}
    missing = api_user.post("/api/songs/verify/", {}, format="multipart")
    assert missing.status_code == 400 and set(missing.json()) == {"code", "detail"}


def test_api_needs_a_signed_in_user(db: None) -> None:
    response = APIClient().post("/api/songs/verify/", {}, format="multipart")
    assert response.status_code == 403


def test_soundtrack_outputs_are_watermarked_and_signed(dev_ca: Path, user: User, tmp_path: Path,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    clip = make_beat_video(tmp_path / "clip.mp4", duration_s=3.0, size=(640, 360), with_audio=True)
    video = source_video_create(user=user, upload=SimpleUploadedFile("clip.mp4", clip.path.read_bytes()))
    with django_capture_on_commit_callbacks(execute=True):
        soundtrack = soundtrack_create(user=user, video=video, genre="pop", energy=3, mix="replace", seed=0)
    soundtrack.refresh_from_db()
    assert soundtrack.job.status == "succeeded", soundtrack.job.error_detail

    report = media_verify(path=soundtrack.video_file.path)
    assert report["manifest"]["trusted"] and report["manifest"]["job_id"] == str(soundtrack.job.pk)
    assert report["manifest"]["digital_source_type"] == "compositeSynthetic"
    assert report["manifest"]["consent_record_id"] is None
    assert report["watermark"]["found"] and report["watermark"]["job_id_prefix"] == soundtrack.job.pk.hex[:16]
    music = media_verify(path=soundtrack.audio_file.path)
    assert music["manifest"]["trusted"] and music["manifest"]["job_id"] == str(soundtrack.job.pk)
    assert music["watermark"] is None


def test_dev_ca_command_makes_the_ca_once(dev_ca: Path) -> None:
    out = StringIO()
    call_command("provenance_dev_ca", stdout=out)
    assert f"Development signing CA ready in {dev_ca}" in out.getvalue()
    root = (dev_ca / "root.pem").read_bytes()
    call_command("provenance_dev_ca", stdout=StringIO())
    assert (dev_ca / "root.pem").read_bytes() == root
