"""Thin Celery adapters: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from jobs.tasks import JobTask


@shared_task(name="charcha.verify", bind=True, base=JobTask, acks_late=True, reject_on_worker_lost=True,
             soft_time_limit=120, time_limit=180)
def verify_challenge_task(self: JobTask, job_id: str) -> str:
    from charcha.services import challenge_verify_run

    return self.run_job(job_id, challenge_verify_run)


@shared_task(name="charcha.retention_sweep", ignore_result=True)
def retention_sweep_task() -> dict[str, int]:
    from charcha.services import retention_sweep

    return retention_sweep()
