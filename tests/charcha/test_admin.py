"""Admin review: records and events, evidence on demand with an audit log entry, revocation."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from charcha.models import ConsentRecord, EvidenceView
from charcha.services import challenge_finish, challenge_verdict_apply
from tests.charcha.conftest import at, cadence, issue, passing_verdict, stream
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def consent(user: User) -> ConsentRecord:
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(6))
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 600))
    challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, (1, 2, 5)))
    return ConsentRecord.objects.get(user=user)


@pytest.fixture
def admin_client() -> Client:
    admin = User.objects.create_superuser(username="root", password="x")
    client = Client()
    client.force_login(admin)
    return client


def test_records_list_filters_and_shows_the_chain(admin_client: Client, consent: ConsentRecord) -> None:
    html = admin_client.get("/admin/charcha/consentrecord/").content.decode()
    assert str(consent.pk) in html
    assert str(consent.pk) in admin_client.get("/admin/charcha/consentrecord/?state=active").content.decode()
    assert str(consent.pk) not in admin_client.get("/admin/charcha/consentrecord/?state=erased").content.decode()
    page = admin_client.get(f"/admin/charcha/consentrecord/{consent.pk}/change/").content.decode()
    assert "Verified</strong> — 1 events" in page
    assert "granted" in page
    assert "View evidence (audited)" in page
    assert "Revoke consent" in page
    # Evidence is never on the record page itself.
    assert "data:image/jpeg" not in page
    assert EvidenceView.objects.count() == 0


def test_evidence_is_shown_only_after_a_reason_and_every_view_is_logged(admin_client: Client,
                                                                       consent: ConsentRecord) -> None:
    url = f"/admin/charcha/consentrecord/{consent.pk}/evidence/"
    form = admin_client.get(url)
    assert form.status_code == 200
    assert "data:image/jpeg" not in form.content.decode()
    assert EvidenceView.objects.count() == 0
    for n in (1, 2):
        response = admin_client.post(url, {"reason": f"Complaint #{n} from the account holder"})
        html = response.content.decode()
        assert "no-store" in response["Cache-Control"].split(", ")
        assert html.count('src="data:image/jpeg;base64,') == 3
        assert "This view has been logged." in html
        assert EvidenceView.objects.count() == n
    log = EvidenceView.objects.order_by("viewed_at").last()
    assert log is not None
    assert (log.viewer.username, log.frames_shown, log.reason, log.ip) == (
        "root", 3, "Complaint #2 from the account holder", "127.0.0.1")
    short = admin_client.post(url, {"reason": "x"})
    assert "data:image/jpeg" not in short.content.decode()
    assert EvidenceView.objects.count() == 2
    audit = admin_client.get("/admin/charcha/evidenceview/").content.decode()
    assert "Complaint #2 from the account holder" in audit


def test_staff_without_the_permission_cannot_view_evidence_or_revoke(consent: ConsentRecord) -> None:
    staff = User.objects.create_user(username="staff", password="x", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_consentrecord"))
    client = Client()
    client.force_login(staff)
    assert client.get(f"/admin/charcha/consentrecord/{consent.pk}/change/").status_code == 200
    assert client.post(f"/admin/charcha/consentrecord/{consent.pk}/evidence/",
                       {"reason": "just curious about it"}).status_code == 403
    assert client.post(f"/admin/charcha/consentrecord/{consent.pk}/revoke/", {"reason": "because"}).status_code == 403
    assert EvidenceView.objects.count() == 0
    consent.refresh_from_db()
    assert consent.withdrawn_at is None


def test_revoke_from_the_admin(admin_client: Client, consent: ConsentRecord, media_root: Path) -> None:
    url = f"/admin/charcha/consentrecord/{consent.pk}/revoke/"
    assert "Revoke and erase" in admin_client.get(url).content.decode()
    response = admin_client.post(url, {"reason": "Identity complaint upheld"}, follow=True)
    assert "Consent revoked" in response.content.decode()
    consent.refresh_from_db()
    assert consent.end_reason == "revoked"
    assert stored_files(media_root) == []
    page = admin_client.get(f"/admin/charcha/consentrecord/{consent.pk}/change/").content.decode()
    assert "Verified</strong> — 3 events" in page
    assert "Revoke consent" not in page
    # The admin cannot delete or edit records.
    assert admin_client.post(f"/admin/charcha/consentrecord/{consent.pk}/delete/", {"post": "yes"}).status_code == 403
    assert ConsentRecord.objects.filter(pk=consent.pk).exists()
