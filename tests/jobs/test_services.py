"""Claiming, progress and reconciling against the database (no worker process)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from jobs import services
from jobs.errors import JobCancelled, JobLost
from jobs.models import Job
from jobs.services import JobReporter, job_cancel, job_claim, job_create, job_execute, job_reconcile, job_run_now
from mediakit.errors import EncoreError


@pytest.fixture
def job(user: Any) -> Job:
    return Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker",
                              params={"steps": 3, "step_s": 0.0})


@pytest.mark.django_db
def test_only_one_claim_wins(job: Job) -> None:
    first = job_claim(job_id=job.pk, worker="w1")
    second = job_claim(job_id=job.pk, worker="w2")
    assert first is not None
    assert second is None
    job.refresh_from_db()
    assert (job.status, job.worker, job.attempts, job.claim_token) == ("running", "w1", 1, first)


@pytest.mark.django_db
def test_stale_running_job_can_be_taken_over_and_old_run_loses_its_claim(job: Job) -> None:
    old = job_claim(job_id=job.pk, worker="w1")
    assert old is not None
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER_S + 1))
    new = job_claim(job_id=job.pk, worker="w2")
    assert new is not None and new != old
    with pytest.raises(JobLost):
        JobReporter(job_id=job.pk, token=old)("probe", 0.5, "late write")
    job.refresh_from_db()
    assert (job.worker, job.attempts, job.progress) == ("w2", 2, 0.0)


@pytest.mark.django_db
def test_progress_is_written_and_never_goes_backwards(job: Job) -> None:
    token = job_claim(job_id=job.pk, worker="w1")
    assert token is not None
    report = JobReporter(job_id=job.pk, token=token, min_interval_s=0.0)
    report("decode", 0.4, "Reading")
    report("decode", 0.2, "Still reading")
    job.refresh_from_db()
    assert (job.stage, job.progress, job.message) == ("decode", 0.4, "Still reading")


@pytest.mark.django_db
def test_a_report_too_soon_to_be_written_still_stops_at_a_cancel(job: Job, user: Any, monkeypatch: Any) -> None:
    # Per-frame loops report far more often than rows are written: the cancel must not wait for the
    # next written report, which may be minutes away under a long write interval.
    token = job_claim(job_id=job.pk, worker="w1")
    assert token is not None
    report = JobReporter(job_id=job.pk, token=token, min_interval_s=3600.0)
    report("render", 0.1, "first frame")
    job_cancel(job=Job.objects.get(pk=job.pk), by=user)
    monkeypatch.setattr(services, "CANCEL_CHECK_S", 0.0)
    with pytest.raises(JobCancelled):
        report("render", 0.2, "second frame")
    job.refresh_from_db()
    assert (job.status, job.stage, job.progress, job.message) == ("running", "render", 0.1, "Cancelling…")


@pytest.mark.django_db
def test_reports_milliseconds_apart_do_not_each_ask_the_database(job: Job, monkeypatch: Any,
                                                                django_assert_num_queries: Any) -> None:
    token = job_claim(job_id=job.pk, worker="w1")
    assert token is not None
    report = JobReporter(job_id=job.pk, token=token, min_interval_s=3600.0)
    report("render", 0.1, "first frame")
    monkeypatch.setattr(services, "CANCEL_CHECK_S", 3600.0)
    with django_assert_num_queries(0):
        for i in range(100):
            report("render", 0.1 + i / 1000, "frame")
    monkeypatch.setattr(services, "CANCEL_CHECK_S", 0.0)
    with django_assert_num_queries(1):
        report("render", 0.3, "frame")


@pytest.mark.django_db
def test_running_twice_is_safe(job: Job) -> None:
    assert job_run_now(job_id=job.pk).status == "succeeded"
    again = job_run_now(job_id=job.pk)
    assert (again.status, again.attempts) == ("succeeded", 1)
    log = (settings.MEDIA_ROOT / "jobs" / str(job.pk) / "attempts.log").read_text().splitlines()
    assert [json.loads(line)["event"] for line in log] == ["start", "done"]


@pytest.mark.django_db
def test_encore_error_fails_job_with_its_code(job: Job) -> None:
    def work(*, ctx: Any) -> None:
        ctx.progress("analyze", 0.5, "half")
        raise EncoreError("The song is silent.", code="song_silent")

    outcome, _ = job_execute(job_id=str(job.pk), work=work, eager=True)
    job.refresh_from_db()
    assert outcome == "failed"
    assert (job.status, job.error_code, job.error_detail, job.progress) == ("failed", "song_silent",
                                                                            "The song is silent.", 0.5)


@pytest.mark.django_db
def test_unexpected_exception_is_internal_error(job: Job) -> None:
    def work(*, ctx: Any) -> None:
        raise ZeroDivisionError

    job_execute(job_id=str(job.pk), work=work, eager=True)
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "internal_error")
    assert "ZeroDivisionError" in job.error_detail


@pytest.mark.django_db
def test_job_that_keeps_dying_ends_as_attempts_exhausted(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(status="running", attempts=settings.JOBS_MAX_ATTEMPTS,
                                         heartbeat_at=timezone.now() - timedelta(hours=1))
    assert job_claim(job_id=job.pk, worker="w") is None
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "attempts_exhausted")


@pytest.mark.django_db
def test_reconciler_requeues_stale_and_lost_jobs_only(user: Any, django_capture_on_commit_callbacks: Any) -> None:
    long_ago = timezone.now() - timedelta(hours=2)
    stale = Job.objects.create(user=user, kind="probe", task_name="jobs.probe_worker", status="running",
                               attempts=1, heartbeat_at=long_ago, params={"steps": 1, "step_s": 0})
    fresh = Job.objects.create(user=user, kind="probe", task_name="jobs.probe_worker", status="running",
                               attempts=1, heartbeat_at=timezone.now())
    lost = Job.objects.create(user=user, kind="probe", task_name="jobs.probe_worker", enqueued_at=long_ago,
                              params={"steps": 1, "step_s": 0})
    waiting = Job.objects.create(user=user, kind="probe", task_name="jobs.probe_worker", enqueued_at=timezone.now())
    done = Job.objects.create(user=user, kind="probe", task_name="jobs.probe_worker", status="succeeded")
    resent = job_reconcile()
    assert sorted(map(str, resent)) == sorted([str(stale.pk), str(lost.pk)])
    # Eager mode ran the re-sent jobs here and now.
    states = {j.pk: (j.status, j.attempts) for j in Job.objects.all()}
    assert states[stale.pk] == ("succeeded", 2)
    assert states[lost.pk] == ("succeeded", 1)
    assert states[fresh.pk] == ("running", 1)
    assert states[waiting.pk] == ("queued", 0)
    assert states[done.pk] == ("succeeded", 0)


@pytest.mark.django_db
def test_job_create_enqueues_only_on_commit(user: Any, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", params={"steps": 1, "step_s": 0})
        assert Job.objects.get(pk=job.pk).status == "queued"
    assert len(callbacks) == 1
    callbacks[0]()
    assert Job.objects.get(pk=job.pk).status == "succeeded"


@pytest.mark.django_db
def test_job_create_refuses_unknown_task(user: Any) -> None:
    with pytest.raises(ValueError, match="unknown task"):
        job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.nope")
    assert Job.objects.count() == 0
