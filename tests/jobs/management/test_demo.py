"""`manage.py demo` follows its jobs through a worker process it started: a dead worker ends the wait."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from jobs.management.commands.demo import exit_reason, running_worker, wait_for_job
from jobs.models import Job

CRASH = "import os, signal, time; time.sleep(0.3); os.kill(os.getpid(), signal.SIGSEGV)"


@pytest.mark.django_db
@pytest.mark.parametrize(("code", "reason"), [(CRASH, "killed by SIGSEGV"), ("import sys; sys.exit(3)", "exit code 3")])
def test_a_worker_that_dies_ends_the_wait_and_says_how(tmp_path: Path, code: str, reason: str) -> None:
    job = Job.objects.create(kind=Job.Kind.PROBE, task_name="jobs.probe_worker", message="Waiting for a worker")
    log = tmp_path / "worker.log"
    started = time.monotonic()
    with running_worker(log, command=[sys.executable, "-c", code]), pytest.raises(CommandError) as failure:
        wait_for_job(job, "Song analysis", timeout_s=120.0)
    assert str(failure.value) == (f"Song analysis: the worker process stopped ({reason}) before the job ended; "
                                  f"its log is {log}")
    # Seconds, not the two minutes of the timeout: the wait ends when the process does.
    assert time.monotonic() - started < 60.0
    job.refresh_from_db()
    assert (job.status, job.progress, job.message) == (Job.Status.QUEUED, 0.0, "Waiting for a worker")


@pytest.mark.django_db
def test_without_a_worker_process_the_wait_ends_at_its_timeout() -> None:
    job = Job.objects.create(kind=Job.Kind.PROBE, task_name="jobs.probe_worker")
    with pytest.raises(CommandError, match=r"^Worker check: no result after 1 s \(is a worker running\?\)$"):
        wait_for_job(job, "Worker check", timeout_s=1.0)


def test_exit_reasons() -> None:
    assert [exit_reason(c) for c in (0, 1, -9, -11, -99)] == [
        "exit code 0", "exit code 1", "killed by SIGKILL", "killed by SIGSEGV", "killed by signal 99"]
