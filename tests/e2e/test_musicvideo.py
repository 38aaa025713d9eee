"""A song uploaded in a real browser: the live progress of its analysis, then the timeline and storyboard."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import jobs.services
from jobs.models import Job
from jobs.services import job_run_now
from musicvideo.models import Scene, SongAnalysis
from tests.e2e.conftest import login
from tests.musicvideo import songs

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots"))

# Records every value the progress bar shows in sessionStorage (the page reloads itself when the
# job ends), so the test can tell the bar moved while the job ran.
WATCH_BAR = """() => {
  sessionStorage.setItem('seen', '[]');
  const bar = document.querySelector('.job-progress progress');
  new MutationObserver(() => {
    const seen = JSON.parse(sessionStorage.getItem('seen'));
    seen.push(Number(bar.value));
    sessionStorage.setItem('seen', JSON.stringify(seen));
  }).observe(bar, {attributes: true});
}"""


def test_upload_watch_progress_then_timeline_and_storyboard(page: Page, live_server: Any, monkeypatch) -> None:
    # No broker or worker here: the job stays queued until this test, playing the worker, runs it
    # with job_run_now (the real task: decoding, librosa, Whisper, storyboard) while the page polls.
    monkeypatch.setattr(jobs.services, "job_enqueue", lambda *, job_id: None)
    login(page, live_server)
    page.goto(f"{live_server.url}/songs/")
    page.fill("#id_title", "Dancing in the sun")
    # The full-length song: its analysis (Whisper aligning the given lyrics) lasts long enough for
    # the page's polling (every 0.7-1.5 s) to catch it part-way even with every model warm.
    page.set_input_files("#id_file", str(songs.pop_wav()))
    page.click("summary:has-text('Lyrics')")
    page.fill("#id_lyrics", songs.pop().lyrics_text)
    page.click("button[type=submit]:has-text('Upload and analyse')")

    expect(page.locator("h1")).to_have_text("Dancing in the sun")
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Queued")
    page.evaluate(WATCH_BAR)
    analysis = SongAnalysis.objects.get()
    job = job_run_now(job_id=analysis.job_id)
    assert job.status == Job.Status.SUCCEEDED, job.error_detail

    # The page reloads itself when the job ends and draws the timeline from the analysis JSON.
    timeline = page.locator("#timeline[data-ready=true]")
    expect(timeline).to_be_visible(timeout=30_000)
    seen = page.evaluate("() => JSON.parse(sessionStorage.getItem('seen'))")
    assert seen == sorted(seen) and seen[-1] == 100
    assert any(0 < v < 100 for v in seen), seen     # it was watched part-way, not only at the end
    expect(page.locator('[data-fact="tempo"]')).to_have_text("120.0 BPM")
    expect(page.locator('[data-fact="lyrics"]')).to_have_text("yours, aligned")
    analysis.refresh_from_db()
    assert page.locator("#timeline rect[data-section]").count() == len(analysis.sections)
    # Every word has its tick; a word whose label would overlap a neighbour's keeps only the tick.
    assert page.locator("#timeline .word-tick").count() == len(songs.pop().words)
    hidden = int(page.locator("#timeline").get_attribute("data-words-hidden") or "0")
    assert page.locator("#timeline text.word").count() + hidden == len(songs.pop().words)
    expect(page.locator("#timeline text.word").first).to_have_text("walking")
    assert page.locator("#timeline path.curve.valence").count() == 1
    assert page.locator("#timeline path.downbeat").get_attribute("d")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "song-page.png"), full_page=True)

    scenes = page.locator("ol.scenes > li")
    assert scenes.count() == Scene.objects.count() > 0
    first = scenes.nth(0)
    # Plain words: no token to remember, the renderer adds it.
    first.locator("textarea").fill("The person runs along a beach at sunrise. Watercolor.")
    first.locator(".save-prompt").click()
    expect(first.locator(".save-status")).to_have_text("saved")
    assert Scene.objects.get(index=0).prompt == "The person runs along a beach at sunrise. Watercolor."
    second = scenes.nth(1)
    before = Scene.objects.get(index=1).prompt
    second.locator("textarea").fill("   ")
    second.locator(".save-prompt").click()
    expect(second.locator(".save-status")).to_contain_text("prompt_empty")
    assert Scene.objects.get(index=1).prompt == before
