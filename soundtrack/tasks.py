from __future__ import annotations

from celery import shared_task

from jobs.tasks import JobTask


@shared_task(name="soundtrack.score_video", bind=True, base=JobTask, acks_late=True, reject_on_worker_lost=True)
def score_video_task(self: JobTask, job_id: str) -> str:
    from soundtrack.services import soundtrack_run

    return self.run_job(job_id, soundtrack_run)
