from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Job(models.Model):
    """One long piece of work (a Celery task run), as users, admins and the reconciler see it."""

    class Kind(models.TextChoices):
        VERIFY = "verify", "Consent verification"
        ANALYZE = "analyze", "Song analysis"
        STORYBOARD = "storyboard", "Storyboard writing"
        TRAIN = "train", "Adapter training"
        RENDER = "render", "Music video render"
        SOUNDTRACK = "soundtrack", "Soundtrack"
        ERASE = "erase", "Erasure"
        PROBE = "probe", "Worker probe"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="jobs",
                             null=True, blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    task_name = models.CharField(max_length=100)
    queue = models.CharField(max_length=20, default="cpu")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=50, blank=True)
    progress = models.FloatField(default=0.0)
    message = models.CharField(max_length=300, blank=True)
    error_code = models.CharField(max_length=60, blank=True)
    error_detail = models.TextField(blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    # Identifies the run that currently owns the job; a run that lost its claim stops writing.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)
    worker = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set by the user; the running work stops at its next progress report and ends "cancelled".
    cancel_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        indexes = [models.Index(fields=("status", "heartbeat_at")), models.Index(fields=("user", "-created_at"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__gte=0.0) & models.Q(progress__lte=1.0),
                                   name="job_progress_0_1"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def can_cancel(self) -> bool:
        return not self.is_finished and self.cancel_requested_at is None
