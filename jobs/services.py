"""Job lifecycle: create, enqueue on commit, claim, report progress, finish, reconcile.

Every state change is a conditional UPDATE on the row, so two workers (a redelivered message and
a reconciler's re-send, say) can race safely: exactly one claim wins and a run that lost its claim
can no longer write.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from jobs.context import JobContext
from jobs.errors import JobCancelled, JobLost, JobStateError
from jobs.models import Job
from jobs.ratelimit import rate_limit

logger = logging.getLogger(__name__)

# Reports closer together than this share one look at the cancel flag.
CANCEL_CHECK_S = 0.05

JobWork = Callable[..., dict[str, Any] | None]
"""A job's run function: ``run(*, ctx: JobContext) -> dict | None`` (the dict becomes ``job.result``)."""


def _task(name: str) -> Any:
    """The registered task called ``name``.

    Outside a worker, Celery imports the apps' tasks modules only when asked; the web process
    needs them too (it sends tasks by name, and eager mode runs them in-process).
    """
    if name not in current_app.tasks:
        current_app.loader.import_default_modules()
    if name not in current_app.tasks:
        raise ValueError(f"unknown task {name!r}")
    return current_app.tasks[name]


# Jobs people start themselves, and so count against their quota; verification follows a challenge
# (already counted) and probes are the platform's own.
USER_STARTED = ("analyze", "storyboard", "train", "render", "soundtrack")


def job_create(*, user: User | None, kind: str, task_name: str, queue: str = "cpu",
               params: dict[str, Any] | None = None, message: str = "Waiting for a worker") -> Job:
    """Create a queued job; its task is sent once the surrounding transaction commits.

    Raises RateLimited (nothing created) when the user has started too many jobs lately.
    """
    _task(task_name)
    if user is not None and kind in USER_STARTED:
        rate_limit("job", user.pk)
    job = Job.objects.create(user=user, kind=kind, task_name=task_name, queue=queue, params=params or {},
                             message=message)
    job_id = job.pk
    transaction.on_commit(lambda: job_enqueue(job_id=job_id))
    return job


def job_enqueue(*, job_id: uuid.UUID) -> None:
    job = Job.objects.get(pk=job_id)
    Job.objects.filter(pk=job_id).update(enqueued_at=timezone.now())
    # Through the registered task (not send_task) so that eager mode runs it in-process.
    _task(job.task_name).apply_async(args=[str(job_id)], queue=job.queue)


