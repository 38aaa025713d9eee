"""Adapters: a LoRA trained from one consent's pictures, and what its training showed.

The adapter file and its validation renders are encrypted with the user's data key (charcha's
crypto) and live in storage; this row holds where they are, the training settings, the loss
curve, and the identity score. It is erased with its consent (``personalize.adapters`` hook).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from charcha.models import ConsentRecord
from jobs.models import Job


class Adapter(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adapters")
    # Consent records are never deleted; the erasure hook deletes adapters when consent ends.
    consent = models.ForeignKey(ConsentRecord, on_delete=models.PROTECT, related_name="adapters")
    family = models.CharField(max_length=40)
    base = models.CharField(max_length=300)
    # Put in prompts by the platform, never typed by users; unique so two adapters never collide.
    trigger = models.CharField(max_length=20, unique=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    job = models.OneToOneField(Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="adapter")
    config = models.JSONField(default=dict)
    # [[step, loss], ...], thinned to at most a few hundred points for the page.
    loss_curve = models.JSONField(default=list, blank=True)
    steps_done = models.PositiveIntegerField(default=0)
    seconds_per_step = models.FloatField(null=True, blank=True)
    dataset = models.JSONField(default=dict, blank=True)
    file_path = models.CharField(max_length=300, blank=True)
    file_size = models.PositiveIntegerField(default=0)
    # Validation renders: [{"kind": "still"|"clip", "path": ..., "prompt": ..., "face": bool}, ...]
    validation = models.JSONField(default=list, blank=True)
    identity_score = models.FloatField(null=True, blank=True)
    identity_distance = models.FloatField(null=True, blank=True)
    identity_spread = models.FloatField(null=True, blank=True)
    validation_faces = models.PositiveIntegerField(default=0)
    validation_count = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=60, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    trained_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("user", "-created_at"))]

    def __str__(self) -> str:
        return f"Adapter {self.trigger} ({self.family}, {self.status})"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY and bool(self.file_path)

    @property
    def storage_dir(self) -> str:
        return f"personalize/u{self.user_id}/{self.pk}"
