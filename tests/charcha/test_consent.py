"""Consent records: created from a pass, append-only in the database, provable, withdrawn and erased."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import Permission, User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from charcha.crypto import decrypt_blob
from charcha.erasure import erasure_hook_register, erasure_hook_unregister, erasure_hooks
from charcha.errors import ChallengeError, ConsentError
from charcha.keys import user_data_key
from charcha.models import (
    CaptureFrame,
    Challenge,
    ConsentEvent,
    ConsentRecord,
    EvidenceView,
    IdentityTemplate,
    SeenFrameDigest,
    UserDataKey,
)
from charcha.notices import notice_current
from charcha.services import (
    challenge_finish,
    challenge_verdict_apply,
    consent_embedding,
    consent_evidence_view,
    consent_revoke,
    consent_verify,
    consent_withdraw,
    frame_bytes_for_training,
    retention_sweep,
)
from tests.charcha.conftest import at, cadence, issue, jpeg, passing_verdict, stream, tables_holding
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def passed_consent(user: User, *, frames: int = 10, keep: tuple[int, ...] = (1, 4, 7)) -> ConsentRecord:
    issued = issue(user, timezone.now())
    originals = [jpeg(user.pk * 1000 + i, size=(200, 150)) for i in range(frames)]
    stream(user, issued, cadence(frames), originals, batch=4)
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 900))
    challenge = challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, keep),
                                        now=at(issued.challenge, 1500))
    assert challenge.state == Challenge.State.PASSED
    return ConsentRecord.objects.get(challenge=challenge)


def biometric_traces(user: User, media: Path) -> dict[str, Any]:
    """Every place biometric data of the user could remain: files, frame rows, embeddings, keys."""
    return {
        "files": [f for f in stored_files(media) if f.startswith(f"charcha/u{user.pk}/")],
        "frames": CaptureFrame.objects.filter(challenge__user=user).count(),
        "embeddings": IdentityTemplate.objects.filter(user=user).count(),
        "keys": UserDataKey.objects.filter(user=user).count(),
    }


def test_a_pass_records_consent_keeps_only_training_frames_encrypted(user: User, media_root: Path) -> None:
    consent = passed_consent(user, keep=(1, 4, 7))
    challenge = consent.challenge
    notice = notice_current()
    assert (consent.notice_version, consent.notice_sha256) == (notice.version, notice.sha256)
    assert consent.purpose == "personal_likeness"
    assert (consent.ip, consent.user_agent) == ("203.0.113.7", "pytest-browser/1.0")
    assert consent.retention_until == consent.granted_at + timedelta(days=365)
    assert [s["action"] for s in consent.challenge_steps] == [s["action"] for s in challenge.steps]
    assert [s["seen_at_s"] for s in consent.challenge_steps] == [round(s["start_s"] + 0.4, 3) for s in challenge.steps]
    kept = list(CaptureFrame.objects.filter(challenge=challenge).order_by("index"))
    assert [f.index for f in kept] == [1, 4, 7]
    assert all(f.kept for f in kept)
    assert len(stored_files(media_root)) == 3
    assert consent.evidence["frames_received"] == 10
    assert [t["index"] for t in consent.evidence["training_frames"]] == [1, 4, 7]
    assert [t["sha256"] for t in consent.evidence["training_frames"]] == [
        hashlib.sha256(jpeg(user.pk * 1000 + i, size=(200, 150))).hexdigest() for i in (1, 4, 7)]
    # Stored bytes are ciphertext; the training selector gives back the exact JPEGs.
    for frame in kept:
        assert not (media_root / frame.path).read_bytes().startswith(b"\xff\xd8")
    assert frame_bytes_for_training(consent=consent) == [(i, jpeg(user.pk * 1000 + i, size=(200, 150)))
                                                          for i in (1, 4, 7)]
    # The embedding is stored encrypted and comes back exactly.
    template = IdentityTemplate.objects.get(consent=consent)
    expected = np.linspace(-1, 1, 128, dtype=np.float32)
    assert bytes(template.ciphertext).find(expected.tobytes()) == -1
    embedding = consent_embedding(consent=consent)
    assert embedding is not None
    assert np.array_equal(embedding, expected)
    assert consent.evidence["embedding_sha256"] == hashlib.sha256(expected.tobytes()).hexdigest()
    report = consent_verify(consent=consent)
    assert (report.ok, report.length, report.problems) == (True, 1, ())


def test_a_second_challenge_is_refused_while_consent_is_active(user: User) -> None:
    passed_consent(user)
    with pytest.raises(ChallengeError) as err:
        issue(user, timezone.now() + timedelta(seconds=5))
    assert (err.value.code, err.value.http_status) == ("consent_already_active", 409)


def test_the_database_refuses_changes_to_immutable_consent_fields(user: User, other_user: User) -> None:
    consent = passed_consent(user)
    for change in ({"purpose": "marketing"}, {"user_id": other_user.pk}, {"notice_sha256": "f" * 64},
                   {"granted_at": consent.granted_at - timedelta(days=1)},
                   {"retention_until": consent.retention_until + timedelta(days=3000)},
                   {"evidence": {"frames_received": 0}}, {"event_count": 0}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ConsentRecord.objects.filter(pk=consent.pk).update(**change)
    event = ConsentEvent.objects.get(record=consent)
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentEvent.objects.filter(pk=event.pk).update(actor="someone else")
    consent.refresh_from_db()
    assert consent.purpose == "personal_likeness"
    assert consent_verify(consent=consent).ok


def test_end_times_can_be_set_once_and_never_rewritten(user: User) -> None:
    consent = passed_consent(user)
    consent_withdraw(consent=consent, by=user)
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None
    for change in ({"withdrawn_at": consent.withdrawn_at + timedelta(days=1)}, {"withdrawn_at": None},
                   {"end_reason": ""}, {"erased_at": None}):
        with pytest.raises(IntegrityError), transaction.atomic():
            ConsentRecord.objects.filter(pk=consent.pk).update(**change)


@pytest.fixture
def triggers_dropped() -> None:
    """What a database superuser could do: the tampering the hash chain must still reveal."""
    assert connection.vendor in ("sqlite", "postgresql")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("DROP TRIGGER charcha_consentrecord_guard")
            cursor.execute("DROP TRIGGER charcha_consentevent_guard")
        else:
            cursor.execute("ALTER TABLE charcha_consentrecord DISABLE TRIGGER charcha_consentrecord_guard")
            cursor.execute("ALTER TABLE charcha_consentevent DISABLE TRIGGER charcha_consentevent_guard")
    # No teardown: the test's transaction is rolled back, restoring the triggers with it.


@pytest.mark.parametrize(("table", "change", "problem"), [
    ("event", {"data": {"record": {"purpose": "marketing"}}}, "event 1: content does not match its hash"),
    ("event", {"actor": "admin:1"}, "event 1: content does not match its hash"),
    ("record", {"purpose": "marketing"}, "the record's fields differ from what was granted"),
    ("record", {"retention_until_days": 2000}, "the record's fields differ from what was granted"),
    ("record", {"withdrawn_at_set": True}, "the record's end time has no matching event"),
])
def test_tampering_behind_the_triggers_is_detected(user: User, triggers_dropped: None, table: str,
                                                   change: dict[str, Any], problem: str) -> None:
    consent = passed_consent(user)
    if table == "event":
        ConsentEvent.objects.filter(record=consent).update(**change)
    elif "retention_until_days" in change:
        ConsentRecord.objects.filter(pk=consent.pk).update(
            retention_until=consent.granted_at + timedelta(days=change["retention_until_days"]))
    elif "withdrawn_at_set" in change:
        ConsentRecord.objects.filter(pk=consent.pk).update(withdrawn_at=timezone.now())
    else:
        ConsentRecord.objects.filter(pk=consent.pk).update(**change)
    consent.refresh_from_db()
    report = consent_verify(consent=consent)
    assert report.ok is False
    assert problem in report.problems


def test_a_recomputed_chain_without_the_seal_key_is_detected(user: User, triggers_dropped: None,
                                                             settings: Any) -> None:
    from charcha.chain import ChainEvent, chain_next

    consent = passed_consent(user)
    event = ConsentEvent.objects.get(record=consent)
    forged_data = {"record": {**event.data["record"], "purpose": "marketing"}}
    # A forger recomputes the hash correctly but can only guess the seal key.
    forged = chain_next(record_id=str(consent.pk), seq=1, kind=event.kind, at=event.at, actor=event.actor,
                        data=forged_data, prev_hash=event.prev_hash, key=b"k" * 32)
    ConsentEvent.objects.filter(pk=event.pk).update(data=forged.data, hash=forged.hash, seal=forged.seal)
    ConsentRecord.objects.filter(pk=consent.pk).update(purpose="marketing", head_hash=forged.hash)
    consent.refresh_from_db()
    report = consent_verify(consent=consent)
    assert report.problems == ("event 1: seal is not valid",)
    assert isinstance(ChainEvent, type)


def test_a_removed_last_event_is_detected(user: User, triggers_dropped: None) -> None:
    consent = passed_consent(user)
    consent_withdraw(consent=consent, by=user)
    ConsentEvent.objects.filter(record=consent, seq=3).delete()
    consent.refresh_from_db()
    report = consent_verify(consent=consent)
    assert "the record expects 3 events, found 2" in report.problems
    assert "the last event is not the head the record points at" in report.problems


def test_withdrawal_erases_every_biometric_trace_and_the_record_still_verifies(user: User, other_user: User,
                                                                               media_root: Path) -> None:
    consent = passed_consent(user)
    others = passed_consent(other_user)
    assert len(biometric_traces(user, media_root)["files"]) == 3
    key_before = user_data_key(user_id=user.pk, create=False)
    assert key_before is not None
    wrapped = bytes(UserDataKey.objects.get(user=user).wrapped_key)
    sealed_embedding = bytes(IdentityTemplate.objects.get(user=user).ciphertext)
    plain_embedding = np.linspace(-1, 1, 128, dtype=np.float32).tobytes()
    # Before: the scan finds the (encrypted) key and embedding where they live, never in plaintext.
    assert tables_holding(wrapped) == ["charcha_userdatakey.wrapped_key"]
    assert tables_holding(sealed_embedding) == ["charcha_identitytemplate.ciphertext"]
    assert tables_holding(key_before) == []
    assert tables_holding(plain_embedding) == []

    withdrawn = consent_withdraw(consent=consent, by=user, now=consent.granted_at + timedelta(hours=1))

    assert biometric_traces(user, media_root) == {"files": [], "frames": 0, "embeddings": 0, "keys": 0}
    assert len(stored_files(media_root)) == 3  # the other user's frames only
    assert user_data_key(user_id=user.pk, create=False) is None
    assert tables_holding(wrapped) == []
    assert tables_holding(sealed_embedding) == []
    # No table still holds the user's key or a frame's bytes: look at every charcha row.
    for model in (CaptureFrame, IdentityTemplate, UserDataKey):
        assert not model.objects.filter(**({"challenge__user": user} if model is CaptureFrame
                                           else {"user": user})).exists()
    assert withdrawn.withdrawn_at == consent.granted_at + timedelta(hours=1)
    assert withdrawn.erased_at == withdrawn.withdrawn_at
    assert (withdrawn.end_reason, withdrawn.status) == ("withdrawn", "Withdrawn by the user; data erased")
    kinds = list(ConsentEvent.objects.filter(record=consent).order_by("seq").values_list("kind", "actor"))
    assert kinds == [("granted", f"user:{user.pk}"), ("withdrawn", f"user:{user.pk}"), ("erased", "system")]
    erased = ConsentEvent.objects.get(record=consent, kind="erased")
    # Apps' registered hooks (adapters, videos) had nothing of this user's to erase.
    apps_hooks = {f"hook:{name}": 0 for name, _ in erasure_hooks()}
    assert erased.data == {"reason": "withdrawn", "erased": {**apps_hooks, "frames": 3, "embeddings": 1, "keys": 1}}
    report = consent_verify(consent=withdrawn)
    assert (report.ok, report.length) == (True, 3)
    # The record keeps its evidence hashes (no images) ...
    assert len(withdrawn.evidence["training_frames"]) == 3
    # ... and the other user's data is untouched.
    assert biometric_traces(other_user, media_root)["keys"] == 1
    assert frame_bytes_for_training(consent=others)[0][0] == 1


def test_withdrawal_cascades_through_registered_hooks_in_order(user: User) -> None:
    consent = passed_consent(user)
    calls: list[tuple[str, int, str]] = []

    def videos(*, user: User, consent: ConsentRecord, reason: str) -> int:
        calls.append(("videos", user.pk, reason))
        return 2

    def adapters(*, user: User, consent: ConsentRecord, reason: str) -> int:
        # Runs before charcha's own erasure: the frames it was trained from are still there.
        calls.append(("adapters", CaptureFrame.objects.filter(challenge__user=user).count(), reason))
        return 1

    erasure_hook_register("test.adapters", adapters, order=20)
    erasure_hook_register("test.videos", videos, order=10)
    try:
        consent_withdraw(consent=consent, by=user)
    finally:
        erasure_hook_unregister("test.adapters")
        erasure_hook_unregister("test.videos")
    assert calls == [("videos", user.pk, "withdrawn"), ("adapters", 3, "withdrawn")]
    erased = ConsentEvent.objects.get(record=consent, kind="erased")
    apps_hooks = {f"hook:{name}": 0 for name, _ in erasure_hooks()}
    assert erased.data["erased"] == {**apps_hooks, "hook:test.videos": 2, "hook:test.adapters": 1, "frames": 3,
                                     "embeddings": 1, "keys": 1}


def test_withdrawal_is_for_the_owner_only_and_once(user: User, other_user: User) -> None:
    consent = passed_consent(user)
    with pytest.raises(ConsentError) as err:
        consent_withdraw(consent=consent, by=other_user)
    assert (err.value.code, err.value.http_status) == ("not_yours", 403)
    consent_withdraw(consent=consent, by=user)
    with pytest.raises(ConsentError) as err:
        consent_withdraw(consent=consent, by=user)
    assert (err.value.code, err.value.http_status) == ("consent_already_ended", 409)
    assert ConsentEvent.objects.filter(record=consent).count() == 3
    with pytest.raises(ConsentError) as err:
        frame_bytes_for_training(consent=consent)
    assert err.value.code == "consent_ended"


def make_admin(username: str, *perms: str) -> User:
    admin = User.objects.create_user(username=username, password="x", is_staff=True)
    admin.user_permissions.set(Permission.objects.filter(content_type__app_label="charcha", codename__in=perms))
    return User.objects.get(pk=admin.pk)  # fresh: permissions are cached per instance


def test_revocation_needs_permission_and_a_reason(user: User, media_root: Path) -> None:
    consent = passed_consent(user)
    viewer = make_admin("viewer", "view_consentrecord")
    with pytest.raises(ConsentError) as err:
        consent_revoke(consent=consent, by=viewer, reason="complaint")
    assert err.value.code == "permission_denied"
    admin = make_admin("reviewer", "revoke_consentrecord")
    with pytest.raises(ConsentError) as err:
        consent_revoke(consent=consent, by=admin, reason="  ")
    assert err.value.code == "reason_required"
    revoked = consent_revoke(consent=consent, by=admin, reason="Complaint #42: not the account holder")
    assert revoked.end_reason == "revoked"
    assert biometric_traces(user, media_root) == {"files": [], "frames": 0, "embeddings": 0, "keys": 0}
    event = ConsentEvent.objects.get(record=consent, kind="revoked")
    assert (event.actor, event.data) == (f"admin:{admin.pk}", {"reason": "Complaint #42: not the account holder"})
    assert consent_verify(consent=revoked).ok


def test_evidence_views_are_logged_before_anything_is_shown(user: User) -> None:
    consent = passed_consent(user)
    nobody = make_admin("nobody")
    with pytest.raises(ConsentError):
        consent_evidence_view(consent=consent, viewer=nobody, reason="curious, just looking")
    admin = make_admin("auditor", "view_evidence")
    with pytest.raises(ConsentError) as err:
        consent_evidence_view(consent=consent, viewer=admin, reason="hm")
    assert err.value.code == "reason_required"
    assert EvidenceView.objects.count() == 0
    thumbs = consent_evidence_view(consent=consent, viewer=admin, reason="Complaint #42", ip="198.51.100.4")
    assert [t.index for t in thumbs] == [1, 4, 7]
    assert all(t.data_uri.startswith("data:image/jpeg;base64,") for t in thumbs)
    log = EvidenceView.objects.get()
    assert (log.record_id, log.viewer_id, log.reason, log.frames_shown, log.ip) == (
        consent.pk, admin.pk, "Complaint #42", 3, "198.51.100.4")
    with pytest.raises(IntegrityError), transaction.atomic():
        EvidenceView.objects.filter(pk=log.pk).update(reason="nothing to see")
    consent_withdraw(consent=consent, by=user)
    consent.refresh_from_db()
    assert consent_evidence_view(consent=consent, viewer=admin, reason="After withdrawal") == []
    assert list(EvidenceView.objects.order_by("viewed_at").values_list("frames_shown", flat=True)) == [3, 0]


def test_retention_sweep_erases_consents_past_their_deadline(user: User, other_user: User, media_root: Path,
                                                             settings: Any) -> None:
    settings.CHARCHA_RETENTION_DAYS = 30
    expiring = passed_consent(user)
    settings.CHARCHA_RETENTION_DAYS = 365
    keeping = passed_consent(other_user)
    assert expiring.retention_until == expiring.granted_at + timedelta(days=30)
    # Stale replay digests and an abandoned open challenge go too.
    SeenFrameDigest.objects.create(digest="a" * 64, challenge_id=expiring.challenge_id,
                                   seen_at=timezone.now() - timedelta(days=31))
    third = User.objects.create_user(username="carol", password="x")
    abandoned = issue(third, timezone.now())
    stream(third, abandoned, cadence(2), seed=77)

    sweep_at = expiring.retention_until + timedelta(minutes=1)
    SeenFrameDigest.objects.create(digest="b" * 64, challenge_id=expiring.challenge_id,
                                   seen_at=sweep_at - timedelta(days=29))
    # Digests of the 22 streamed frames were seen 30 days before the sweep, like the stale one.
    assert SeenFrameDigest.objects.count() == 24

    result = retention_sweep(now=sweep_at)

    assert result == {"consents_ended": 1, "erasures_resumed": 0, "challenges_expired": 1, "digests_pruned": 23,
                      "decisions_resumed": 0}
    assert list(SeenFrameDigest.objects.values_list("digest", flat=True)) == ["b" * 64]
    expiring.refresh_from_db()
    assert (expiring.end_reason, expiring.withdrawn_at) == ("retention", expiring.retention_until + timedelta(minutes=1))
    assert expiring.erased_at is not None
    assert list(ConsentEvent.objects.filter(record=expiring).order_by("seq").values_list("kind", "actor")) == [
        ("granted", f"user:{user.pk}"), ("retention_ended", "system"), ("erased", "system")]
    assert consent_verify(consent=expiring).ok
    assert biometric_traces(user, media_root) == {"files": [], "frames": 0, "embeddings": 0, "keys": 0}
    assert biometric_traces(third, media_root)["frames"] == 0
    keeping.refresh_from_db()
    assert keeping.withdrawn_at is None
    assert biometric_traces(other_user, media_root)["frames"] == 3
    assert retention_sweep(now=expiring.retention_until + timedelta(minutes=2)) == {
        "consents_ended": 0, "erasures_resumed": 0, "challenges_expired": 0, "digests_pruned": 0,
                      "decisions_resumed": 0}


def test_an_interrupted_erasure_is_finished_by_the_sweep(user: User, media_root: Path) -> None:
    consent = passed_consent(user)

    def broken(*, user: User, consent: ConsentRecord, reason: str) -> int:
        raise RuntimeError("storage unavailable")

    erasure_hook_register("test.broken", broken)
    try:
        with pytest.raises(RuntimeError):
            consent_withdraw(consent=consent, by=user)
    finally:
        erasure_hook_unregister("test.broken")
    consent.refresh_from_db()
    assert consent.withdrawn_at is not None and consent.erased_at is None
    assert retention_sweep()["erasures_resumed"] == 1
    assert biometric_traces(user, media_root) == {"files": [], "frames": 0, "embeddings": 0, "keys": 0}
    assert consent_verify(consent=ConsentRecord.objects.get(pk=consent.pk)).ok


def test_retention_longer_than_3_years_is_refused(user: User, settings: Any) -> None:
    settings.CHARCHA_RETENTION_DAYS = 3 * 365 + 1
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(3))
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 400))
    with pytest.raises(ConsentError) as err:
        challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, (0,)))
    assert err.value.code == "retention_invalid"
    assert ConsentRecord.objects.count() == 0


def test_frames_for_training_are_bound_to_their_place(user: User, media_root: Path) -> None:
    consent = passed_consent(user)
    first, second = CaptureFrame.objects.filter(challenge=consent.challenge).order_by("index")[:2]
    key = user_data_key(user_id=user.pk, create=False)
    assert key is not None
    # A file moved to another frame's place does not decrypt there.
    blob = (media_root / first.path).read_bytes()
    from charcha.crypto import CryptoError

    with pytest.raises(CryptoError):
        decrypt_blob(key, blob, context=f"frame:{user.pk}:{consent.challenge_id}:{second.index}")
