"""Faults with real processes killed by PID: the broker and the database restart under queued and
running jobs, and every job still ends succeeded exactly once (or failed with a clear error).

Each test runs its own throw-away server (a Redis on a free port; a PostgreSQL cluster made with
initdb in a temporary folder) so that killing it touches nothing else on the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from jobs.models import Job

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class RedisServer:
    """A private redis-server that keeps nothing on disk, like the local one."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, 10, "redis to start")

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def database_url() -> str:
    if connection.vendor != "postgresql":
        pytest.fail("fault tests need DATABASE_URL (PostgreSQL): run them with `make test`")
    db = connection.settings_dict
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def services_env(tmp_path: Path, settings: Any) -> dict[str, str]:
    media = tmp_path / "media"
    settings.MEDIA_ROOT = media
    return {**os.environ, "ENCORE_MEDIA_ROOT": str(media), "JOBS_STALE_AFTER_S": "3", "JOBS_HEARTBEAT_S": "0.5",
            "JOBS_QUEUED_RESEND_AFTER_S": "0", "CELERY_TASK_ALWAYS_EAGER": "0", "PYTHONUNBUFFERED": "1"}


def django_call(env: dict[str, str], code: str) -> str:
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    # The last line is the code's own output (Django's shell may print a notice before it).
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.fixture
def worker_factory(tmp_path: Path) -> Iterator[Callable[[dict[str, str]], subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"worker-{len(procs)}.log").open("wb")
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "cpu", "-c", "1",
                                 "-P", "prefork", "-n", f"fault-{uuid.uuid4().hex[:8]}@%h", "--without-gossip",
                                 "--without-mingle", "-l", "INFO"], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def attempts(media: Path, job: Job) -> list[str]:
    log = media / "jobs" / str(job.pk) / "attempts.log"
    return [json.loads(line)["event"] for line in log.read_text().splitlines()] if log.exists() else []


def test_redis_restarted_with_jobs_queued_loses_none_and_runs_each_once(
        tmp_path: Path, user: Any, services_env: dict[str, str],
        worker_factory: Callable[[dict[str, str]], subprocess.Popen[bytes]]) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    env = {**services_env, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": redis.url}
    jobs = [Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker",
                               params={"steps": 2, "step_s": 0.05}) for _ in range(6)]
    ids = ",".join(f"'{j.pk}'" for j in jobs)
    # Queued in the broker, no worker yet: then the broker dies (SIGKILL) and comes back empty.
    django_call(env, f"from jobs.services import job_enqueue\nfor i in [{ids}]: job_enqueue(job_id=i)")
    redis.kill()
    redis.start()
    worker_factory(env)
    time.sleep(3)
    assert all(Job.objects.get(pk=j.pk).status == "queued" for j in jobs)   # the messages are gone
    # The reconciler (a periodic task) re-sends from the rows, the source of truth; run it twice.
    for _ in range(2):
        django_call(env, "from jobs.services import job_reconcile\njob_reconcile()")
    wait_until(lambda: all(Job.objects.get(pk=j.pk).status == "succeeded" for j in jobs), 120, "jobs to finish")
    django_call(env, "from jobs.services import job_reconcile\nassert job_reconcile() == []")
    time.sleep(1)
    for job in jobs:
        job.refresh_from_db()
        assert (job.status, job.attempts) == ("succeeded", 1)
        assert attempts(Path(services_env["ENCORE_MEDIA_ROOT"]), job) == ["start", "done"]
    redis.kill()


