"""The whole journey in a real browser: sign up, consent on camera, upload a song, edit a
scene in plain words, render with live progress and scenes appearing, play, download, withdraw
consent, and the video is gone.

Nothing is stubbed. No broker runs here: this test plays the worker and runs each queued job with
the real task (librosa and Whisper for the song, the compositor and assembly for the video) while
the page polls. The camera is a rendered 3-D head lit by the page's light and acting the prompts it
is shown (tests/e2e/head_camera.py); its batches are analysed as they arrive and the page's finish
decides, as in tests/e2e/test_charcha.py (a verify job, if the finish hands over, is run here too). The person is the consent's own frames: the
compositor needs no adapter (adapter training has its own browser test in personalize).
Screenshots of each step go to the test's folder and to $ENCORE_SCREENSHOTS (/tmp/encore-shots).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

import jobs.services
from charcha.models import ConsentRecord
from jobs.models import Job
from jobs.services import job_run_now
from musicvideo.models import MusicVideo, SongAnalysis
from tests.conftest import stored_files
from tests.e2e.test_charcha import head_assets as head_assets
from tests.e2e.test_charcha import head_camera_page
from tests.musicvideo import songs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots"))


class Shots:
    def __init__(self, page: Page, folder: Path) -> None:
        self.page, self.folder, self.n = page, folder, 0

    def __call__(self, name: str, *, full_page: bool = True) -> None:
        self.n += 1
        path = self.folder / f"journey-{self.n:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        SHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, SHOTS / path.name)


@pytest.mark.usefixtures("background_analysis")
def test_the_whole_journey(browser_factory: Callable[..., Browser], live_server: Any, settings: Any, tmp_path: Path,
                           monkeypatch: pytest.MonkeyPatch, head_assets: Path) -> None:
    monkeypatch.setattr(jobs.services, "job_enqueue", lambda *, job_id: None)
    settings.MUSICVIDEO_RENDER_WIDTH, settings.MUSICVIDEO_RENDER_HEIGHT = 640, 360
    page = head_camera_page(browser_factory, head_assets, "live")
    shot = Shots(page, tmp_path)

    # 1. Sign up.
    page.goto(f"{live_server.url}/accounts/signup/")
    page.fill("input[name=username]", "maya")
    page.fill("input[name=password1]", "a long enough passphrase")
    page.fill("input[name=password2]", "a long enough passphrase")
    shot("signup")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")

    # 2. Consent: the live challenge on camera, decided when the page finishes.
    page.goto(f"{live_server.url}/consent/capture/")
    page.wait_for_selector("[data-stage=notice]:not([hidden])")
    page.check("#charcha-agree-box")
    page.evaluate("""() => {
      const start = document.getElementById("charcha-start");
      new MutationObserver(() => { if (!start.disabled) start.click(); })
        .observe(start, {attributes: true, attributeFilter: ["disabled"]});
    }""")
    page.click("#charcha-agree")
    page.wait_for_selector("[data-stage=challenge]:not([hidden])", timeout=20_000)
    page.wait_for_timeout(2500)
    shot("consent-challenge", full_page=False)
    _wait_for_verdict(page, timeout_s=120)
    assert page.get_attribute("#charcha-result", "data-outcome") == "pass"
    shot("consent-passed")
    consent = ConsentRecord.objects.get(user__username="maya")

    # 3. Upload a song with its lyrics; the analysis job runs; the song page shows the storyboard.
    page.goto(f"{live_server.url}/songs/")
    page.fill("#id_title", "Dancing in the sun")
    page.set_input_files("#id_file", str(songs.short_wav()))
    page.click("summary:has-text('Lyrics')")
    page.fill("#id_lyrics", songs.short().lyrics_text)
    page.click("button[type=submit]:has-text('Upload and analyse')")
    expect(page.locator("h1")).to_have_text("Dancing in the sun")
    analysis = SongAnalysis.objects.get()
    assert job_run_now(job_id=analysis.job_id).status == Job.Status.SUCCEEDED
    expect(page.locator("#make-video")).to_be_visible(timeout=30_000)
    shot("song-storyboard")

    # 4. Make my video: a style, the consent's frames, and one scene rewritten in plain words.
    page.click("#make-video")
    expect(page.locator("h1")).to_have_text("Make my video")
    page.select_option("#id_style", "neon")
    page.select_option("#id_renderer", "compositor")
    page.fill("textarea[name=prompt-0]", "dancing on a rooftop under neon lights")
    shot("make-video-form")
    page.click("#render-button")
    expect(page.locator("h1")).to_have_text("Your music video")
    video = MusicVideo.objects.get()
    assert video.scenes[0]["prompt"] == "dancing on a rooftop under neon lights"
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Queued")
    shot("render-queued")

    # 5. The render runs (this test is the worker); the page shows progress and each scene as it is done.
    page.evaluate("""() => {
      sessionStorage.setItem('seen', '[]');
      const record = () => {
        const seen = JSON.parse(sessionStorage.getItem('seen'));
        seen.push([Number(document.querySelector('.job-progress progress').value),
                   document.querySelectorAll('#scene-thumbs li.done').length]);
        sessionStorage.setItem('seen', JSON.stringify(seen));
      };
      new MutationObserver(record).observe(document.getElementById('video-page'), {attributes: true, subtree: true});
    }""")
    worker = threading.Thread(target=job_run_now, kwargs={"job_id": video.job_id})
    worker.start()
    try:
        expect(page.locator("#scene-thumbs li.done").first).to_be_visible(timeout=120_000)
        shot("render-in-progress")
    finally:
        worker.join()
    video.refresh_from_db()
    assert video.job.status == Job.Status.SUCCEEDED, video.job.error_detail
    expect(page.locator("#download")).to_be_visible(timeout=30_000)
    seen = page.evaluate("() => JSON.parse(sessionStorage.getItem('seen'))")
    assert any(0 < bar < 100 for bar, _ in seen), seen            # progress watched part-way
    assert any(0 < done < len(video.scenes) for _, done in seen), seen   # scenes appeared one by one
    assert page.locator("#scene-thumbs li.done").count() == len(video.scenes)

    # 6. Play: the browser decodes the H.264/AAC file and its length is the song's.
    played = page.evaluate("""async () => {
      const v = document.getElementById('player');
      v.muted = true;
      await v.play();
      await new Promise((r) => setTimeout(r, 1500));
      v.pause();
      return {time: v.currentTime, duration: v.duration, width: v.videoWidth, height: v.videoHeight};
    }""")
    assert played["time"] > 0.5 and abs(played["duration"] - songs.short().duration_s) < 0.2, played
    assert (played["width"], played["height"]) == (640, 360)
    page.evaluate("() => { const v = document.getElementById('player'); v.currentTime = 9.0; }")
    page.wait_for_timeout(800)
    shot("video-playing")

    # 7. Download.
    with page.expect_download() as download_info:
        page.click("#download")
    saved = tmp_path / "download.mp4"
    download_info.value.save_as(saved)
    data = saved.read_bytes()
    assert data[4:8] == b"ftyp" and data == (Path(settings.MEDIA_ROOT) / video.video.name).read_bytes()

    # 8. Withdraw consent: the video and every file made from it are gone.
    page.goto(f"{live_server.url}/consent/")
    page.click(f"[data-record='{consent.pk}'] [data-role=withdraw]")
    page.click("[data-role=confirm-withdraw]")
    page.wait_for_selector(".message.success")
    shot("consent-withdrawn")
    assert not MusicVideo.objects.exists()
    assert not any(f.startswith("videos/") for f in stored_files(Path(settings.MEDIA_ROOT)))
    response = page.goto(f"{live_server.url}/songs/videos/{video.pk}/")
    assert response is not None and response.status == 404
    page.goto(f"{live_server.url}/songs/{video.song_id}/")
    expect(page.locator("#videos .video-list")).to_have_count(0)
    shot("song-after-withdrawal")


def _wait_for_verdict(page: Page, *, timeout_s: float) -> None:
    """Until the page shows the verdict; a verify job the finish handed over runs here (no broker)."""
    import time

    deadline = time.monotonic() + timeout_s
    while not page.is_visible("[data-stage=result]"):
        if time.monotonic() > deadline:
            raise AssertionError("the challenge's verdict never reached the page")
        job = Job.objects.filter(kind=Job.Kind.VERIFY, status=Job.Status.QUEUED).first()
        if job is not None:
            assert job_run_now(job_id=job.pk).status == Job.Status.SUCCEEDED
        page.wait_for_timeout(250)
