"""CHARCHA in headless Chromium with a fake webcam fed from a committed clip: notice -> pass / fail.

Nothing is stubbed: the page captures frames from the fake camera, the live server checks their
times, the verify job runs the real vision engine (Celery eager, on commit), and the page shows
the verdict. The challenge's steps are fixed to the ones the genuine clip performs (the
CHARCHA_TEST_FIXED_STEPS hook, honoured only under DEBUG or tests).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page

from charcha.models import CaptureFrame, Challenge, ConsentRecord
from charcha.services import consent_verify
from charcha.testing.fixtures import FIXTURES_DIR, fixed_steps_for_fake_camera, steps_to_json
from tests.conftest import stored_files
from tests.e2e.conftest import login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-screens"))
# Regenerated clips can be tried from another folder before they are committed.
CLIPS = Path(os.environ.get("ENCORE_CHARCHA_CLIPS", str(FIXTURES_DIR)))


def fake_camera(browser_factory: Callable[..., Browser], clip: Path) -> Page:
    browser = browser_factory([
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
        "--autoplay-policy=no-user-gesture-required",
    ])
    return browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def run_challenge(page: Page, live_server: Any, *, shots: str) -> dict[str, str]:
    """Drive the real page from the notice to the verdict; returns what the result panel says."""
    login(page, live_server, username=f"e2e-{shots}")
    page.goto(f"{live_server.url}/consent/capture/")
    page.wait_for_selector("[data-stage=notice]:not([hidden])")
    assert page.is_disabled("#charcha-agree")
    shoot(page, f"{shots}-1-notice")
    page.check("#charcha-agree-box")
    # The clip's moves are timed from the moment Chromium opens the camera, so this "user" presses
    # Start the instant it is enabled (in the page, without a round trip to the test process).
    page.evaluate("""() => {
      const start = document.getElementById("charcha-start");
      new MutationObserver(() => { if (!start.disabled) start.click(); })
        .observe(start, {attributes: true, attributeFilter: ["disabled"]});
    }""")
    page.click("#charcha-agree")
    page.wait_for_selector("[data-stage=challenge]:not([hidden])", timeout=20_000)
    page.wait_for_timeout(2500)
    shoot(page, f"{shots}-3-challenge", full_page=False)
    page.wait_for_selector("[data-stage=result]:not([hidden]), [data-stage=error]:not([hidden])", timeout=90_000)
    shoot(page, f"{shots}-4-result")
    return {
        "outcome": page.get_attribute("#charcha-result", "data-outcome") or "",
        "title": page.inner_text("#charcha-result-title") if page.is_visible("#charcha-result-title") else
        page.inner_text("#charcha-error-title"),
        "text": page.inner_text("#charcha-result-text") if page.is_visible("#charcha-result-text") else
        page.inner_text("#charcha-error-text"),
    }


@pytest.fixture
def fake_camera_steps(settings: Any) -> list[dict[str, object]]:
    steps = steps_to_json(fixed_steps_for_fake_camera(CLIPS))
    settings.CHARCHA_TEST_FIXED_STEPS = steps
    return steps


def test_the_genuine_clip_passes_from_notice_to_consent(browser_factory: Callable[..., Browser], live_server: Any,
                                                        fake_camera_steps: list[dict[str, object]],
                                                        settings: Any) -> None:
    page = fake_camera(browser_factory, CLIPS / "fake_camera_genuine.mjpeg")
    result = run_challenge(page, live_server, shots="genuine")
    assert result == {"outcome": "pass", "title": "You're verified", "text": (
        "We saw you do every move, live. Your consent is recorded; you can review or withdraw it at any time on "
        "your consent page.")}
    challenge = Challenge.objects.get()
    assert (challenge.state, challenge.steps, challenge.steps_source) == ("passed", fake_camera_steps, "fixed")
    consent = ConsentRecord.objects.get(challenge=challenge)
    assert consent_verify(consent=consent).ok
    kept = CaptureFrame.objects.filter(challenge=challenge)
    # The stills chosen for training, plus (notice v2) the runs of consecutive frames kept for clips.
    in_runs = {i for run in consent.evidence["training_runs"] for i in range(run["first"], run["last"] + 1)}
    stills = {t["index"] for t in consent.evidence["training_frames"]}
    assert set(kept.values_list("index", flat=True)) == stills | in_runs and stills
    assert len(stored_files(Path(settings.MEDIA_ROOT))) == kept.count()

    # The consent page shows the record; one click withdraws it and erases the pictures.
    page.click("#charcha-result-done")
    page.wait_for_selector(f"[data-record='{consent.pk}']")
    shoot(page, "genuine-5-consent-page")
    assert page.inner_text(f"[data-record='{consent.pk}'] [data-role=status]") == "Active"
    page.click(f"[data-record='{consent.pk}'] [data-role=withdraw]")
    page.click("[data-role=confirm-withdraw]")   # the confirmation page lists what is erased
    page.wait_for_selector(".message.success")
    shoot(page, "genuine-6-withdrawn")
    assert page.inner_text(f"[data-record='{consent.pk}'] [data-role=status]") == "Withdrawn by the user; data erased"
    assert page.inner_text(f"[data-record='{consent.pk}'] [data-role=chain]") == "Intact — 3 events, verified"
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    assert CaptureFrame.objects.count() == 0


def test_the_still_photo_clip_fails_and_keeps_nothing(browser_factory: Callable[..., Browser], live_server: Any,
                                                     fake_camera_steps: list[dict[str, object]],
                                                     settings: Any) -> None:
    page = fake_camera(browser_factory, CLIPS / "fake_camera_photo.mjpeg")
    result = run_challenge(page, live_server, shots="photo")
    assert (result["outcome"], result["title"]) == ("fail", "A move was missed")
    assert result["text"].startswith("We did not see you ")
    challenge = Challenge.objects.get()
    assert (challenge.state, challenge.reason) == ("failed", "action_missed")
    assert ConsentRecord.objects.count() == 0
    assert CaptureFrame.objects.count() == 0
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    assert page.is_visible("#charcha-result-retry")


def test_a_second_tab_is_told_the_challenge_is_open_elsewhere(browser_factory: Callable[..., Browser],
                                                             live_server: Any) -> None:
    # No verdict is reached; the camera only has to show a face, so the face-in-frame check enables Start.
    browser = browser_factory(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                               f"--use-file-for-fake-video-capture={CLIPS / 'fake_camera_genuine.mjpeg'}"])
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    first, second = context.new_page(), context.new_page()
    login(first, live_server, username="e2e-tabs")
    for page in (first, second):
        page.goto(f"{live_server.url}/consent/capture/")
        page.check("#charcha-agree-box")
    first.click("#charcha-agree")
    first.wait_for_selector("#charcha-start:not([disabled])", timeout=20_000)
    second.click("#charcha-agree")
    second.wait_for_selector("[data-stage=error]:not([hidden])", timeout=10_000)
    assert second.inner_text("#charcha-error-title") == "CHARCHA is open in another tab"
    assert second.inner_text("#charcha-error-retry") == "Continue in this tab"
    shoot(second, "tabs-1-second-tab")
    # Taking over stops the first tab, with a message saying why.
    second.click("#charcha-error-retry")
    second.wait_for_selector("#charcha-start:not([disabled])", timeout=20_000)
    first.wait_for_selector("[data-stage=error]:not([hidden])", timeout=10_000)
    assert first.inner_text("#charcha-error-title") == "Continued in another tab"
    assert first.evaluate("document.getElementById('charcha-video').srcObject") is None


def test_a_missing_camera_gets_a_clear_message(browser_factory: Callable[..., Browser], live_server: Any) -> None:
    browser = browser_factory([])  # no fake device: headless Chromium has no camera at all
    page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
    login(page, live_server, username="e2e-nocam")
    page.goto(f"{live_server.url}/consent/capture/")
    page.check("#charcha-agree-box")
    page.click("#charcha-agree")
    page.wait_for_selector("[data-stage=error]:not([hidden])", timeout=20_000)
    shoot(page, "nocam-1-error")
    assert page.inner_text("#charcha-error-title") == "No camera found"
    assert page.inner_text("#charcha-error-retry") == "Try again"
    assert Challenge.objects.count() == 0


def test_a_lost_connection_stops_the_challenge_with_a_clear_message(browser_factory: Callable[..., Browser],
                                                                   live_server: Any) -> None:
    # A face on the fake camera, so the face-in-frame check enables Start.
    browser = browser_factory(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                               f"--use-file-for-fake-video-capture={CLIPS / 'fake_camera_genuine.mjpeg'}"])
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    login(page, live_server, username="e2e-offline")
    page.goto(f"{live_server.url}/consent/capture/")
    page.check("#charcha-agree-box")
    page.click("#charcha-agree")
    page.wait_for_selector("#charcha-start:not([disabled])", timeout=20_000)
    page.click("#charcha-start")
    page.wait_for_function("Number(document.getElementById('charcha-sent').textContent) > 0", timeout=10_000)
    context.set_offline(True)
    page.wait_for_selector("#charcha-banner:not([hidden])", timeout=5_000)
    assert page.inner_text("#charcha-banner").startswith(("Connection unstable", "You are offline"))
    page.wait_for_selector("[data-stage=error]:not([hidden])", timeout=10_000)
    shoot(page, "offline-1-error")
    assert page.inner_text("#charcha-error-title") == "The connection was lost"
    challenge = Challenge.objects.get()
    assert challenge.state == Challenge.State.OPEN  # nothing reached the server after the outage
    assert challenge.frame_count > 0
