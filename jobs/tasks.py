"""The base task every job-backed Celery task uses, and the jobs app's own tasks."""

from __future__ import annotations

import json
import time
from importlib import import_module
from typing import Any

from celery import Task, shared_task
from django.conf import settings

from jobs.context import JobContext
from jobs.services import JobWork, job_execute, job_fail, job_reconcile


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


def job_time_limits(name: str) -> tuple[int, int]:
    """(soft, hard) whole seconds for a task: its entry in JOBS_TIME_LIMITS_S, else the default."""
    soft, hard = settings.JOBS_TIME_LIMITS_S.get(name, settings.JOBS_DEFAULT_TIME_LIMITS_S)
    return round(soft), round(hard)


def job_task(name: str, *, run: str) -> Any:
    """Register the Celery task ``name`` that runs the job function at dotted path ``run``.

    The one way apps declare job tasks: a stable explicit name, the JobTask base (claim, progress,
    retries) and time limits from settings. The run function is imported when the task runs, so
    importing a tasks module stays cheap.
    """
    module_name, _, func_name = run.rpartition(".")
    soft, hard = job_time_limits(name)

    def task(self: JobTask, job_id: str) -> str:
        work = getattr(import_module(module_name), func_name)
        return self.run_job(job_id, work)

    task.__name__ = task.__qualname__ = name.replace(".", "__")
    return shared_task(name=name, bind=True, base=JobTask, soft_time_limit=soft, time_limit=hard)(task)


@shared_task(name="jobs.reconcile", ignore_result=True)
def reconcile_task() -> int:
    return len(job_reconcile())


def probe_work(*, ctx: JobContext) -> dict[str, Any]:
    """Exercise the worker path end to end: claim, progress, heartbeat, output at a keyed path.

    Appends one line per attempt to an attempt log, so a re-run after a killed worker is visible.
    """
    job = ctx.job
    params = job.params
    steps = int(params.get("steps", 5))
    step_s = float(params.get("step_s", 0.2))
    out_dir = settings.MEDIA_ROOT / "jobs" / str(job.pk)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "attempts.log"
    with log.open("a") as fh:
        fh.write(json.dumps({"event": "start", "attempt": job.attempts, "worker": job.worker}) + "\n")
    if params.get("store_output"):
        ctx.store_output(b"partial", f"jobs/{job.pk}/partial.bin")
    for i in range(steps):
        time.sleep(step_s)
        with (out_dir / "steps.log").open("a") as fh:
            fh.write(json.dumps({"step": i + 1, "at": time.time()}) + "\n")
        ctx.progress("probe", (i + 1) / steps, f"Step {i + 1} of {steps}")
    with log.open("a") as fh:
        fh.write(json.dumps({"event": "done", "attempt": job.attempts}) + "\n")
    return {"params": params, "steps": steps, "worker": job.worker}


probe_task = job_task("jobs.probe_worker", run="jobs.tasks.probe_work")
