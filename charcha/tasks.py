"""Thin Celery adapters: take ids, call one service."""

from __future__ import annotations

from celery import shared_task

from jobs.tasks import job_task

verify_challenge_task = job_task("charcha.verify_challenge", run="charcha.services.challenge_verify_run")


@shared_task(name="charcha.retention_sweep", ignore_result=True)
def retention_sweep_task() -> dict[str, int]:
    from charcha.services import retention_sweep

    return retention_sweep()
