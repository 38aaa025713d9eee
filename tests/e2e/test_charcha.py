"""CHARCHA in headless Chromium: notice -> camera -> live challenge -> verdict, with a camera that
responds to the page.

Nothing on the server is stubbed: the page polls the cue endpoint, shows each colour and prompt
only when the server reveals it, captures frames from its camera, the live server analyses each
batch as it arrives (off the request path, as a worker would: `background_analysis`; the other
tests run it in the request, Celery eager) and decides when the page finishes. The camera is a canvas
stream drawing a rendered 3-D head lit by the page's own light and acting the prompts it shows
(tests/e2e/head_camera.py): it passes; the same stream drawing a still photo fails. The other
tests use Chromium's fake camera fed from a committed clip (a face is all they need).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.sync_api import Browser, Page

from charcha.models import CaptureBatch, CaptureFrame, Challenge, ConsentRecord
from charcha.services import NEUTRAL_RGB, consent_verify
from charcha.testing.fixtures import FIXTURES_DIR
from tests.conftest import stored_files
from tests.e2e.conftest import login
from tests.e2e.head_camera import install_head_camera, mean_colour, write_head_assets

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-screens"))
# Regenerated clips can be tried from another folder before they are committed.
CLIPS = Path(os.environ.get("ENCORE_CHARCHA_CLIPS", str(FIXTURES_DIR)))
ACTIONS = ["turn_left", "turn_right", "look_up", "look_down", "blink", "open_mouth", "smile"]


@pytest.fixture(scope="module")
def head_assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_head_assets(tmp_path_factory.mktemp("head"))


def head_camera_page(browser_factory: Callable[..., Browser], assets: Path, mode: str) -> Page:
    browser = browser_factory(["--autoplay-policy=no-user-gesture-required"])
    page = browser.new_context(viewport={"width": 1100, "height": 1000}).new_page()
    install_head_camera(page, assets, mode=mode)
    return page


def shoot(page: Page, name: str, *, full_page: bool = True) -> bytes:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def run_challenge(page: Page, live_server: Any, *, shots: str) -> dict[str, Any]:
    """Drive the real page from the notice to the verdict; returns what the result panel says."""
    login(page, live_server, username=f"e2e-{shots}")
    page.goto(f"{live_server.url}/consent/capture/")
    page.wait_for_selector("[data-stage=notice]:not([hidden])")
    assert page.is_disabled("#charcha-agree")
    shoot(page, f"{shots}-1-notice")
    page.check("#charcha-agree-box")
    page.click("#charcha-agree")
    page.wait_for_selector("#charcha-start:not([disabled])", timeout=30_000)
    shoot(page, f"{shots}-2-ready", full_page=False)
    page.click("#charcha-start")
    page.wait_for_selector("[data-stage=challenge]:not([hidden])", timeout=20_000)
    # During the light phase: a colour from the server around the preview, no move shown yet.
    page.wait_for_function(f"""() => {{ const el = document.getElementById("charcha-light");
        return el && !el.hidden && el.dataset.rgb && el.dataset.rgb !== "{','.join(map(str, NEUTRAL_RGB))}"; }}""",
                           timeout=10_000)
    page.wait_for_timeout(300)   # past the 200 ms fade
    lit = {"rgb": page.get_attribute("#charcha-light", "data-rgb"),
           "prompt": page.get_attribute("#charcha-prompt", "data-action"),
           "shot": mean_colour(shoot(page, f"{shots}-3-light", full_page=False))}
    page.wait_for_function(f"{ACTIONS!r}.includes(document.getElementById('charcha-prompt').dataset.action)",
                           timeout=20_000)
    page.wait_for_timeout(600)
    shoot(page, f"{shots}-4-move", full_page=False)
    page.wait_for_selector("[data-stage=result]:not([hidden]), [data-stage=error]:not([hidden])", timeout=90_000)
    shoot(page, f"{shots}-5-result")
    return {
        "outcome": page.get_attribute("#charcha-result", "data-outcome") or "",
        "title": page.inner_text("#charcha-result-title") if page.is_visible("#charcha-result-title") else
        page.inner_text("#charcha-error-title"),
        "text": page.inner_text("#charcha-result-text") if page.is_visible("#charcha-result-text") else
        page.inner_text("#charcha-error-text"),
        "lit": lit,
        "cues": page.evaluate("window.__cues"),
        "prompts": page.evaluate("window.__prompts"),
    }


@pytest.mark.usefixtures("background_analysis")
def test_a_rendered_head_lit_by_the_page_passes_from_notice_to_consent(
        browser_factory: Callable[..., Browser], live_server: Any, head_assets: Path, settings: Any) -> None:
    page = head_camera_page(browser_factory, head_assets, "live")
    result = run_challenge(page, live_server, shots="head")
    challenge = Challenge.objects.get()
    assert (result["outcome"], result["title"]) == ("pass", "You're verified"), (challenge.reason, challenge.verdict)
    assert result["text"].startswith("We saw you do every move, live.")
    assert (challenge.state, challenge.steps_source) == ("passed", "random")
    # The light phase showed one of the server's colours, with no move asked yet; the screenshot
    # of the page is tinted by it (the light fills the screen around the preview).
    assert result["lit"]["rgb"] in {",".join(map(str, seg["rgb"])) for seg in challenge.light}
    assert result["lit"]["prompt"] == "neutral"
    rgb = np.array([int(v) for v in result["lit"]["rgb"].split(",")], float)
    assert np.corrcoef(result["lit"]["shot"], rgb)[0, 1] > 0.9
    # Each prompt appeared only after a cue answer named it, in the server's order.
    assert [action for _, action in result["prompts"]] == [s["action"] for s in challenge.steps]
    for shown_at, action in result["prompts"]:
        assert any(action == named and at <= shown_at for at, named in result["cues"])
    assert challenge.verdict["timings"]["inline"] is True
    consent = ConsentRecord.objects.get(challenge=challenge)
    assert consent_verify(consent=consent).ok
    assert len(consent.evidence["light"]) >= 3
    kept = CaptureFrame.objects.filter(challenge=challenge)
    assert kept.count() and CaptureBatch.objects.count() == 0
    assert len(stored_files(Path(settings.MEDIA_ROOT))) == kept.count()

    # The consent page shows the record; one click withdraws it and erases the pictures.
    page.click("#charcha-result-done")
    page.wait_for_selector(f"[data-record='{consent.pk}']")
    shoot(page, "head-6-consent-page")
    assert page.inner_text(f"[data-record='{consent.pk}'] [data-role=status]") == "Active"
    page.click(f"[data-record='{consent.pk}'] [data-role=withdraw]")
    page.click("[data-role=confirm-withdraw]")   # the confirmation page lists what is erased
    page.wait_for_selector(".message.success")
    assert page.inner_text(f"[data-record='{consent.pk}'] [data-role=status]") == "Withdrawn by the user; data erased"
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


@pytest.mark.usefixtures("background_analysis")
def test_a_still_photo_on_the_same_camera_fails_and_keeps_nothing(
        browser_factory: Callable[..., Browser], live_server: Any, head_assets: Path, settings: Any) -> None:
    page = head_camera_page(browser_factory, head_assets, "still")
    result = run_challenge(page, live_server, shots="still")
    challenge = Challenge.objects.get()
    assert result["outcome"] == "fail", (result["title"], result["text"], challenge.state, challenge.reason)
    assert challenge.state == "failed"
    assert challenge.reason in ("action_missed", "light_mismatch", "light_flat"), challenge.verdict
    assert ConsentRecord.objects.count() == 0
    assert CaptureFrame.objects.count() == 0 and CaptureBatch.objects.count() == 0
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


def test_the_light_fades_also_under_reduced_motion_and_is_off_before_start(
        browser_factory: Callable[..., Browser], live_server: Any) -> None:
    # An instant colour change would be a flash: under prefers-reduced-motion the 200 ms fade stays.
    page = browser_factory([]).new_context(viewport={"width": 1100, "height": 900}, reduced_motion="reduce").new_page()
    login(page, live_server, username="e2e-motion")
    page.goto(f"{live_server.url}/consent/capture/")
    assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    style = page.evaluate("""() => { const s = getComputedStyle(document.getElementById("charcha-light"));
        return [s.transitionProperty, s.transitionDuration, s.transitionTimingFunction]; }""")
    assert style == ["background-color", "0.2s", "linear"]
    assert page.is_hidden("#charcha-light")
