"""A user uploads a video, composes a soundtrack and gets it back with the beat timeline, in Chromium."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from jobs.models import Job
from jobs.services import job_run_now
from soundtrack.models import Soundtrack, SourceVideo
from soundtrack.testing.synthetic import SyntheticVideo, make_beat_video
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots"))


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> SyntheticVideo:
    return make_beat_video(tmp_path_factory.mktemp("e2e") / "dance.mp4", duration_s=8.0, size=(480, 270),
                           beat_period_s=0.6, beat_offset_s=0.3, cuts_s=[0.3 + 0.6 * 5, 0.3 + 0.6 * 10],
                           with_audio=True, seed=1)


def test_upload_compose_and_get_the_soundtrack(page: Page, live_server: Any, clip: SyntheticVideo) -> None:
    login(page, live_server)
    page.goto(f"{live_server.url}/soundtrack/")
    page.fill("#id_title", "Dancing shapes")
    page.set_input_files("#id_file", str(clip.path))
    page.click("#video-upload button[type=submit]")
    video = SourceVideo.objects.get()
    page.wait_for_url(f"{live_server.url}/soundtrack/videos/{video.pk}/")
    expect(page.locator("h1")).to_have_text("Dancing shapes")

    page.select_option("#id_genre", "pop")
    page.locator("#id_energy").fill("4")
    expect(page.locator("#energy-value")).to_have_text("4")
    page.check("input[name=mix][value=duck]")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "soundtrack-options.png"), full_page=True)
    page.click("#soundtrack-options button[type=submit]")   # the job runs in-process (eager Celery)

    soundtrack = Soundtrack.objects.get()
    page.wait_for_url(f"{live_server.url}/soundtrack/tracks/{soundtrack.pk}/", timeout=120_000)
    assert (soundtrack.genre, soundtrack.energy, soundtrack.mix) == ("pop", 4, "duck")
    soundtrack.refresh_from_db()
    summary = soundtrack.job.result
    expect(page.locator(".st-num").first).to_have_text(f"{round(summary['music']['tempo_bpm'])}")
    expect(page.locator("[data-figure=hit-rate]")).to_have_text(f"{round(summary['alignment']['hit_rate'] * 100)}%")
    # The picture: one mark per visual beat and per musical beat, a line per cut, a dot per visual beat.
    chart = page.locator("#st-chart")
    expect(chart.locator("line[stroke='#ff5c8a']")).to_have_count(len(summary["analysis"]["visual_beats_s"]))
    expect(chart.locator("line[stroke-dasharray]")).to_have_count(2)
    expect(chart.locator("circle")).to_have_count(len(summary["analysis"]["visual_beats_s"]))
    assert chart.locator("line[stroke='#7c5cff']").count() == len(summary["music"]["downbeats_s"])
    # The player loads the new video; clicking the chart seeks it.
    player = page.locator("#st-video")
    page.wait_for_function("() => document.getElementById('st-video').readyState >= 1", timeout=30_000)
    chart.scroll_into_view_if_needed()   # a mouse click lands only inside the window
    box = chart.bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 60)
    assert abs(player.evaluate("v => v.currentTime") - summary["duration_s"] / 2) < 0.5
    page.screenshot(path=str(SHOTS / "soundtrack.png"), full_page=True)

    with page.expect_download() as download:
        page.click("text=Score (MIDI)")
    assert download.value.suggested_filename == "dancing-shapes-take1-ai-generated-music.mid"

    page.click("text=Another take")
    second = Soundtrack.objects.exclude(pk=soundtrack.pk).get()
    page.wait_for_url(f"{live_server.url}/soundtrack/tracks/{second.pk}/", timeout=120_000)
    assert (second.take, second.seed, second.genre) == (2, 1, "pop")
    expect(page.locator("h1")).to_contain_text("take 2")


def test_progress_is_live_and_the_result_appears_when_done(page: Page, live_server: Any,
                                                           clip: SyntheticVideo) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from soundtrack.services import source_video_create

    user = login(page, live_server)
    video = source_video_create(user=user, upload=SimpleUploadedFile("dance.mp4", clip.path.read_bytes()))
    # A job nobody has picked up yet (no worker in this test): the page must show it waiting.
    job = Job.objects.create(user=user, kind=Job.Kind.SOUNDTRACK, task_name="soundtrack.score_video")
    soundtrack = Soundtrack.objects.create(user=user, video=video, job=job, take=1)
    page.goto(f"{live_server.url}/soundtrack/tracks/{soundtrack.pk}/")
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Queued")
    page.screenshot(path=str(SHOTS / "soundtrack-queued.png"))

    # A worker takes it now; the page follows the row and shows the result when it is done.
    worker = threading.Thread(target=job_run_now, kwargs={"job_id": job.pk})
    worker.start()
    expect(page.locator("#st-chart line").first).to_be_attached(timeout=120_000)
    worker.join()
    assert Job.objects.get(pk=job.pk).status == "succeeded"
    expect(page.locator(".st-downloads a")).to_have_count(3)
