"""The kept pictures page and the withdrawal confirmation, in Chromium against the live server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Page, expect

from charcha.models import CaptureFrame, ConsentEvent, ConsentRecord
from charcha.services import consent_verify
from tests.conftest import stored_files
from tests.e2e.ux_clips import consent_with_pictures

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots")) / "ux"
PASSWORD = "a long enough passphrase"


def log_in(page: Page, live_server: Any, username: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")


@pytest.fixture
def consent() -> ConsentRecord:
    return consent_with_pictures(User.objects.create_user(username="rosa", password=PASSWORD))


def test_people_see_their_kept_pictures_and_delete_one(page: Page, live_server: Any, consent: ConsentRecord,
                                                       settings: Any) -> None:
    log_in(page, live_server, "rosa")
    page.goto(f"{live_server.url}/consent/")
    page.click("text=see and delete them")
    images = page.locator("#kept-pictures img")
    expect(images).to_have_count(5)
    # Every picture really decodes in the browser (decrypted by the server for its owner).
    page.wait_for_function("() => Array.from(document.querySelectorAll('#kept-pictures img'))"
                           ".every((img) => img.complete && img.naturalWidth === 320)")
    first = page.locator("#kept-pictures li").first
    index = int(first.get_attribute("data-index") or "-1")
    answer = page.request.get(f"{live_server.url}/consent/pictures/{index}.jpg")
    assert answer.status == 200 and answer.headers["content-type"] == "image/jpeg"
    assert "no-store" in answer.headers["cache-control"]
    files_before = len(stored_files(Path(settings.MEDIA_ROOT)))

    first.get_by_role("button", name="Delete picture 1").click()
    expect(page.locator(".message.success")).to_contain_text("Picture deleted")
    expect(images).to_have_count(4)
    assert not CaptureFrame.objects.filter(challenge_id=consent.challenge_id, index=index).exists()
    assert len(stored_files(Path(settings.MEDIA_ROOT))) == files_before - 1
    event = ConsentEvent.objects.filter(record=consent).order_by("seq").last()
    assert event is not None and (event.kind, event.data["frame_index"], event.actor) == (
        "picture_deleted", index, f"user:{consent.user_id}")
    assert consent_verify(consent=ConsentRecord.objects.get(pk=consent.pk)).ok
    assert page.request.get(f"{live_server.url}/consent/pictures/{index}.jpg").status == 404
    page.goto(f"{live_server.url}/consent/")
    expect(page.locator("[data-role=chain]")).to_have_text("Intact — 2 events, verified")


def test_someone_else_sees_none_of_them(page: Page, live_server: Any, consent: ConsentRecord) -> None:
    User.objects.create_user(username="eve", password=PASSWORD)
    log_in(page, live_server, "eve")
    index = CaptureFrame.objects.filter(challenge_id=consent.challenge_id, kept=True).first().index  # type: ignore[union-attr]
    assert page.request.get(f"{live_server.url}/consent/pictures/{index}.jpg").status == 404
    page.goto(f"{live_server.url}/consent/pictures/")
    expect(page.locator("h1")).to_have_text("The pictures Encore keeps of you")
    expect(page.locator("#kept-pictures")).to_have_count(0)
    assert page.request.post(f"{live_server.url}/consent/records/{consent.pk}/withdraw/").status == 403  # no CSRF
    assert ConsentRecord.objects.get(pk=consent.pk).withdrawn_at is None


def test_withdrawal_says_what_is_erased_and_waits_for_a_yes(page: Page, live_server: Any, consent: ConsentRecord,
                                                            settings: Any) -> None:
    log_in(page, live_server, "rosa")
    page.goto(f"{live_server.url}/consent/")
    page.click("[data-role=withdraw]")
    expect(page.locator("h1")).to_have_text("Withdraw your consent?")
    expect(page.locator("[data-erase=pictures]")).to_contain_text("5 pictures")
    expect(page.locator("[data-erase=adapters]")).to_contain_text("0 adapters")
    expect(page.locator("[data-erase=videos]")).to_contain_text("0 music videos")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "withdraw-confirm.png"), full_page=True)
    page.click("text=Keep my consent")
    expect(page.locator("[data-role=status]")).to_have_text("Active")
    assert ConsentRecord.objects.get(pk=consent.pk).withdrawn_at is None

    page.click("[data-role=withdraw]")
    page.click("[data-role=confirm-withdraw]")
    expect(page.locator(".message.success")).to_contain_text("Consent withdrawn")
    expect(page.locator("[data-role=status]")).to_have_text("Withdrawn by the user; data erased")
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    # The confirmation of an ended consent is gone; the link leads back to the overview.
    page.goto(f"{live_server.url}/consent/records/{consent.pk}/withdraw/")
    page.wait_for_url(f"{live_server.url}/consent/")
