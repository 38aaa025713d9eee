from __future__ import annotations

from jobs.tasks import job_task

train_adapter_task = job_task("personalize.train_adapter", run="personalize.services.adapter_train_run")
