"""CHARCHA rows: challenges and their frames, per-user keys, consent records and their event chain.

Biometric data (frames, the identity embedding) lives only in ``CaptureFrame`` files and
``IdentityTemplate`` rows, always encrypted with the user's ``UserDataKey``. Consent records and
their events hold no biometric data, survive erasure, and the database refuses edits to their
immutable columns (triggers created in migration 0002).
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from jobs.models import Job


class Challenge(models.Model):
    """One server-issued liveness challenge: steps, nonce (hashed), frames received, verdict."""

    class State(models.TextChoices):
        OPEN = "open", "Open"                  # issued; frames are streaming in
        VERIFYING = "verifying", "Verifying"   # finished by the browser; the verify job decides
        PASSED = "passed", "Passed"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"
        CANCELLED = "cancelled", "Cancelled"   # left or cancelled before any step was shown

    class StepsSource(models.TextChoices):
        RANDOM = "random", "Random"
        FIXED = "fixed", "Fixed (test hook)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="charcha_challenges")
    # Only the SHA-256 of the nonce is stored: a database reader cannot post frames with it.
    nonce_sha256 = models.CharField(max_length=64)
    # The secret schedule: planned steps and light segments (seconds after issue). Never sent up
    # front; the cue endpoint reveals each item once its planned time has come (see services).
    steps = models.JSONField(default=list)
    light = models.JSONField(default=list, blank=True)  # [{"rgb": [r, g, b], "start_s", "end_s"}]
    # Reveal times (ms after issue) of the schedule's items in timeline order, as first answered
    # by the cue endpoint; cue_count guards the conditional UPDATE that appends to it.
    reveals_ms = models.JSONField(default=list, blank=True)
    cue_count = models.PositiveSmallIntegerField(default=0)
    steps_source = models.CharField(max_length=10, choices=StepsSource.choices, default=StepsSource.RANDOM)
    notice_version = models.PositiveSmallIntegerField()
    notice_sha256 = models.CharField(max_length=64)
    state = models.CharField(max_length=12, choices=State.choices, default=State.OPEN)
    reason = models.CharField(max_length=40, blank=True)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    frame_count = models.PositiveIntegerField(default=0)
    # Batches are numbered from 0; this is the next one expected (retries of the last are idempotent).
    batch_count = models.PositiveIntegerField(default=0)
    last_batch_sha256 = models.CharField(max_length=64, blank=True)
    last_capture_ms = models.IntegerField(null=True, blank=True)
    job = models.OneToOneField(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="charcha_challenge")
    verdict = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)

    class Meta:
        ordering = ("-issued_at",)
        indexes = [models.Index(fields=("user", "state", "decided_at")), models.Index(fields=("state", "expires_at"))]
        constraints = [
            # One open challenge per user, enforced by the database (a second tab cannot open another).
            models.UniqueConstraint(fields=("user",), condition=Q(state="open"), name="charcha_one_open_challenge"),
        ]

    def __str__(self) -> str:
        return f"Challenge {self.pk} ({self.state})"


class CaptureFrame(models.Model):
    """One received frame: an encrypted JPEG in storage; kept only for passed challenges' training set."""

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="frames")
    index = models.PositiveIntegerField()
    seq = models.PositiveIntegerField()
    capture_ms = models.IntegerField()
    received_ms = models.IntegerField()
    sha256 = models.CharField(max_length=64)  # of the plaintext JPEG: evidence without the image
    path = models.CharField(max_length=300)
    size_bytes = models.PositiveIntegerField()
    kept = models.BooleanField(default=False)

    class Meta:
        ordering = ("challenge", "index")
        constraints = [models.UniqueConstraint(fields=("challenge", "index"), name="charcha_frame_index_unique")]

    def __str__(self) -> str:
        return f"Frame {self.index} of {self.challenge_id}"


class CaptureBatch(models.Model):
    """One received batch of frames and its analysis (encrypted observations in storage).

    Analysed as it arrives (task ``charcha.analyse_batch``), so that after the last frame only the
    decision is left. The observation file is erased with the frames.
    """

    challenge = models.ForeignKey(Challenge, on_delete=models.CASCADE, related_name="batches")
    seq = models.PositiveIntegerField()
    first_index = models.PositiveIntegerField()
    frame_count = models.PositiveIntegerField()
    received_ms = models.IntegerField()
    analysed_at = models.DateTimeField(null=True, blank=True)
    analysis_ms = models.FloatField(null=True, blank=True)
    unreadable = models.BooleanField(default=False)  # a frame the engine could not take
    obs_path = models.CharField(max_length=300, blank=True)
    obs_size = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("challenge", "seq")
        constraints = [models.UniqueConstraint(fields=("challenge", "seq"), name="charcha_batch_seq_unique")]

    def __str__(self) -> str:
        return f"Batch {self.seq} of {self.challenge_id}"


