"""Soundtrack jobs through the service and the API: created, run, stored, downloaded; refusals change nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mido
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from jobs.context import JobContext
from jobs.models import Job
from jobs.services import job_run_now
from mediakit.encode import encode_mp4
from mediakit.probe import probe
from soundtrack.models import Soundtrack, SourceVideo
from soundtrack.services import soundtrack_create, soundtrack_run, source_video_create
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def compose_via_api(client: APIClient, video: SourceVideo, django_capture_on_commit_callbacks: Any,
                    **options: Any) -> tuple[int, dict[str, Any]]:
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/api/soundtrack/videos/{video.pk}/soundtracks/", options, format="json")
    return response.status_code, response.json()


def test_compose_runs_the_job_and_stores_three_outputs(api_user: APIClient, source_video: SourceVideo, user: User,
                                                       django_capture_on_commit_callbacks: Any) -> None:
    status, body = compose_via_api(api_user, source_video, django_capture_on_commit_callbacks, genre="pop", energy=4,
                                   mix="duck")
    assert status == 202
    soundtrack = Soundtrack.objects.get(pk=body["id"])
    assert (soundtrack.take, soundtrack.seed, soundtrack.genre, soundtrack.energy, soundtrack.mix) == \
        (1, 0, "pop", 4, "duck")
    job = soundtrack.job
    assert (job.kind, job.status, job.progress, job.error_code) == ("soundtrack", "succeeded", 1.0, "")
    prefix = f"soundtracks/{user.pk}/{soundtrack.pk}"
    assert (soundtrack.video_file.name, soundtrack.audio_file.name, soundtrack.midi_file.name) == \
        (f"{prefix}/soundtrack.mp4", f"{prefix}/music.wav", f"{prefix}/music.mid")
    assert stored_files(settings.MEDIA_ROOT) == sorted([source_video.file.name, f"{prefix}/music.mid",
                                                        f"{prefix}/music.wav", f"{prefix}/soundtrack.mp4"])
    # The work folder is cleaned up after the job.
    assert stored_files(settings.ENCORE_WORK_DIR) == []
    assert soundtrack.tempo_bpm == pytest.approx(100.0, abs=0.5)
    assert soundtrack.backend == "fluidsynth"
    assert job.result["alignment"]["cuts_on_downbeat"] == 1
    assert soundtrack.beat_hit_rate == job.result["alignment"]["hit_rate"]

    detail = api_user.get(f"/api/soundtrack/soundtracks/{soundtrack.pk}/").json()
    assert (detail["status"], detail["progress"], detail["key"]) == ("succeeded", 1.0, soundtrack.key)
    assert detail["summary"]["music"]["tempo_bpm"] == soundtrack.tempo_bpm
    assert detail["downloads"]["midi"] == f"http://testserver/soundtrack/tracks/{soundtrack.pk}/midi/?download=1"


def test_downloads(client_user: Any, source_video: SourceVideo, django_capture_on_commit_callbacks: Any,
                   tmp_path: Path) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        soundtrack = soundtrack_create(user=source_video.user, video=source_video)
    response = client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/video/?download=1")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="shapes-take1-ai-generated-music.mp4"'
    video = tmp_path / "v.mp4"
    video.write_bytes(b"".join(response.streaming_content))
    info = probe(video)
    assert info.video is not None and info.audio is not None
    midi = client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/midi/")
    assert midi["Content-Type"] == "audio/midi"
    path = tmp_path / "m.mid"
    path.write_bytes(b"".join(midi.streaming_content))
    assert mido.MidiFile(str(path)).type == 1
    audio = client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/audio/")
    assert audio["Content-Type"] == "audio/wav"
    assert client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/score/").status_code == 404


def test_another_take_changes_the_seed_and_keeps_the_options(api_user: APIClient, source_video: SourceVideo,
                                                             django_capture_on_commit_callbacks: Any) -> None:
    _, first = compose_via_api(api_user, source_video, django_capture_on_commit_callbacks, genre="ambient", seed=7)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_user.post(f"/api/soundtrack/soundtracks/{first['id']}/another-take/")
    assert response.status_code == 202
    second = Soundtrack.objects.get(pk=response.json()["id"])
    assert (second.take, second.seed, second.genre) == (2, 8, "ambient")
    assert second.job.status == "succeeded"
    first_midi = Soundtrack.objects.get(pk=first["id"]).midi_file.read()
    assert second.midi_file.read() != first_midi
    listed = api_user.get(f"/api/soundtrack/soundtracks/?video={source_video.pk}").json()
    assert [s["take"] for s in listed["results"]] == [2, 1]


def test_same_seed_same_music(api_user: APIClient, source_video: SourceVideo,
                              django_capture_on_commit_callbacks: Any) -> None:
    _, a = compose_via_api(api_user, source_video, django_capture_on_commit_callbacks, seed=3)
    _, b = compose_via_api(api_user, source_video, django_capture_on_commit_callbacks, seed=3)
    assert Soundtrack.objects.get(pk=a["id"]).midi_file.read() == Soundtrack.objects.get(pk=b["id"]).midi_file.read()


def test_running_the_job_twice_is_safe(source_video: SourceVideo, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        soundtrack = soundtrack_create(user=source_video.user, video=source_video)
    before = stored_files(settings.MEDIA_ROOT)
    midi = Soundtrack.objects.get(pk=soundtrack.pk).midi_file.read()
    again = soundtrack_run(ctx=JobContext(job=soundtrack.job))
    assert stored_files(settings.MEDIA_ROOT) == before
    assert Soundtrack.objects.get(pk=soundtrack.pk).midi_file.read() == midi
    assert again["music"] == Job.objects.get(pk=soundtrack.job.pk).result["music"]


def snapshot() -> tuple[int, int, list[str]]:
    return Soundtrack.objects.count(), Job.objects.count(), stored_files(settings.MEDIA_ROOT)


@pytest.mark.parametrize(("options", "code"), [
    ({"genre": "polka"}, "invalid_choice"),
    ({"energy": 0}, "min_value"),
    ({"energy": 6}, "max_value"),
    ({"mix": "blend"}, "invalid_choice"),
    ({"seed": -1}, "min_value"),
])
def test_bad_options_are_refused_and_change_nothing(api_user: APIClient, source_video: SourceVideo,
                                                    django_capture_on_commit_callbacks: Any,
                                                    options: dict[str, Any], code: str) -> None:
    before = snapshot()
    status, body = compose_via_api(api_user, source_video, django_capture_on_commit_callbacks, **options)
    assert (status, body["code"]) == (400, code)
    assert snapshot() == before


def test_a_video_too_short_for_music(api_user: APIClient, user: User, tmp_path: Path,
                                     django_capture_on_commit_callbacks: Any) -> None:
    import numpy as np

    clip = encode_mp4(tmp_path / "short.mp4", [np.full((90, 160, 3), i * 20, np.uint8) for i in range(8)], fps=12)
    video = source_video_create(user=user, upload=SimpleUploadedFile("short.mp4", clip.read_bytes()))
    before = snapshot()
    status, body = compose_via_api(api_user, video, django_capture_on_commit_callbacks)
    assert (status, body["code"]) == (400, "video_too_short")
    assert body["detail"] == "The video lasts 0.67 s; a soundtrack needs at least 1 s."
    assert snapshot() == before


def test_a_video_longer_than_the_limit(api_user: APIClient, source_video: SourceVideo, settings: Any,
                                       django_capture_on_commit_callbacks: Any) -> None:
    settings.VIDEO_MAX_DURATION_S = 3.0   # the limit was lowered after the upload
    before = snapshot()
    status, body = compose_via_api(api_user, source_video, django_capture_on_commit_callbacks)
    assert (status, body["code"]) == (400, "video_too_long")
    assert snapshot() == before


def test_someone_elses_video_or_soundtrack_is_not_found(api_user: APIClient, other_user: User,
                                                        beat_clip: Any, django_capture_on_commit_callbacks: Any) -> None:
    theirs = source_video_create(user=other_user, upload=SimpleUploadedFile("b.mp4", beat_clip.path.read_bytes()))
    before = snapshot()
    status, body = compose_via_api(api_user, theirs, django_capture_on_commit_callbacks)
    assert (status, body["code"]) == (404, "not_found")
    assert snapshot() == before
    with django_capture_on_commit_callbacks(execute=True):
        their_track = soundtrack_create(user=other_user, video=theirs)
    assert api_user.get(f"/api/soundtrack/soundtracks/{their_track.pk}/").status_code == 404
    assert api_user.post(f"/api/soundtrack/soundtracks/{their_track.pk}/another-take/").status_code == 404
    assert api_user.get("/api/soundtrack/soundtracks/").json()["count"] == 0


def test_engine_failure_is_recorded_on_the_job(source_video: SourceVideo, settings: Any,
                                               django_capture_on_commit_callbacks: Any) -> None:
    settings.SOUNDTRACK_SOUNDFONT = "/nonexistent/GM.sf2"
    with django_capture_on_commit_callbacks(execute=True):
        soundtrack = soundtrack_create(user=source_video.user, video=source_video)
    job = Job.objects.get(pk=soundtrack.job.pk)
    assert (job.status, job.error_code) == ("failed", "synth_unavailable")
    assert job.error_detail == "The soundfont /nonexistent/GM.sf2 is missing on this worker."
    soundtrack.refresh_from_db()
    assert (soundtrack.video_file.name, soundtrack.tempo_bpm) == ("", None)
    assert stored_files(settings.ENCORE_WORK_DIR) == []


def test_job_runs_through_the_registered_task(source_video: SourceVideo) -> None:
    soundtrack = soundtrack_create(user=source_video.user, video=source_video)   # no commit yet: still queued
    assert soundtrack.job.status == "queued"
    job = job_run_now(job_id=soundtrack.job.pk)
    assert (job.status, job.task_name) == ("succeeded", "soundtrack.score_video")


def test_schema_lists_the_soundtrack_api(client: Any) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path in ("/api/soundtrack/videos/{id}/soundtracks/", "/api/soundtrack/soundtracks/",
                 "/api/soundtrack/soundtracks/{id}/", "/api/soundtrack/soundtracks/{id}/another-take/"):
        assert path in schema["paths"], path


@pytest.mark.parametrize("video", ["93778893267684210535038976", "-1", "0", "abc", "1.5"])
def test_a_bad_video_filter_is_a_400_not_a_500(api_user: APIClient, video: str) -> None:
    response = api_user.get("/api/soundtrack/soundtracks/", {"video": video})
    assert (response.status_code, response.json()["code"]) in {(400, "max_value"), (400, "min_value"),
                                                               (400, "invalid")}


@pytest.mark.parametrize("path", ["/api/soundtrack/soundtracks/93778893267684210535038976/",
                                  "/api/soundtrack/videos/93778893267684210535038976/",
                                  "/api/songs/93778893267684210535038976/",
                                  "/api/jobs/not-a-uuid/"])
def test_huge_or_malformed_ids_are_404(api_user: APIClient, path: str) -> None:
    assert api_user.get(path).status_code == 404