def postgres_bin() -> Path:
    """Debian keeps initdb and postgres out of PATH, under /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not versions:
        pytest.fail("initdb not found: install Debian's postgresql package (tools/system-packages.txt)")
    return versions[-1].parent


class PostgresCluster:
    """A throw-away PostgreSQL cluster (initdb) on a free port."""

    def __init__(self, folder: Path) -> None:
        # Outside pytest's private temporary folder: the server runs as the postgres user.
        base = Path(tempfile.mkdtemp(prefix="encore-pg-"))
        base.chmod(0o755)
        self.folder = base / "data"
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.bin = postgres_bin()
        user = "postgres" if os.geteuid() == 0 else None
        self.run_as = ["runuser", "-u", user, "--"] if user else []

    def init(self) -> None:
        self.folder.mkdir(parents=True)
        if self.run_as:
            shutil.chown(self.folder, "postgres", "postgres")
        subprocess.run([*self.run_as, str(self.bin / "initdb"), "-D", str(self.folder), "-A", "trust", "-U",
                        "postgres", "--no-sync"], check=True, capture_output=True)

    def start(self) -> None:
        self.proc = subprocess.Popen([*self.run_as, str(self.bin / "postgres"), "-D", str(self.folder), "-p",
                                      str(self.port), "-h", "127.0.0.1", "-k", str(self.folder), "-c", "fsync=off"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.ready, 30, "postgres to start")

    def ready(self) -> bool:
        return subprocess.run([str(self.bin / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"]).returncode == 0

    def postmaster_pid(self) -> int:
        return int((self.folder / "postmaster.pid").read_text().splitlines()[0])

    def kill(self) -> None:
        os.kill(self.postmaster_pid(), signal.SIGKILL)
        assert self.proc is not None
        self.proc.wait(timeout=10)
        # The postmaster's children notice it is gone and exit; the next start recovers from the WAL.
        wait_until(lambda: not self.ready(), 10, "postgres to stop")
        time.sleep(1)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"


def test_postgres_restarted_mid_job_the_job_ends_once(
        tmp_path: Path, services_env: dict[str, str],
        worker_factory: Callable[[dict[str, str]], subprocess.Popen[bytes]]) -> None:
    cluster = PostgresCluster(tmp_path)
    cluster.init()
    cluster.start()
    redis = RedisServer(tmp_path)
    redis.start()
    env = {**services_env, "DATABASE_URL": cluster.url, "CELERY_BROKER_URL": redis.url, "DATABASE_CONN_MAX_AGE": "0"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True,
                   timeout=300)
    created = django_call(env, "from django.contrib.auth.models import User\nfrom jobs.services import job_create\n"
                               "from django.db import transaction\n"
                               "u = User.objects.create_user(username='f')\n"
                               "with transaction.atomic():\n"
                               "    j = job_create(user=u, kind='probe', task_name='jobs.probe_worker', "
                               "params={'steps': 60, 'step_s': 0.5})\n"
                               "print(j.pk)")
    job_id = created
    status = ("from jobs.models import Job\nj = Job.objects.get(pk='" + job_id + "')\n"
              "print(j.status, j.progress, j.attempts, j.error_code)")
    worker_factory(env)
    wait_until(lambda: django_call(env, status).split()[0] == "running", 60, "the job to start")
    time.sleep(0.5)
    cluster.kill()              # mid-job: progress writes and heartbeats now fail
    time.sleep(2)
    cluster.start()
    # After the restart the job either finishes in its running attempt or is taken over once its
    # heartbeat goes stale; run the reconciler as beat would.
    def ended() -> bool:
        django_call(env, "from jobs.services import job_reconcile\njob_reconcile()")
        return django_call(env, status).split()[0] in {"succeeded", "failed"}

    wait_until(ended, 180, "the job to end after the restart")
    state, _, tries, code = [*django_call(env, status).split(), ""][:4]
    log = Path(services_env["ENCORE_MEDIA_ROOT"]) / "jobs" / job_id / "attempts.log"
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    if state == "succeeded":
        assert events.count("done") == 1, events     # exactly once
    else:
        assert code in {"attempts_exhausted", "internal_error"} and "done" not in events, (code, events)
    assert int(tries) <= 3
    redis.kill()
    os.kill(cluster.postmaster_pid(), signal.SIGTERM)
    cluster.proc.wait(timeout=30) if cluster.proc else None
    shutil.rmtree(cluster.folder.parent, ignore_errors=True)
