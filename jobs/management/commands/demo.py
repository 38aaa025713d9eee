"""Run Encore's main job end to end on the embedded defaults and say where the results are.

Starts one real Celery worker process (filesystem broker, SQLite: no services needed), creates the
jobs through the same services the web pages use, shows each job's progress as a bar, and prints
the paths of what was made. Stages that the platform does not have yet are not run, and the
summary says so instead of pretending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError, CommandParser

from jobs.demo import DemoStage, demo_stages_registered
from jobs.models import Job
from jobs.services import job_create
from mediakit.progress import TqdmProgress


def demo_stages() -> list[tuple[str, DemoStage]]:
    """The pipeline stages, in the order of the main job: the worker check, then each app's own."""
    return [("worker", _probe_stage), *demo_stages_registered()]


# The worker process this command started, while it runs: a job it was running cannot end once the
# process is gone (a crash in native code, say), and the row would be followed until the timeout.
_worker: tuple[subprocess.Popen[bytes], Path] | None = None


def wait_for_job(job: Job, description: str, timeout_s: float = 1800.0) -> Job:
    """Follow a job's row with a terminal progress bar until it ends, or until the worker dies."""
    deadline = time.monotonic() + timeout_s
    with TqdmProgress(description) as bar:
        while time.monotonic() < deadline:
            job.refresh_from_db()
            bar(job.stage or job.status, job.progress, job.message)
            if job.is_finished:
                break
            _check_worker(description)
            time.sleep(0.2)
        else:
            raise CommandError(f"{description}: no result after {timeout_s:.0f} s (is a worker running?)")
    if job.status != Job.Status.SUCCEEDED:
        raise CommandError(f"{description} failed: {job.error_code}: {job.error_detail}")
    return job


def _check_worker(description: str) -> None:
    if _worker is None or (code := _worker[0].poll()) is None:
        return
    raise CommandError(f"{description}: the worker process stopped ({exit_reason(code)}) before the job ended; "
                       f"its log is {_worker[1]}")


def exit_reason(code: int) -> str:
    """A process's return code in words: a negative one is the signal that killed it."""
    if code >= 0:
        return f"exit code {code}"
    try:
        return f"killed by {signal.Signals(-code).name}"
    except ValueError:
        return f"killed by signal {-code}"


def _probe_stage(user: User, out_dir: Path) -> dict[str, Any]:
    job = job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", params={"steps": 5, "step_s": 0.1})
    wait_for_job(job, "Worker check")
    return {"worker": job.worker}


@contextmanager
def running_worker(log_path: Path, command: list[str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A Celery worker process for the demo (``command`` replaces it in tests), followed by ``wait_for_job``."""
    global _worker
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command or [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "cpu,gpu",
                                            "-P", "solo", "-n", f"demo-{os.getpid()}@%h", "-l", "INFO",
                                            "--without-gossip", "--without-mingle"],
                                cwd=settings.BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
        _worker = (proc, log_path)
        try:
            yield proc
        finally:
            _worker = None
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


class Command(BaseCommand):
    help = "Run the main pipeline end to end on the embedded defaults, with a real worker process."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--out", default=str(settings.VAR_DIR / "demo"), help="where to put the results")
        parser.add_argument("--no-worker", action="store_true", help="use an already running worker")

    def handle(self, *args: Any, **options: Any) -> None:
        out_dir = Path(options["out"]).resolve()
        out_dir.mkdir(parents=True, exist_ok=True)
        user, _ = User.objects.get_or_create(username="demo", defaults={"email": ""})
        self.stdout.write(f"Encore demo: database {settings.DATABASES['default']['NAME']}, "
                          f"broker {settings.CELERY_BROKER_URL}")
        summary: list[tuple[str, dict[str, Any]]] = []
        worker_ctx = _no_worker() if options["no_worker"] else running_worker(out_dir / "worker.log")
        with worker_ctx:
            for name, stage in demo_stages():
                self.stdout.write(self.style.MIGRATE_HEADING(f"\n== {name}"))
                summary.append((name, stage(user, out_dir)))
        self.stdout.write(self.style.SUCCESS("\nDemo finished. Results:"))
        for name, facts in summary:
            for key, value in facts.items():
                self.stdout.write(f"  {name}.{key}: {value}")


@contextmanager
def _no_worker() -> Iterator[None]:
    yield
