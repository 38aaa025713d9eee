"""What other apps show of a job: one summary, the same in every app's resource."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from jobs.models import Job
from jobs.selectors import job_summary
from jobs.serializers import JobSummarySerializer


@pytest.mark.django_db
def test_the_summary_has_exactly_the_serializers_fields(user: User) -> None:
    job = Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", status="failed",
                             stage="train", progress=0.25, message="Training stopped.", error_code="lora_error",
                             error_detail="out of memory")
    summary = job_summary(job)
    assert summary == {"id": str(job.pk), "status": "failed", "stage": "train", "progress": 0.25,
                       "message": "Training stopped.", "error_code": "lora_error", "error_detail": "out of memory"}
    assert JobSummarySerializer(summary).data == summary
    assert job_summary(None) is None
