"""Real Celery worker processes for tests: the same database and Redis as the test, one queue each.

Needs the PostgreSQL and Redis that `make test` points at (DATABASE_URL, CELERY_BROKER_URL): a
worker is a separate process and must see the same database and queue as the test.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]
StartWorker = Callable[[], "subprocess.Popen[bytes]"]
LOG_TAIL_LINES = 200


def require_services() -> tuple[str, str]:
    """The database URL the worker must share with the test, and the Redis broker."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if connection.vendor != "postgresql" or not broker.startswith("redis://"):
        pytest.fail("worker tests need DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis): run them with "
                    "`make test`, which points at the local services")
    db = connection.settings_dict
    url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return url, broker


@contextmanager
def celery_workers(log_dir: Path, *, queue: str, env: Mapping[str, str],
                   stop_timeout_s: float = 20.0) -> Iterator[StartWorker]:
    """Yield ``start()``, which launches one more worker on ``queue``; all are stopped on exit.

    The broker is emptied first (a previous test's leftovers would be run), and tasks stop running
    eagerly in this process while the workers are up.
    """
    database_url, broker = require_services()
    import redis

    redis.Redis.from_url(broker).flushdb()
    full_env = {**os.environ, "DATABASE_URL": database_url, "CELERY_BROKER_URL": broker,
                "CELERY_TASK_ALWAYS_EAGER": "0", "PYTHONUNBUFFERED": "1", **env}
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        log = (log_dir / f"worker-{len(procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "-c", "1", "-P", "prefork",
             "-n", f"{queue}-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle", "-l", "INFO"],
            cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    celery_app.conf.task_always_eager = False
    try:
        yield start
    finally:
        celery_app.conf.task_always_eager = True
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=stop_timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
        # A worker's traceback lives only in its log, under a tmp_path that CI does not keep; pytest
        # shows what is printed here beside a failed test (and swallows it for a passing one).
        for log_path in sorted(log_dir.glob("worker-*.log")):
            lines = log_path.read_text(errors="replace").splitlines()
            print(f"----- {log_path.name}: last {min(len(lines), LOG_TAIL_LINES)} of {len(lines)} lines -----")
            print("\n".join(lines[-LOG_TAIL_LINES:]))
