from __future__ import annotations

from jobs.tasks import job_task

score_video_task = job_task("soundtrack.score_video", run="soundtrack.services.soundtrack_run")
