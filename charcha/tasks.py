"""Thin Celery adapters: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from jobs.tasks import job_task
from mediakit.errors import TransientError

verify_challenge_task = job_task("charcha.verify_challenge", run="charcha.services.challenge_verify_run")


# Not a job: a challenge sends a batch a second, and a Job row each would bury the person's job list.
# The batch row is the state (analysed or not); the service claims it with a conditional UPDATE.
@shared_task(name="charcha.analyse_batch", ignore_result=True, acks_late=True, reject_on_worker_lost=True,
             autoretry_for=(TransientError,), retry_backoff=True, max_retries=3, soft_time_limit=60, time_limit=90)
def analyse_batch_task(batch_id: int) -> bool:
    from charcha.services import challenge_batch_analyse

    return challenge_batch_analyse(batch_id=batch_id)


@shared_task(name="charcha.retention_sweep", ignore_result=True)
def retention_sweep_task() -> dict[str, int]:
    from charcha.services import retention_sweep

    return retention_sweep()