def job_run_now(*, job_id: uuid.UUID) -> Job:
    """Run a job's task synchronously in this process (tests, management commands)."""
    job = Job.objects.get(pk=job_id)
    _task(job.task_name).apply(args=[str(job_id)], throw=True)
    job.refresh_from_db()
    return job


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def job_claim(*, job_id: uuid.UUID | str, worker: str) -> uuid.UUID | None:
    """Take ownership of a queued job, or of a running one whose worker stopped beating.

    Returns the claim token, or None when someone else has it or it is finished.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_AFTER_S)
    token = uuid.uuid4()
    claimable = Q(status=Job.Status.QUEUED) | Q(status=Job.Status.RUNNING, heartbeat_at__lt=stale_before)
    updated = (Job.objects.filter(pk=job_id).filter(claimable)
               .filter(attempts__lt=settings.JOBS_MAX_ATTEMPTS, cancel_requested_at__isnull=True)
               .update(status=Job.Status.RUNNING, claim_token=token, attempts=F("attempts") + 1, worker=worker,
                       started_at=now, heartbeat_at=now, error_code="", error_detail="",
                       message="Started"))
    if updated == 1:
        return token
    # A cancelled job whose worker died ends here rather than running again.
    Job.objects.filter(pk=job_id).filter(claimable).filter(cancel_requested_at__isnull=False).update(
        status=Job.Status.CANCELLED, finished_at=now, claim_token=None, message="Cancelled")
    # Out of attempts: a job that keeps killing its worker must end, not loop forever.
    Job.objects.filter(pk=job_id).filter(claimable).filter(attempts__gte=settings.JOBS_MAX_ATTEMPTS).update(
        status=Job.Status.FAILED, finished_at=now, claim_token=None, error_code="attempts_exhausted",
        error_detail=f"The work was interrupted {settings.JOBS_MAX_ATTEMPTS} times; giving up.",
        message="Failed")
    return None


class JobReporter:
    """The progress callback of one claimed run: writes stage, fraction and message to the row.

    Writes are throttled (stage changes and completion always go through); a write that matches no
    row means the claim was lost (JobLost) or the user cancelled (JobCancelled): either stops the run.
    """

    def __init__(self, *, job_id: uuid.UUID | str, token: uuid.UUID, min_interval_s: float | None = None,
                 floor: float = 0.0) -> None:
        self.job_id = job_id
        self.token = token
        self.min_interval_s = settings.JOBS_PROGRESS_MIN_INTERVAL_S if min_interval_s is None else min_interval_s
        self._last_write = 0.0
        self._last_stage = ""
        # A retried run starts from where the last one got to: the bar never goes backwards.
        self._last_fraction = floor
        self._last_cancel_check = 0.0

    def __call__(self, stage: str, fraction: float, message: str = "") -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        now = time.monotonic()
        if (stage == self._last_stage and fraction < 1.0 and now - self._last_write < self.min_interval_s):
            # Not written, but a cancel request is still honoured at this report (a cheap key
            # lookup, skipped for reports a few milliseconds apart, as in per-frame loops).
            if now - self._last_cancel_check >= CANCEL_CHECK_S:
                self._last_cancel_check = now
                if Job.objects.filter(pk=self.job_id, cancel_requested_at__isnull=False).exists():
                    raise JobCancelled(str(self.job_id))
            return
        fraction = max(fraction, self._last_fraction)  # the bar never goes backwards
        updated = Job.objects.filter(pk=self.job_id, claim_token=self.token, status=Job.Status.RUNNING,
                                     cancel_requested_at__isnull=True).update(
            stage=stage[:50], progress=fraction, message=message[:300], heartbeat_at=timezone.now())
        if updated != 1:
            if Job.objects.filter(pk=self.job_id, claim_token=self.token, cancel_requested_at__isnull=False).exists():
                raise JobCancelled(str(self.job_id))
            raise JobLost(str(self.job_id))
        self._last_write, self._last_stage, self._last_fraction = now, stage, fraction
        self._last_cancel_check = now

    def beat(self) -> bool:
        return Job.objects.filter(pk=self.job_id, claim_token=self.token, status=Job.Status.RUNNING).update(
            heartbeat_at=timezone.now()) == 1


class Heartbeat:
    """Beats for a run in a background thread, so stages that report rarely are not taken for dead."""

    def __init__(self, reporter: JobReporter, interval_s: float) -> None:
        self._reporter = reporter
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{reporter.job_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        try:
            while not self._stop.wait(self._interval_s):
                try:
                    if not self._reporter.beat():
                        return
                except Exception:  # a missed beat is not fatal; the next one may succeed
                    logger.warning("heartbeat for job %s failed", self._reporter.job_id, exc_info=True)
        finally:
            connection.close()


def job_succeed(*, job_id: uuid.UUID | str, token: uuid.UUID, result: dict[str, Any] | None) -> bool:
    return Job.objects.filter(pk=job_id, claim_token=token, status=Job.Status.RUNNING,
                              cancel_requested_at__isnull=True).update(
        status=Job.Status.SUCCEEDED, progress=1.0, stage="done", message="Done", result=result or {},
        finished_at=timezone.now(), heartbeat_at=timezone.now(), claim_token=None) == 1


def job_fail(*, job_id: uuid.UUID | str, token: uuid.UUID | None, code: str, detail: str) -> bool:
    qs = Job.objects.filter(pk=job_id)
    if token is not None:
        qs = qs.filter(claim_token=token, status=Job.Status.RUNNING)
    return qs.update(status=Job.Status.FAILED, error_code=code[:60], error_detail=detail, message="Failed",
                     finished_at=timezone.now(), claim_token=None) == 1


def job_cancel(*, job: Job, by: User | None) -> Job:
    """Ask a job to stop. A queued job ends at once; a running one at its next progress report.

    Raises JobStateError when the job has already ended.
    """
    now = timezone.now()
    ended_now = Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
        status=Job.Status.CANCELLED, cancel_requested_at=now, finished_at=now, message="Cancelled") == 1
    if not ended_now and Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING, cancel_requested_at__isnull=True
                                            ).update(cancel_requested_at=now, message="Cancelling…") != 1:
        job.refresh_from_db()
        if job.is_finished:
            raise JobStateError("This job has already ended.", code="job_finished")
    logger.info("job %s cancel requested by %s", job.pk, getattr(by, "pk", None))
    job.refresh_from_db()
    return job


def job_mark_cancelled(*, job_id: uuid.UUID | str, token: uuid.UUID) -> bool:
    return Job.objects.filter(pk=job_id, claim_token=token, status=Job.Status.RUNNING).update(
        status=Job.Status.CANCELLED, message="Cancelled", finished_at=timezone.now(), claim_token=None) == 1


def job_release(*, job_id: uuid.UUID | str, token: uuid.UUID, message: str) -> bool:
    """Give a claimed job back to the queue (before a retry)."""
    return Job.objects.filter(pk=job_id, claim_token=token, status=Job.Status.RUNNING).update(
        status=Job.Status.QUEUED, claim_token=None, message=message[:300]) == 1


def job_reconcile(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Re-enqueue jobs whose worker died (stale heartbeat) and queued jobs whose message was lost.

    The broker may forget messages (a Redis restart); the rows do not. Returns the re-sent ids.
    """
    now = now or timezone.now()
    stale_before = now - timedelta(seconds=settings.JOBS_STALE_AFTER_S)
    resend_before = now - timedelta(seconds=settings.JOBS_QUEUED_RESEND_AFTER_S)
    resent: list[uuid.UUID] = []
    Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale_before,
                       cancel_requested_at__isnull=False).update(
        status=Job.Status.CANCELLED, finished_at=now, claim_token=None, message="Cancelled")
    stale = Job.objects.filter(status=Job.Status.RUNNING, heartbeat_at__lt=stale_before).values_list("pk", flat=True)
    for job_id in list(stale):
        if Job.objects.filter(pk=job_id, status=Job.Status.RUNNING, heartbeat_at__lt=stale_before,
                              attempts__lt=settings.JOBS_MAX_ATTEMPTS).update(
                status=Job.Status.QUEUED, claim_token=None, enqueued_at=now,
                message="The worker stopped answering; trying again") == 1:
            resent.append(job_id)
        else:
            job_claim(job_id=job_id, worker="reconciler")  # marks exhausted jobs failed; claims nothing else
    lost = Job.objects.filter(status=Job.Status.QUEUED).filter(
        Q(enqueued_at__lt=resend_before) | Q(enqueued_at__isnull=True, created_at__lt=resend_before))
    for job_id in list(lost.values_list("pk", flat=True)):
        if Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(enqueued_at=now) == 1:
            resent.append(job_id)
    for job_id in resent:
        job = Job.objects.get(pk=job_id)
        _task(job.task_name).apply_async(args=[str(job_id)], queue=job.queue)
        logger.info("reconciler re-enqueued job %s (%s)", job_id, job.task_name)
    return resent