class SecurityEvent(models.Model):
    """Something admins must see: a face that is not the account's verified face, say. Never updated."""

    class Kind(models.TextChoices):
        IDENTITY_MISMATCH = "identity_mismatch", "Face did not match the account's verified face"

    kind = models.CharField(max_length=40, choices=Kind.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    challenge = models.ForeignKey(Challenge, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField()
    # Distances and ids only: nothing biometric.
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ("-at",)
        indexes = [models.Index(fields=("kind", "-at"), name="charcha_secevent_kind_at")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (user {self.user_id}, {self.at:%Y-%m-%d %H:%M})"


class SeenFrameDigest(models.Model):
    """Digests of frames already received, to refuse the same bytes replayed into a new challenge.

    Not linked to a user: a SHA-256 of a JPEG reveals nothing, and pruning by age keeps it small.
    """

    digest = models.CharField(max_length=64, primary_key=True)
    challenge_id = models.UUIDField()
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.digest


class UserDataKey(models.Model):
    """A user's data key, wrapped by a key-encryption key from settings. Deleting it shreds the data."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="charcha_data_key")
    kek_id = models.CharField(max_length=40)
    wrapped_key = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Data key of user {self.user_id}"


class ChallengeLockout(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="charcha_lockout")
    locked_until = models.DateTimeField()
    failures = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"Lockout of user {self.user_id} until {self.locked_until}"


class ConsentRecord(models.Model):
    """Who consented to what, when and how. Holds no biometric data; never deleted.

    Columns up to ``retention_until`` are immutable (a database trigger refuses changes);
    ``withdrawn_at``, ``end_reason`` and ``erased_at`` may each be set once; every change is also
    a ``ConsentEvent`` in the record's hash chain, whose head this row points at.
    """

    class EndReason(models.TextChoices):
        WITHDRAWN = "withdrawn", "Withdrawn by the user"
        REVOKED = "revoked", "Revoked by an administrator"
        RETENTION = "retention", "Retention period ended"

    IMMUTABLE_FIELDS = ("id", "user", "notice_version", "notice_sha256", "purpose", "granted_at", "challenge",
                        "challenge_steps", "evidence", "ip", "user_agent", "retention_until")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # PROTECT: a record must outlive anything that would otherwise take it along.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="consent_records")
    notice_version = models.PositiveSmallIntegerField()
    notice_sha256 = models.CharField(max_length=64)
    purpose = models.CharField(max_length=100)
    granted_at = models.DateTimeField()
    challenge = models.OneToOneField(Challenge, on_delete=models.PROTECT, related_name="consent")
    challenge_steps = models.JSONField()
    evidence = models.JSONField()
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    retention_until = models.DateTimeField()
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=12, choices=EndReason.choices, blank=True)
    erased_at = models.DateTimeField(null=True, blank=True)
    head_hash = models.CharField(max_length=64)
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("-granted_at",)
        indexes = [models.Index(fields=("user", "-granted_at")), models.Index(fields=("erased_at", "retention_until"))]
        permissions = [("view_evidence", "Can view consent evidence thumbnails (audited)"),
                       ("revoke_consentrecord", "Can revoke consent records")]

    def __str__(self) -> str:
        # What a reviewer reads in titles and lists: whose consent, from when (the id is on the page).
        return f"Consent of {self.user} on {self.granted_at:%d %b %Y, %H:%M} UTC"

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None

    @property
    def status(self) -> str:
        if self.erased_at is not None:
            return f"{self.get_end_reason_display()}; data erased" if self.end_reason else "Data erased"
        if self.withdrawn_at is not None:
            return self.get_end_reason_display()
        return "Active"

    def immutable_snapshot(self) -> dict[str, Any]:
        """The immutable columns as they enter the first event of the chain."""
        from charcha.chain import format_time

        return {
            "id": str(self.pk), "user": self.user_id, "notice_version": self.notice_version,
            "notice_sha256": self.notice_sha256, "purpose": self.purpose, "granted_at": format_time(self.granted_at),
            "challenge": str(self.challenge_id), "challenge_steps": self.challenge_steps, "evidence": self.evidence,
            "ip": self.ip, "user_agent": self.user_agent, "retention_until": format_time(self.retention_until),
        }


class ConsentEvent(models.Model):
    """One link of a record's chain. Rows are never updated (a trigger refuses it)."""

    class Kind(models.TextChoices):
        GRANTED = "granted", "Granted"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REVOKED = "revoked", "Revoked"
        RETENTION = "retention_ended", "Retention ended"
        ERASED = "erased", "Biometric data erased"

    record = models.ForeignKey(ConsentRecord, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()
    actor = models.CharField(max_length=120)
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)
    seal = models.CharField(max_length=64)

    class Meta:
        ordering = ("record", "seq")
        constraints = [models.UniqueConstraint(fields=("record", "seq"), name="charcha_event_seq_unique")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.seq} of {self.record_id}"


class IdentityTemplate(models.Model):
    """The identity embedding of a passed challenge, encrypted with the user's data key."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="charcha_templates")
    consent = models.OneToOneField(ConsentRecord, on_delete=models.CASCADE, related_name="identity_template")
    ciphertext = models.BinaryField()
    dims = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Identity template of {self.consent_id}"


class EvidenceView(models.Model):
    """Audit log: one row per admin view of a record's evidence. Rows are never updated."""

    record = models.ForeignKey(ConsentRecord, on_delete=models.PROTECT, related_name="evidence_views")
    # PROTECT: an admin with audit history is deactivated, not deleted.
    viewer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    viewed_at = models.DateTimeField()
    reason = models.TextField()
    frames_shown = models.PositiveIntegerField()
    ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ("-viewed_at",)

    def __str__(self) -> str:
        return f"Evidence of {self.record_id} viewed by {self.viewer_id} at {self.viewed_at}"
