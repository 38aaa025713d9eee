"""A real Celery worker process consuming from Redis runs jobs; a killed worker's job is re-run once.

These tests need the PostgreSQL and Redis that `make test` points at (DATABASE_URL,
CELERY_BROKER_URL): the worker is a separate process and must see the same database and queue.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from jobs.models import Job
from jobs.services import job_create, job_reconcile
from tests.celery_workers import StartWorker, celery_workers

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def worker(tmp_path: Path, settings: Any) -> Iterator[StartWorker]:
    media = tmp_path / "worker-media"
    settings.MEDIA_ROOT = media
    settings.JOBS_STALE_AFTER_S = 3.0
    with celery_workers(tmp_path, queue="cpu", env={"ENCORE_MEDIA_ROOT": str(media), "JOBS_STALE_AFTER_S": "3",
                                                    "JOBS_HEARTBEAT_S": "0.5"}) as start:
        yield start


def watch(job: Job, until: Callable[[Job], bool], timeout_s: float = 90.0) -> list[tuple[str, float]]:
    """Poll the row, recording each distinct (status, progress) seen, until ``until`` holds."""
    seen: list[tuple[str, float]] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job.refresh_from_db()
        state = (job.status, round(job.progress, 3))
        if not seen or seen[-1] != state:
            seen.append(state)
        if until(job):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"job {job.pk} did not get there in {timeout_s}s; saw {seen}")


def attempts_log(job: Job) -> list[dict[str, Any]]:
    path = settings.MEDIA_ROOT / "jobs" / str(job.pk) / "attempts.log"
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_worker_runs_job_queued_running_succeeded(worker: Callable[[], Any], user: Any) -> None:
    worker()
    job = job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", params={"steps": 8, "step_s": 0.3})
    seen = watch(job, lambda j: j.is_finished)
    statuses = [s for s, _ in seen]
    assert statuses[0] == "queued"
    assert statuses[-1] == "succeeded"
    assert statuses.index("running") < statuses.index("succeeded")
    running_progress = sorted({p for s, p in seen if s == "running" and 0 < p < 1})
    assert len(running_progress) >= 3, seen  # the page sees the bar move, not just jump
    job.refresh_from_db()
    assert (job.progress, job.attempts, job.stage, job.error_code) == (1.0, 1, "done", "")
    assert job.result["steps"] == 8
    assert [e["event"] for e in attempts_log(job)] == ["start", "done"]


def test_killed_worker_job_is_rerun_to_success_exactly_once(worker: Callable[[], Any], user: Any) -> None:
    worker()
    job = job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", params={"steps": 12, "step_s": 0.4})
    watch(job, lambda j: j.status == "running" and j.progress >= 0.25)
    job.refresh_from_db()
    child_pid = int(job.worker.rsplit(":", 1)[1])
    os.kill(child_pid, signal.SIGKILL)  # the pool process running the task dies mid-run
    watch(job, lambda j: j.is_finished, timeout_s=120)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.progress) == ("succeeded", 2, 1.0)
    assert int(job.worker.rsplit(":", 1)[1]) != child_pid
    events = [(e["event"], e["attempt"]) for e in attempts_log(job)]
    assert events == [("start", 1), ("start", 2), ("done", 2)]


def test_reconciler_resends_job_whose_message_was_lost(worker: Callable[[], Any], user: Any) -> None:
    # A job row with no message anywhere (the broker lost it), claimed once by a worker that died.
    job = Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", status="running", attempts=1,
                             params={"steps": 2, "step_s": 0.1})
    Job.objects.filter(pk=job.pk).update(heartbeat_at=job.created_at)
    worker()
    time.sleep(4)  # longer than JOBS_STALE_AFTER_S in the worker
    assert job_reconcile() == [job.pk]
    watch(job, lambda j: j.is_finished)
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert [e["event"] for e in attempts_log(job)] == ["start", "done"]


def test_cancel_stops_a_running_job_within_one_progress_report(worker: Callable[[], Any], user: Any) -> None:
    from jobs.services import job_cancel
    from tests.conftest import stored_files

    job = job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker",
                     params={"steps": 40, "step_s": 0.2, "store_output": True})
    worker()
    watch(job, lambda j: j.status == "running" and j.progress >= 0.1)
    assert stored_files(settings.MEDIA_ROOT) == [f"jobs/{job.pk}/attempts.log", f"jobs/{job.pk}/partial.bin",
                                                 f"jobs/{job.pk}/steps.log"]
    job_cancel(job=job, by=user)
    watch(job, lambda j: j.is_finished)
    assert (job.status, job.message, job.error_code) == ("cancelled", "Cancelled", "")
    assert job.cancel_requested_at is not None
    steps_log = settings.MEDIA_ROOT / "jobs" / str(job.pk) / "steps.log"
    steps = [json.loads(line) for line in steps_log.read_text().splitlines()]
    after = [e for e in steps if e["at"] >= job.cancel_requested_at.timestamp()]
    # The step during which the request came in reports, finds the request, and the run stops there.
    assert len(after) <= 1 and len(steps) < 40
    assert not any(e["event"] == "done" for e in attempts_log(job))
    assert stored_files(settings.MEDIA_ROOT) == [f"jobs/{job.pk}/attempts.log", f"jobs/{job.pk}/steps.log"]
