"""A real gpu-queue Celery worker trains an adapter; killed by PID mid-training, it resumes to the same bytes.

Needs PostgreSQL and Redis, as tests/jobs/test_worker.py: run with DATABASE_URL and CELERY_BROKER_URL,
e.g. ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/encore_p15 CELERY_BROKER_URL=redis://127.0.0.1:6379/5``.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User

from charcha.testing.fixtures import Clip
from jobs.models import Job
from jobs.services import job_enqueue
from personalize.models import Adapter
from personalize.services import adapter_delete, adapter_read, adapter_train_start
from tests.celery_workers import StartWorker, celery_workers
from tests.personalize.conftest import make_consent

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
STEPS = {"steps": 60, "checkpoint_every": 10}


@pytest.fixture
def gpu_worker(tmp_path: Path, settings: Any) -> Iterator[StartWorker]:
    settings.JOBS_STALE_AFTER_S = 3.0
    env = {"ENCORE_MEDIA_ROOT": str(settings.MEDIA_ROOT), "ENCORE_WORK_DIR": str(tmp_path / "worker-work"),
           "JOBS_STALE_AFTER_S": "3", "JOBS_HEARTBEAT_S": "0.5",
           "PERSONALIZE_MODELS": "tiny", "PERSONALIZE_DEVICE": "cpu", "PERSONALIZE_DTYPE": "float32",
           # Equal results need equal thread counts in every run (CPU reductions split by thread).
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with celery_workers(tmp_path, queue="gpu", env=env, stop_timeout_s=30.0) as start:
        yield start


def wait_for(adapter: Adapter, until: Callable[[Adapter], bool], timeout_s: float = 240.0) -> Adapter:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        adapter = Adapter.objects.select_related("job").get(pk=adapter.pk)
        if until(adapter):
            return adapter
        time.sleep(0.05)
    raise AssertionError(f"adapter {adapter.pk} stuck: {adapter.status}, step {adapter.steps_done}, "
                         f"job {adapter.job.status if adapter.job else None}")


def finished(adapter: Adapter) -> bool:
    return adapter.job is not None and adapter.job.is_finished


def test_a_killed_worker_resumes_training_to_the_identical_adapter(gpu_worker: Callable[[], Any], user: User,
                                                                   genuine: Clip, settings: Any) -> None:
    settings.PERSONALIZE_MODELS, settings.PERSONALIZE_DEVICE, settings.PERSONALIZE_DTYPE = "tiny", "cpu", "float32"
    make_consent(user, genuine, settings)
    gpu_worker()

    # The reference: the same training, uninterrupted, in the same kind of worker process.
    reference = adapter_train_start(user=user, overrides=STEPS)
    reference = wait_for(reference, finished)
    done = reference.job
    assert done is not None and done.status == "succeeded", done.error_detail if done else ""
    assert done.result["resumed_from"] == 0
    expected = adapter_read(adapter=reference, name="adapter", path=reference.file_path)
    trigger = reference.trigger
    adapter_delete(adapter=reference, by=user)

    # Same consent, settings and trigger word (it is part of every caption); then killed mid-training.
    adapter = adapter_train_start(user=user, overrides=STEPS, enqueue=False)
    Adapter.objects.filter(pk=adapter.pk).update(trigger=trigger)
    assert adapter.job is not None
    job_id = adapter.job.pk
    job_enqueue(job_id=job_id)
    adapter = wait_for(adapter, lambda a: a.status == "training" and a.steps_done >= 22)
    job = Job.objects.get(pk=job_id)
    child_pid = int(job.worker.rsplit(":", 1)[1])
    os.kill(child_pid, signal.SIGKILL)  # the pool process training the adapter dies mid-run
    adapter = wait_for(adapter, finished)
    job = Job.objects.get(pk=job.pk)
    assert (job.status, job.attempts) == ("succeeded", 2), job.error_detail
    assert int(job.worker.rsplit(":", 1)[1]) != child_pid
    resumed_from = job.result["resumed_from"]
    assert resumed_from >= 20 and resumed_from % 10 == 0
    assert adapter.steps_done == 60 and [s for s, _ in adapter.loss_curve] == list(range(1, 61))
    assert adapter_read(adapter=adapter, name="adapter", path=adapter.file_path) == expected
