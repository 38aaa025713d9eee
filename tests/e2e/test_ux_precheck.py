"""The face-in-frame check before Start, in Chromium with a fake camera fed from real photos.

Nothing is stubbed: the page sends small pictures to POST /api/consent/precheck/, the live server
runs mediapipe's face detector on them and the page enables Start only for one ready face.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from rest_framework.test import APIClient

from charcha.models import CaptureFrame, Challenge
from tests.conftest import stored_files
from tests.e2e.ux_clips import axe_violations, no_face, one_face, two_faces, write_clip

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots")) / "ux"
PASSWORD = "a long enough passphrase"


def camera_page(browser_factory: Callable[..., Browser], clip: Path, live_server: Any, username: str, *,
                width: int = 1280, height: int = 900) -> Page:
    browser = browser_factory(["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                               f"--use-file-for-fake-video-capture={clip}", "--autoplay-policy=no-user-gesture-required"])
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    User.objects.create_user(username=username, password=PASSWORD)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/consent/capture/")
    page.check("#charcha-agree-box")
    page.click("#charcha-agree")
    page.wait_for_selector("[data-stage=camera]:not([hidden])", timeout=20_000)
    return page


def answers_seen(page: Page, count: int) -> list[dict[str, Any]]:
    """Wait for the next ``count`` answers of the server's check; returns them."""
    answers = []
    for _ in range(count):
        with page.expect_response(lambda r: r.url.endswith("/api/consent/precheck/"), timeout=10_000) as info:
            pass
        assert info.value.status == 200
        answers.append(info.value.json())
    return answers


@pytest.mark.parametrize(("name", "picture", "hint"), [
    ("no-face", no_face, "We can't see a face yet"),
    ("two-faces", two_faces, "We can see more than one face"),
])
def test_start_stays_disabled_without_exactly_one_face(browser_factory: Callable[..., Browser], live_server: Any,
                                                       tmp_path: Path, name: str,
                                                       picture: Callable[[], np.ndarray], hint: str) -> None:
    page = camera_page(browser_factory, write_clip(tmp_path / f"{name}.mjpeg", picture()), live_server, name)
    expect(page.locator("#charcha-camera-status")).to_contain_text(hint, timeout=20_000)
    # Several answers later the server still says no, and the page still keeps Start disabled.
    assert [answer["ready"] for answer in answers_seen(page, 5)] == [False] * 5
    expect(page.locator("#charcha-start")).to_be_disabled()
    expect(page.locator("[data-check=face]")).to_have_attribute("data-ok", "0")
    expect(page.locator("#charcha-camera-status")).to_contain_text(hint)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"precheck-{name}.png"))
    # A click on the disabled button starts nothing.
    page.locator("#charcha-start").click(force=True)
    page.wait_for_timeout(300)
    assert Challenge.objects.count() == 0


def test_one_centred_face_enables_start_above_the_fold(browser_factory: Callable[..., Browser], live_server: Any,
                                                       tmp_path: Path) -> None:
    page = camera_page(browser_factory, write_clip(tmp_path / "one.mjpeg", one_face()), live_server, "one-face")
    expect(page.locator("#charcha-start")).to_be_enabled(timeout=20_000)
    for check in ("face", "centred", "close", "light"):
        expect(page.locator(f"[data-check={check}]")).to_have_attribute("data-ok", "1")
    expect(page.locator("#charcha-camera-status")).to_contain_text("Ready")
    box = page.locator("#charcha-start").bounding_box()
    assert box is not None and box["y"] + box["height"] <= 900, box   # visible without scrolling at 1280x900
    serious = [v for v in axe_violations(page) if v["impact"] in ("serious", "critical")]
    assert serious == [], serious
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "precheck-one-face.png"))


def test_on_a_phone_agree_and_start_can_be_tapped(browser_factory: Callable[..., Browser], live_server: Any,
                                                  tmp_path: Path) -> None:
    # camera_page taps "Agree and turn on my camera" at 390 px; Start must then be reachable too.
    page = camera_page(browser_factory, write_clip(tmp_path / "one.mjpeg", one_face()), live_server, "phone",
                       width=390, height=844)
    expect(page.locator("#charcha-start")).to_be_enabled(timeout=20_000)
    page.locator("#charcha-start").click(trial=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "precheck-phone.png"), full_page=True)


def jpeg_of(image: np.ndarray, size: tuple[int, int] = (320, 240)) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).resize(size).save(buffer, format="JPEG", quality=75)
    return buffer.getvalue()


@pytest.mark.parametrize(("picture", "expected"), [
    (one_face, {"ready": True, "faces": 1, "centred": True, "close_enough": True, "too_close": False,
                "bright_enough": True}),
    (two_faces, {"ready": False, "faces": 2}),
    (no_face, {"ready": False, "faces": 0, "bright_enough": True}),
])
def test_the_check_answers_from_the_picture_and_keeps_nothing(picture: Callable[[], np.ndarray],
                                                               expected: dict[str, object], settings: Any) -> None:
    user = User.objects.create_user(username="kim", password=PASSWORD)
    client = APIClient()
    client.force_login(user)
    response = client.post("/api/consent/precheck/", {"frame": SimpleUploadedFile("f.jpg", jpeg_of(picture()))},
                           format="multipart")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert {key: response.json()[key] for key in expected} == expected
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    assert Challenge.objects.count() == 0 and CaptureFrame.objects.count() == 0


def test_the_check_answers_dark_and_off_centre_in_plain_words() -> None:
    user = User.objects.create_user(username="lee", password=PASSWORD)
    client = APIClient()
    client.force_login(user)
    dark = (one_face() * 0.15).astype(np.uint8)
    shifted = np.roll(one_face(), 200, axis=1)
    answers = [client.post("/api/consent/precheck/", {"frame": SimpleUploadedFile("f.jpg", jpeg_of(image))},
                           format="multipart").json() for image in (dark, shifted)]
    assert answers[0]["ready"] is False and "dark" in answers[0]["hint"]
    assert answers[1]["ready"] is False and answers[1]["centred"] is False
    assert answers[1]["hint"] == "Move so your face is in the middle of the oval."


def test_the_check_refuses_what_is_not_one_jpeg_and_strangers() -> None:
    anonymous = APIClient().post("/api/consent/precheck/", {"frame": SimpleUploadedFile("f.jpg", b"\xff\xd8\xff")},
                                 format="multipart")
    assert anonymous.status_code == 403
    client = APIClient()
    client.force_login(User.objects.create_user(username="max", password=PASSWORD))
    png = io.BytesIO()
    Image.fromarray(one_face()).resize((160, 120)).save(png, format="PNG")
    answer = client.post("/api/consent/precheck/", {"frame": SimpleUploadedFile("f.png", png.getvalue())},
                         format="multipart")
    assert (answer.status_code, answer.json()["code"]) == (400, "frame_not_jpeg")
    missing = client.post("/api/consent/precheck/", {}, format="multipart")
    assert (missing.status_code, missing.json()["code"]) == (400, "frames_empty")
