"""Song analysis through the API and the job: results, storyboards, prompt edits, and refusals.

Every refusal asserts that nothing changed: no row, no file, no job, no edited prompt.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from jobs.models import Job
from mediakit.audio import write_wav
from musicvideo.models import Scene, Song, SongAnalysis, Storyboard
from tests.conftest import stored_files
from tests.musicvideo import songs
from tests.musicvideo.test_storyboard import FakeLLM, running_fake_llm

pytestmark = pytest.mark.django_db


def post_song(client: APIClient, path: Path, capture: Callable[..., Any], **fields: Any) -> tuple[int, dict]:
    data = {"file": SimpleUploadedFile(path.name, path.read_bytes()), "title": "Test song", **fields}
    with capture(execute=True):
        response = client.post("/api/songs/", data, format="multipart")
    return response.status_code, response.json()


def snapshot() -> tuple[int, int, int, int, int, list[str]]:
    return (Song.objects.count(), SongAnalysis.objects.count(), Job.objects.count(), Storyboard.objects.count(),
            Scene.objects.count(), stored_files(settings.MEDIA_ROOT))


def test_upload_with_lyrics_is_analysed_into_a_storyboard(api_user: APIClient, django_capture_on_commit_callbacks) -> None:
    truth = songs.short()
    status, body = post_song(api_user, songs.short_wav(), django_capture_on_commit_callbacks,
                             lyrics=truth.lyrics_text)
    assert status == 201
    song = Song.objects.get(pk=body["id"])
    assert (song.lyrics_kind, body["lyrics_kind"]) == ("text", "text")
    analysis = song.analyses.get()
    assert analysis.job.status == Job.Status.SUCCEEDED
    assert analysis.job.kind == Job.Kind.ANALYZE and analysis.job.progress == 1.0

    got = api_user.get(f"/api/songs/{song.pk}/analysis/").json()
    assert got["tempo_bpm"] == pytest.approx(120.0, abs=0.5)
    # Section accuracy is measured on full-length songs in tests/musicvideo/audio; this 24-second
    # song's 4-bar parts are shorter than the novelty windows. Here: bar lines, covering the song.
    sections = got["sections"]
    assert sections[0]["start_s"] == 0.0 and sections[-1]["end_s"] == got["duration_s"]
    assert all(s["start_s"] in set(got["downbeats"]) for s in sections[1:])
    assert all(a["end_s"] == b["start_s"] for a, b in itertools.pairwise(sections))
    assert got["lyrics_source"] == "given"
    assert [w["text"] for w in got["words"]] == [w.text for w in truth.words]
    errors = np.abs([w["start_s"] - t.start_s for w, t in zip(got["words"], truth.words, strict=True)])
    assert float(np.median(errors)) <= 0.15
    assert got["job"]["status"] == "succeeded" and got["completed_at"]
    assert len(got["emotion"]["times_s"]) == len(got["emotion"]["valence"]) == 26
    assert len(got["waveform"]) == 1200

    board = api_user.get(f"/api/songs/{song.pk}/storyboard/").json()
    assert board["style"] == "cinematic" and board["writer"] == "template" and board["trigger"] == "sks person"
    scenes = board["scenes"]
    assert scenes[0]["start_s"] == 0.0 and scenes[-1]["end_s"] == got["duration_s"]
    assert all(s["start_s"] in set(got["beats"]) for s in scenes[1:])
    # Plain words about "the person": the renderer adds the trigger token itself.
    assert all(s["prompt"].startswith("The person ") and "sks" not in s["prompt"] for s in scenes)
    assert any(s["lyric"] == "we are dancing in the sun" for s in scenes)
    assert analysis.job.result == {"song_id": song.pk, "analysis_id": analysis.pk, "storyboard_id": board["id"],
                                   "tempo_bpm": got["tempo_bpm"], "sections": len(sections),
                                   "words": len(truth.words),
                                   "scenes": len(scenes), "warnings": []}


def test_lrc_upload_anchors_lines(api_user: APIClient, django_capture_on_commit_callbacks) -> None:
    truth = songs.short()
    lrc = SimpleUploadedFile("song.lrc", truth.lrc_text().encode())
    status, body = post_song(api_user, songs.short_wav(), django_capture_on_commit_callbacks, lrc=lrc)
    assert status == 201
    analysis = Song.objects.get(pk=body["id"]).analyses.get()
    assert analysis.lyrics_source == "lrc" and analysis.lyrics_kind == "lrc"
    firsts = [analysis.words[ln["first_word"]]["start_s"] for ln in analysis.lines]
    assert firsts == [round(truth.words[i].start_s, 2) for i in (0, 5, 10, 16)]


@pytest.mark.parametrize(("fields", "code"), [
    ({"lyrics": "x " * 12_000}, "lyrics_too_long"),
    ({"lrc": b"no timestamps here\njust words"}, "lrc_invalid"),
    ({"lyrics": "hello", "lrc": b"[00:01.00]hello"}, "lyrics_ambiguous"),
    ({"lyrics": "[Chorus]\n!!!"}, "lyrics_empty"),
])
def test_bad_lyrics_are_refused_and_nothing_changes(api_user: APIClient, django_capture_on_commit_callbacks,
                                                    fields: dict[str, Any], code: str) -> None:
    if "lrc" in fields:
        fields = {**fields, "lrc": SimpleUploadedFile("x.lrc", fields["lrc"])}
    before = snapshot()
    status, body = post_song(api_user, songs.short_wav(), django_capture_on_commit_callbacks, **fields)
    assert (status, body["code"]) == (400, code)
    assert body["detail"]
    assert snapshot() == before
    assert stored_files(settings.ENCORE_WORK_DIR) == []


def test_silence_fails_with_a_clear_code_and_no_storyboard(api_user: APIClient, client_user,
                                                          django_capture_on_commit_callbacks, tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(22050 * 4, dtype=np.float32), 22050)
    status, body = post_song(api_user, path, django_capture_on_commit_callbacks)
    assert status == 201
    analysis = SongAnalysis.objects.get(song_id=body["id"])
    assert (analysis.job.status, analysis.job.error_code) == (Job.Status.FAILED, "audio_silent")
    assert analysis.completed_at is None and Storyboard.objects.count() == 0
    page = client_user.get(f"/songs/{body['id']}/")
    assert page.status_code == 200
    assert b"audio_silent" in page.content and b"Analyse again" in page.content


@pytest.mark.parametrize(("make", "warning"), [("noise", "no_clear_beat"), ("one_second", None),
                                               ("instrumental", "no_vocals")])
def test_hard_input_still_gets_a_storyboard(api_user: APIClient, django_capture_on_commit_callbacks, tmp_path: Path,
                                            make: str, warning: str | None) -> None:
    if make == "noise":
        rng = np.random.default_rng(1)
        path = write_wav(tmp_path / "noise.wav", (0.2 * rng.standard_normal(22050 * 12)).astype(np.float32), 22050)
    elif make == "one_second":
        path = write_wav(tmp_path / "one.wav", songs.short().samples[22050 * 9: 22050 * 10], 22050)
    else:
        path = write_wav(tmp_path / "inst.wav", songs.instrumental().samples[: 22050 * 30], 22050)
    status, body = post_song(api_user, path, django_capture_on_commit_callbacks)
    assert status == 201
    analysis = SongAnalysis.objects.get(song_id=body["id"])
    assert analysis.job.status == Job.Status.SUCCEEDED, analysis.job.error_detail
    if warning:
        assert warning in analysis.warnings
    board = Storyboard.objects.get(analysis=analysis)
    scenes = list(board.scenes.all())
    assert len(scenes) >= 1
    assert scenes[0].start_s == 0.0 and scenes[-1].end_s == analysis.duration_s
    assert all(s.prompt.startswith("The person ") for s in scenes)


def test_lyrics_that_do_not_match_are_flagged(api_user: APIClient, django_capture_on_commit_callbacks) -> None:
    _, body = post_song(api_user, songs.short_wav(), django_capture_on_commit_callbacks,
                        lyrics="purple elephants juggle quietly\nbeneath seventeen bicycles")
    analysis = SongAnalysis.objects.get(song_id=body["id"])
    assert analysis.job.status == Job.Status.SUCCEEDED
    assert analysis.warnings == ["lyrics_mismatch"]
    assert [w["text"] for w in analysis.words][:2] == ["purple", "elephants"]
    assert Storyboard.objects.get(analysis=analysis).scenes.count() >= 3


def analysed_song(client: APIClient, capture: Callable[..., Any]) -> Song:
    status, body = post_song(client, songs.short_wav(), capture)
    assert status == 201
    return Song.objects.get(pk=body["id"])


@pytest.fixture
def song(api_user: APIClient, django_capture_on_commit_callbacks, settings) -> Song:
    settings.MUSICVIDEO_TRANSCRIBE = False     # these tests are about rows and requests, not words
    return analysed_song(api_user, django_capture_on_commit_callbacks)


def test_edit_a_scene_prompt(api_user: APIClient, song: Song) -> None:
    response = api_user.patch(f"/api/songs/{song.pk}/storyboard/scenes/2/",
                              {"prompt": "  sks person   on a rooftop at dawn, watercolor "}, format="json")
    assert response.status_code == 200
    assert response.json()["prompt"] == "sks person on a rooftop at dawn, watercolor"
    scene = Scene.objects.get(storyboard__song=song, index=2)
    assert (scene.prompt, scene.prompt_edited) == ("sks person on a rooftop at dawn, watercolor", True)


def test_a_prompt_in_plain_words_needs_no_token(api_user: APIClient, song: Song) -> None:
    response = api_user.patch(f"/api/songs/{song.pk}/storyboard/scenes/1/", {"prompt": "They wave from a rooftop at dawn."},
                              format="json")
    assert response.status_code == 200
    scene = Scene.objects.get(storyboard__song=song, index=1)
    assert (scene.prompt, scene.prompt_edited) == ("They wave from a rooftop at dawn.", True)


@pytest.mark.parametrize(("prompt", "code"), [("   ", "prompt_empty"), ("x" * 1001, "prompt_too_long")])
def test_bad_prompt_edits_change_nothing(api_user: APIClient, song: Song, prompt: str, code: str) -> None:
    before = list(Scene.objects.order_by("pk").values_list("prompt", "prompt_edited"))
    response = api_user.patch(f"/api/songs/{song.pk}/storyboard/scenes/1/", {"prompt": prompt}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, code)
    assert list(Scene.objects.order_by("pk").values_list("prompt", "prompt_edited")) == before


def test_other_users_cannot_see_or_edit(song: Song, other_user) -> None:
    intruder = APIClient()
    intruder.force_login(other_user)
    before = list(Scene.objects.order_by("pk").values_list("prompt", flat=True))
    assert intruder.get(f"/api/songs/{song.pk}/analysis/").status_code == 404
    assert intruder.get(f"/api/songs/{song.pk}/storyboard/").status_code == 404
    assert intruder.patch(f"/api/songs/{song.pk}/storyboard/scenes/0/", {"prompt": "sks person x"},
                          format="json").status_code == 404
    assert intruder.post(f"/api/songs/{song.pk}/analysis/").status_code == 404
    assert list(Scene.objects.order_by("pk").values_list("prompt", flat=True)) == before
    assert SongAnalysis.objects.count() == 1


def test_unknown_scene_is_404(api_user: APIClient, song: Song) -> None:
    assert api_user.patch(f"/api/songs/{song.pk}/storyboard/scenes/999/", {"prompt": "sks person"},
                          format="json").status_code == 404


def test_rewrite_storyboard_in_another_style(api_user: APIClient, song: Song,
                                             django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "anime"}, format="json")
    assert response.status_code == 202
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.kind, job.task_name, job.status) == ("storyboard", "musicvideo.write_storyboard", "succeeded")
    assert job.params["style"] == "anime" and job.result["scenes"] > 0
    assert Storyboard.objects.filter(song=song).count() == 2
    latest = api_user.get(f"/api/songs/{song.pk}/storyboard/").json()
    assert latest["style"] == "anime" and all("anime key visual" in s["prompt"] for s in latest["scenes"])


def test_rewriting_the_storyboard_keeps_edited_prompts(api_user: APIClient, song: Song,
                                                       django_capture_on_commit_callbacks) -> None:
    assert api_user.patch(f"/api/songs/{song.pk}/storyboard/scenes/2/", {"prompt": "They read a letter by a window."},
                          format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "neon"}, format="json").status_code == 202
    latest = api_user.get(f"/api/songs/{song.pk}/storyboard/").json()
    assert latest["style"] == "neon" and latest["warnings"] == []
    kept = [s for s in latest["scenes"] if s["prompt_edited"]]
    assert [(s["index"], s["prompt"]) for s in kept] == [(2, "They read a letter by a window.")]
    assert all("synthwave" in s["prompt"] for s in latest["scenes"] if not s["prompt_edited"])


def test_a_second_rewrite_while_one_is_queued_is_refused(api_user: APIClient, song: Song) -> None:
    # Without executing on-commit callbacks the first storyboard job stays queued.
    first = api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "anime"}, format="json")
    assert first.status_code == 202
    before = snapshot()
    again = api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "neon"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "storyboard_running")
    assert snapshot() == before


def test_unknown_style_changes_nothing(api_user: APIClient, song: Song) -> None:
    before = snapshot()
    response = api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "vaporwave"}, format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_choice")
    assert snapshot() == before


def test_second_analysis_while_one_runs_is_refused(api_user: APIClient, user, tmp_path: Path, settings) -> None:
    # Without executing on-commit callbacks the first job stays queued, as if a worker were busy.
    response = api_user.post("/api/songs/", {"file": SimpleUploadedFile("a.wav", songs.short_wav().read_bytes())},
                             format="multipart")
    song_id = response.json()["id"]
    assert Job.objects.get().status == Job.Status.QUEUED
    before = snapshot()
    again = api_user.post(f"/api/songs/{song_id}/analysis/")
    assert (again.status_code, again.json()["code"]) == (409, "analysis_running")
    lyrics = api_user.put(f"/api/songs/{song_id}/lyrics/", {"lyrics": "new words"}, format="multipart")
    assert (lyrics.status_code, lyrics.json()["code"]) == (409, "analysis_running")
    assert snapshot() == before
    assert Song.objects.get(pk=song_id).lyrics_text == ""
    not_ready = api_user.post(f"/api/songs/{song_id}/storyboard/", {"style": "anime"}, format="json")
    assert (not_ready.status_code, not_ready.json()["code"]) == (409, "analysis_not_ready")
    assert api_user.get(f"/api/songs/{song_id}/storyboard/").status_code == 404
    progress = api_user.get(f"/api/songs/{song_id}/analysis/").json()
    assert progress["job"]["status"] == "queued" and progress["sections"] == [] and progress["completed_at"] is None


def test_set_lyrics_analyses_again(api_user: APIClient, song: Song, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api_user.put(f"/api/songs/{song.pk}/lyrics/", {"lyrics": songs.short().lyrics_text},
                                format="multipart")
    assert response.status_code == 202
    song.refresh_from_db()
    assert song.lyrics_kind == "text"
    latest = song.analyses.order_by("-created_at").first()
    assert latest is not None and latest.lyrics_kind == "text" and latest.lyrics_source == "given"
    assert song.analyses.count() == 2


def test_rerunning_the_job_replaces_its_storyboard(song: Song) -> None:
    from jobs.services import job_run_now

    analysis = song.analyses.get()
    first = list(Storyboard.objects.filter(analysis=analysis).values_list("pk", flat=True))
    Job.objects.filter(pk=analysis.job_id).update(status=Job.Status.QUEUED)
    job_run_now(job_id=analysis.job_id)
    assert Storyboard.objects.filter(analysis=analysis).count() == 1
    assert list(Storyboard.objects.filter(analysis=analysis).values_list("pk", flat=True)) != first


def test_llm_endpoint_from_settings_writes_prompts(api_user: APIClient, song: Song, settings,
                                                   django_capture_on_commit_callbacks) -> None:
    with running_fake_llm() as url:
        settings.MUSICVIDEO_LLM_BASE_URL = url
        settings.MUSICVIDEO_LLM_MODEL = "local-model"
        with django_capture_on_commit_callbacks(execute=True):
            response = api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "neon"}, format="json")
    # The request only queues the job: the LLM is called by the worker, outside the request.
    assert response.status_code == 202
    body = api_user.get(f"/api/songs/{song.pk}/storyboard/").json()
    assert body["writer"] == "llm" and body["warnings"] == []
    assert body["scenes"][0]["prompt"].startswith("scene 1 about ")
    assert FakeLLM.requests[0]["body"]["model"] == "local-model"


def test_schema_lists_the_song_endpoints(api_user: APIClient) -> None:
    schema = api_user.get("/api/schema/?format=json").json()
    paths = schema["paths"]
    assert {"/api/songs/{id}/analysis/", "/api/songs/{id}/storyboard/", "/api/songs/{id}/lyrics/",
            "/api/songs/{id}/storyboard/scenes/{index}/"} <= set(paths)
    assert set(paths["/api/songs/{id}/analysis/"]) >= {"get", "post"}
