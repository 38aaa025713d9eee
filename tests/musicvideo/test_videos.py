"""Music videos through the API, the job, the pages, the command and consent withdrawal.

Every refusal asserts that nothing changed: no video row, no job, no stored file.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from charcha.services import consent_withdraw
from jobs.models import Job
from mediakit.provenance import inspect_media
from musicvideo.models import MusicVideo
from tests.conftest import stored_files
from tests.musicvideo import videos

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small(settings: Any) -> None:
    videos.small_render(settings)


def snapshot() -> tuple[int, int, list[str]]:
    return MusicVideo.objects.count(), Job.objects.filter(kind=Job.Kind.RENDER).count(), stored_files(
        Path(settings.MEDIA_ROOT))


def render(api: APIClient, capture: Any, **data: Any) -> tuple[int, dict[str, Any]]:
    with capture(execute=True):
        response = api.post("/api/songs/videos/", data, format="json")
    return response.status_code, response.json()


def test_a_render_makes_a_video_cut_on_the_storyboard_with_preview_thumbnails_and_provenance(
        user: User, api_user: APIClient, client_user: Client, django_capture_on_commit_callbacks: Any) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    board = song.storyboards.get()
    scenes = list(board.scenes.order_by("index"))
    status, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk, style="anime",
                          prompts={"1": "  dancing   under neon rain "})
    assert status == 202, body
    video = MusicVideo.objects.select_related("job").get(pk=body["id"])
    job = video.job
    assert job.status == Job.Status.SUCCEEDED, (job.error_code, job.error_detail)
    # The prompts the render used: plain words, the edited one as typed (spaces tidied), no trigger token.
    assert video.scenes[1]["prompt"] == "dancing under neon rain"
    assert all(board.trigger not in s["prompt"] for s in video.scenes)
    assert video.renderer_used == "compositor"
    fps = settings.MUSICVIDEO_RENDER_FPS
    assert job.result["cut_frames"] == [int(round(s.start_s * fps)) for s in scenes]
    assert job.result["n_frames"] == int(round(song.duration_s * fps))
    # Files: the video (H.264/AAC, the song's length), the early preview, a thumbnail per scene.
    files = stored_files(Path(settings.MEDIA_ROOT))
    prefix = f"videos/{user.pk}/{video.pk}/"
    assert {f"{prefix}video.mp4", f"{prefix}preview.mp4"} <= set(files)
    assert sorted(d["index"] for d in video.scenes_done) == [s.index for s in scenes]
    assert all(d["thumb"] in files for d in video.scenes_done)
    with av.open(str(Path(settings.MEDIA_ROOT) / video.video.name)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.width, stream.height) == ("h264", 480, 270)
        assert abs(float(container.duration or 0) / 1e6 - song.duration_s) < 0.1
    # Provenance, read back from the file: a valid manifest naming the job and the consent, and
    # the job's id in the pixels.
    assert job.result["signed"] is True and job.result["frames_marked"] > 0
    report = inspect_media(Path(settings.MEDIA_ROOT) / video.video.name, trust_anchors_pem=None)
    assert report.manifest.valid and report.manifest.ai_generated
    assert (report.manifest.job_id, report.manifest.consent_record_id) == (str(job.pk), str(video.consent_id))
    assert report.watermark is not None and report.watermark["found"]
    assert report.watermark["job_id_prefix"] == job.result["watermark_id"] == str(job.pk).replace("-", "")[:16]
    # The API shows the same, with links the page and the player use.
    detail = api_user.get(f"/api/songs/videos/{video.pk}/").json()
    assert detail["job"]["status"] == "succeeded" and detail["video_url"] and detail["preview_url"]
    assert len(detail["scenes_done"]) == len(scenes)
    download = client_user.get(detail["download_url"])
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert b"ftyp" in b"".join(download.streaming_content)[:64]  # type: ignore[attr-defined]
    thumb = client_user.get(detail["scenes_done"][0]["thumb_url"])
    assert thumb.status_code == 200


def test_without_consent_nothing_is_rendered(user: User, api_user: APIClient,
                                             django_capture_on_commit_callbacks: Any) -> None:
    song = videos.analysed_song(user)
    before = snapshot()
    status, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk)
    assert (status, body["code"]) == (403, "consent_required")
    assert snapshot() == before


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"renderer": "wan"}, 400, "renderer_unavailable"),
    ({"renderer": "keyframes"}, 400, "renderer_unavailable"),
    ({"prompts": {"0": "   "}}, 400, "prompt_empty"),
    ({"prompts": {"0": "x" * 1001}}, 400, "prompt_too_long"),
    ({"prompts": {"999": "a beach"}}, 400, "prompt_invalid"),
    ({"prompts": {"first": "a beach"}}, 400, "prompt_invalid"),
])
def test_bad_requests_are_refused_with_a_code_and_change_nothing(
        user: User, api_user: APIClient, django_capture_on_commit_callbacks: Any, data: dict[str, Any], status: int,
        code: str) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    before = snapshot()
    got_status, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk, **data)
    assert (got_status, body["code"]) == (status, code), body
    assert snapshot() == before


def test_unknown_style_or_renderer_is_refused(user: User, api_user: APIClient,
                                              django_capture_on_commit_callbacks: Any) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    before = snapshot()
    for data in ({"style": "disco"}, {"renderer": "magic"}):
        status, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk, **data)
        assert status == 400 and body["code"] in ("invalid_choice", "invalid"), body
    assert snapshot() == before


def test_another_users_song_and_an_unanalysed_song_are_refused(
        user: User, other_user: User, api_user: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    videos.face_consent(user)
    theirs = videos.analysed_song(other_user)
    mine = videos.analysed_song(user)
    mine.analyses.all().update(completed_at=None)
    before = snapshot()
    status, body = render(api_user, django_capture_on_commit_callbacks, song=theirs.pk)
    assert (status, body["code"]) == (404, "song_state")
    status, body = render(api_user, django_capture_on_commit_callbacks, song=mine.pk)
    assert (status, body["code"]) == (409, "analysis_not_ready")
    assert snapshot() == before


def test_a_second_render_of_the_same_song_waits_for_the_first(user: User, api_user: APIClient) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    first = api_user.post("/api/songs/videos/", {"song": song.pk}, format="json")   # queued: on_commit not run
    assert first.status_code == 202
    before = snapshot()
    second = api_user.post("/api/songs/videos/", {"song": song.pk}, format="json")
    assert (second.status_code, second.json()["code"]) == (409, "render_running")
    assert snapshot() == before


def test_deleting_a_video_removes_its_row_and_every_file(user: User, api_user: APIClient,
                                                        django_capture_on_commit_callbacks: Any) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    _, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk)
    prefix = f"videos/{user.pk}/{body['id']}/"
    assert any(f.startswith(prefix) for f in stored_files(Path(settings.MEDIA_ROOT)))
    with django_capture_on_commit_callbacks(execute=True):
        response = api_user.delete(f"/api/songs/videos/{body['id']}/")
    assert response.status_code == 204
    assert not MusicVideo.objects.filter(pk=body["id"]).exists()
    assert not any(f.startswith("videos/") for f in stored_files(Path(settings.MEDIA_ROOT)))


def test_others_cannot_see_or_delete_a_video(user: User, other_user: User, api_user: APIClient,
                                             django_capture_on_commit_callbacks: Any) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    _, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk)
    other = APIClient()
    other.force_login(other_user)
    assert other.get(f"/api/songs/videos/{body['id']}/").status_code == 404
    assert other.delete(f"/api/songs/videos/{body['id']}/").status_code == 404
    stranger = Client()
    stranger.force_login(other_user)
    assert stranger.get(f"/songs/videos/{body['id']}/file/").status_code == 404
    assert MusicVideo.objects.filter(pk=body["id"]).exists()


def test_withdrawing_consent_erases_every_video_made_under_it(user: User, other_user: User, api_user: APIClient,
                                                              django_capture_on_commit_callbacks: Any) -> None:
    consent = videos.face_consent(user)
    song = videos.analysed_song(user)
    _, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk)
    videos.face_consent(other_user, offset=13)
    other_song = videos.analysed_song(other_user)
    other_api = APIClient()
    other_api.force_login(other_user)
    _, theirs = render(other_api, django_capture_on_commit_callbacks, song=other_song.pk)
    with django_capture_on_commit_callbacks(execute=True):
        consent_withdraw(consent=consent, by=user)
    assert not MusicVideo.objects.filter(user=user).exists()
    files = stored_files(Path(settings.MEDIA_ROOT))
    assert not any(f.startswith(f"videos/{user.pk}/") for f in files)
    # The other user's video is untouched.
    assert MusicVideo.objects.filter(pk=theirs["id"]).exists()
    assert any(f.startswith(f"videos/{other_user.pk}/{theirs['id']}/") for f in files)
    assert body["id"] != theirs["id"]


def test_the_pages_make_show_and_delete_a_video(user: User, client_user: Client,
                                               django_capture_on_commit_callbacks: Any) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    page = client_user.get(f"/songs/{song.pk}/")
    assert b"Make my video" in page.content
    form = client_user.get(f"/songs/{song.pk}/video/new/")
    assert form.status_code == 200 and b"prompt-0" in form.content and b"sks person" not in form.content
    with django_capture_on_commit_callbacks(execute=True):
        created = client_user.post(f"/songs/{song.pk}/video/new/", {"style": "watercolor", "renderer": "compositor",
                                                                      "prompt-0": "a quiet morning by the sea"})
    assert created.status_code == 302
    video = MusicVideo.objects.get()
    assert created["Location"] == f"/songs/videos/{video.pk}/"
    assert video.scenes[0]["prompt"] == "a quiet morning by the sea" and video.style == "watercolor"
    shown = client_user.get(created["Location"])
    assert shown.status_code == 200 and b"Download MP4" in shown.content
    with django_capture_on_commit_callbacks(execute=True):
        gone = client_user.post(f"/songs/videos/{video.pk}/delete/")
    assert gone.status_code == 302 and not MusicVideo.objects.exists()


def test_a_refused_page_request_says_why_and_creates_nothing(user: User, client_user: Client) -> None:
    song = videos.analysed_song(user)           # no consent
    before = snapshot()
    response = client_user.post(f"/songs/{song.pk}/video/new/", {"style": "neon", "renderer": "auto"})
    assert response.status_code == 400 and b"consent_required" in response.content
    assert snapshot() == before


def test_the_command_renders_with_a_progress_bar(user: User, tmp_path: Path) -> None:
    videos.face_consent(user)
    song = videos.analysed_song(user)
    out, err = io.StringIO(), io.StringIO()
    target = tmp_path / "cli.mp4"
    call_command("render_video", str(song.pk), "--renderer", "compositor", "--out", str(target), stdout=out, stderr=err)
    assert "Video" in out.getvalue() and str(target) in out.getvalue()
    assert "Rendering" in err.getvalue()
    with av.open(str(target)) as container:
        assert container.streams.video[0].frames > 0
    frames = [f.to_ndarray(format="rgb24") for f in av.open(str(target)).decode(video=0)]
    assert np.std(frames[len(frames) // 2]) > 10       # a picture, not a blank


def ready_adapter(user: User, consent: Any, *, status: str = "ready", trigger: str = "zqx person") -> Any:
    """An adapter row as training leaves it (its weights are not needed by the compositor)."""
    from personalize.models import Adapter

    return Adapter.objects.create(user=user, consent=consent, family="sd15-animatediff", base="tiny", trigger=trigger,
                                  status=status)


def test_with_an_adapter_auto_still_renders_with_the_compositor_on_a_cpu(
        user: User, api_user: APIClient, django_capture_on_commit_callbacks: Any) -> None:
    consent = videos.face_consent(user)
    adapter = ready_adapter(user, consent)
    song = videos.analysed_song(user)
    status, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk, adapter=str(adapter.pk))
    assert status == 202, body
    video = MusicVideo.objects.select_related("job").get(pk=body["id"])
    assert video.adapter_id == adapter.pk and video.job.queue == "cpu"
    assert video.job.status == Job.Status.SUCCEEDED and video.renderer_used == "compositor"


def test_adapter_refusals_change_nothing(user: User, other_user: User, api_user: APIClient,
                                         django_capture_on_commit_callbacks: Any) -> None:
    consent = videos.face_consent(user)
    song = videos.analysed_song(user)
    training = ready_adapter(user, consent, status="training")
    ready = ready_adapter(user, consent, trigger="zqy person")
    theirs = ready_adapter(other_user, videos.face_consent(other_user, offset=13), trigger="zqz person")
    before = snapshot()
    cases = [({"adapter": str(training.pk)}, 409, "adapter_not_ready"),
             ({"adapter": str(theirs.pk)}, 404, "adapter_invalid"),
             ({"adapter": str(ready.pk), "renderer": "animatediff"}, 400, "renderer_unavailable"),
             ({"adapter": str(ready.pk), "renderer": "wan"}, 400, "renderer_unavailable")]
    for data, status, code in cases:
        got, body = render(api_user, django_capture_on_commit_callbacks, song=song.pk, **data)
        assert (got, body.get("code")) == (status, code), (data, body)
    assert snapshot() == before
