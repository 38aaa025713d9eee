"""The user's pages: the capture page shows the exact notice; the overview withdraws in one click."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from charcha.models import ConsentRecord
from charcha.notices import notice_current
from charcha.services import challenge_finish, challenge_verdict_apply
from tests.charcha.conftest import at, cadence, issue, passing_verdict, stream
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def consent_for(user: User) -> ConsentRecord:
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(5))
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 600))
    challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, (0, 3)))
    return ConsentRecord.objects.get(user=user)


def test_capture_page_shows_the_exact_notice_and_its_hash(client_user: Client) -> None:
    response = client_user.get("/consent/capture/")
    assert response.status_code == 200
    html = response.content.decode()
    notice = notice_current()
    for heading, body in notice.sections:
        assert f"<h3>{heading}</h3>" in unescape(html)
        assert f"<p>{body}</p>" in unescape(html)
    config = json.loads(re.search(r'<script id="charcha-config" type="application/json">(.*?)</script>', html,
                                  re.S).group(1))  # type: ignore[union-attr]
    assert (config["noticeVersion"], config["noticeSha256"]) == (notice.version, notice.sha256)
    assert config["urls"]["issue"] == "/api/consent/challenges/"
    assert config["urls"]["frames"] == "/api/consent/challenges/00000000-0000-0000-0000-000000000000/frames/"
    assert config["urls"]["cue"] == "/api/consent/challenges/00000000-0000-0000-0000-000000000000/cue/"
    # The light the challenge shows around the preview, off until Start, and the note on comfort.
    assert '<div id="charcha-light" class="charcha-light" data-rgb="" aria-hidden="true" hidden></div>' in html
    assert "never flash" in html


def test_overview_without_records_offers_to_start(client_user: Client) -> None:
    html = client_user.get("/consent/").content.decode()
    assert "You have no consent records yet." in html
    assert 'href="/consent/capture/"' in html


def test_overview_lists_records_and_withdraws_after_a_confirmation(client_user: Client, user: User,
                                                                   media_root: Path) -> None:
    consent = consent_for(user)
    html = client_user.get("/consent/").content.decode()
    assert "Intact — 1 event, verified" in html
    assert f'href="/consent/records/{consent.pk}/withdraw/"' in html
    assert "Record my consent" not in html
    assert client_user.get("/consent/capture/").status_code == 302
    # The confirmation says what goes; showing it changes nothing.
    confirm = client_user.get(f"/consent/records/{consent.pk}/withdraw/").content.decode()
    assert f'action="/consent/records/{consent.pk}/withdraw/"' in confirm
    assert "Withdraw and erase everything" in confirm
    consent.refresh_from_db()
    assert consent.withdrawn_at is None
    response = client_user.post(f"/consent/records/{consent.pk}/withdraw/", follow=True)
    assert response.redirect_chain == [("/consent/", 302)]
    html = response.content.decode()
    assert "Consent withdrawn." in html
    assert "Intact — 3 events, verified" in html
    assert "Withdrawn by the user; data erased" in html
    assert stored_files(media_root) == []
    consent.refresh_from_db()
    assert consent.end_reason == "withdrawn"


def test_withdraw_needs_post_and_the_owner(client_user: Client, other_user: User) -> None:
    consent = consent_for(other_user)
    assert client_user.get(f"/consent/records/{consent.pk}/withdraw/").status_code == 404
    assert client_user.put(f"/consent/records/{consent.pk}/withdraw/").status_code == 405
    assert client_user.post(f"/consent/records/{consent.pk}/withdraw/").status_code == 404
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_notice_page_shows_a_version(client_user: Client) -> None:
    html = client_user.get(f"/consent/notice/v{notice_current().version}/").content.decode()
    assert notice_current().sha256 in html
    assert client_user.get("/consent/notice/v9/").status_code == 404
