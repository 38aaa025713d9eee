from __future__ import annotations

from celery import shared_task

from jobs.tasks import JobTask


@shared_task(name="musicvideo.analyze_song", bind=True, base=JobTask, acks_late=True, reject_on_worker_lost=True)
def analyze_song_task(self: JobTask, job_id: str) -> str:
    from musicvideo.services import song_analysis_run

    return self.run_job(job_id, song_analysis_run)
