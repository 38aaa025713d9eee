"""The base task every job-backed Celery task uses, and the jobs app's own tasks."""

from __future__ import annotations

import json
import time
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from jobs.models import Job
from jobs.services import JobWork, job_execute, job_fail, job_reconcile
from mediakit.progress import ProgressFn


class JobTask(Task):  # type: ignore[misc]
    """Claims its job, reports into the row, retries transient errors with backoff.

    A redelivered message (its worker was killed) finds the job still "running" with a fresh
    heartbeat; it waits for the heartbeat to go stale and then takes the job over.
    """

    abstract = True
    acks_late = True
    reject_on_worker_lost = True
    max_retries = 6
    retry_backoff_s = 5.0

    def run_job(self, job_id: str, work: JobWork) -> str:
        outcome, error = job_execute(job_id=job_id, work=work, eager=bool(self.request.is_eager))
        if outcome == "busy" and not self.request.is_eager:
            raise self.retry(countdown=settings.JOBS_STALE_AFTER_S / 2 + 1, max_retries=None)
        if outcome == "retry":
            if self.request.retries >= self.max_retries:
                job_fail(job_id=job_id, token=None, code=getattr(error, "code", "transient"),
                         detail=f"Gave up after {self.max_retries} retries: {error}")
                return "failed"
            raise self.retry(exc=error, countdown=self.retry_backoff_s * 2 ** self.request.retries)
        return outcome


@shared_task(name="jobs.reconcile", ignore_result=True)
def reconcile_task() -> int:
    return len(job_reconcile())


def probe_work(*, job: Job, progress: ProgressFn) -> dict[str, Any]:
    """Exercise the worker path end to end: claim, progress, heartbeat, output at a keyed path.

    Appends one line per attempt to an attempt log, so a re-run after a killed worker is visible.
    """
    params = job.params
    steps = int(params.get("steps", 5))
    step_s = float(params.get("step_s", 0.2))
    out_dir = settings.MEDIA_ROOT / "jobs" / str(job.pk)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "attempts.log"
    with log.open("a") as fh:
        fh.write(json.dumps({"event": "start", "attempt": job.attempts, "worker": job.worker}) + "\n")
    for i in range(steps):
        time.sleep(step_s)
        progress("probe", (i + 1) / steps, f"Step {i + 1} of {steps}")
    with log.open("a") as fh:
        fh.write(json.dumps({"event": "done", "attempt": job.attempts}) + "\n")
    return {"params": params, "steps": steps, "worker": job.worker}


@shared_task(name="jobs.probe", bind=True, base=JobTask)
def probe_task(self: JobTask, job_id: str) -> str:
    return self.run_job(job_id, probe_work)