def job_execute(*, job_id: str, work: JobWork, eager: bool) -> tuple[str, Exception | None]:
    """Claim and run one job. Returns an outcome and, for transient failures, the error to retry on.

    Outcomes: "done", "failed", "cancelled", "busy" (someone else is running it), "finished"
    (nothing to do), "lost" (claim taken over mid-run), "retry". The work folder is removed when
    the run ends, and a failed or cancelled run's stored outputs with it; a killed or retried run
    keeps its folder, so the next attempt can resume from its checkpoints.
    """
    from celery.exceptions import SoftTimeLimitExceeded

    from mediakit.errors import EncoreError, TransientError

    token = job_claim(job_id=job_id, worker=worker_identity())
    if token is None:
        job = Job.objects.filter(pk=job_id).only("status").first()
        return ("busy" if job is not None and job.status in (Job.Status.RUNNING, Job.Status.QUEUED) else "finished",
                None)
    job = Job.objects.get(pk=job_id)
    reporter = JobReporter(job_id=job_id, token=token, floor=job.progress)
    ctx = JobContext(job=job, reporter=reporter)
    try:
        if eager:
            result = work(ctx=ctx)
        else:
            with Heartbeat(reporter, settings.JOBS_HEARTBEAT_S):
                result = work(ctx=ctx)
    except JobLost:
        logger.warning("job %s was taken over by another worker; this run stops", job_id)
        return "lost", None
    except JobCancelled:
        ctx.discard_outputs()
        ctx.remove_work_dir()
        job_mark_cancelled(job_id=job_id, token=token)
        return "cancelled", None
    except TransientError as exc:
        job_release(job_id=job_id, token=token, message=f"Retrying: {exc.message}")
        return "retry", exc
    except EncoreError as exc:
        _end_failed(ctx)
        job_fail(job_id=job_id, token=token, code=exc.code, detail=exc.message)
        return "failed", None
    except SoftTimeLimitExceeded:
        _end_failed(ctx)
        job_fail(job_id=job_id, token=token, code="timeout", detail="The work took longer than allowed.")
        return "failed", None
    except Exception as exc:
        logger.exception("job %s failed", job_id)
        _end_failed(ctx)
        job_fail(job_id=job_id, token=token, code="internal_error",
                 detail=f"Something went wrong on our side ({type(exc).__name__}).")
        return "failed", None
    ctx.remove_work_dir()
    if (not job_succeed(job_id=job_id, token=token, result=result)
            and Job.objects.filter(pk=job_id, claim_token=token, cancel_requested_at__isnull=False).exists()):
        # Cancelled after the last progress report: the user asked, so the outputs go.
        ctx.discard_outputs()
        job_mark_cancelled(job_id=job_id, token=token)
        return "cancelled", None
    return "done", None


def _end_failed(ctx: JobContext) -> None:
    ctx.discard_outputs()
    ctx.remove_work_dir()


def job_waiting_reason(job: Job, *, now: datetime | None = None) -> str:
    """Why a job that should be moving is not, in plain words; empty when it is moving or ended."""
    now = now or timezone.now()
    if job.status == Job.Status.RUNNING and job.heartbeat_at is not None:
        silent_s = (now - job.heartbeat_at).total_seconds()
        if silent_s > settings.JOBS_STALE_AFTER_S:
            return (f"The worker stopped answering {_ago(silent_s)}; the job will be picked up again when a "
                    "worker is free.")
    if job.status == Job.Status.QUEUED:
        since = job.enqueued_at or job.created_at
        waited_s = (now - since).total_seconds()
        if waited_s > settings.JOBS_STALE_AFTER_S:
            return f"No worker has picked this job up yet (waiting {_ago(waited_s, suffix=False)})."
    return ""


def _ago(seconds: float, *, suffix: bool = True) -> str:
    text = f"{round(seconds)} s" if seconds < 120 else f"{round(seconds / 60)} min"
    return f"{text} ago" if suffix else text


def job_list_for(*, user: User) -> Any:
    return Job.objects.filter(user=user)

