"""Web load bench: gunicorn on loopback, a steady rate of job-status reads and page views.

    .venv/bin/python bench/load.py [--json] [--rate 200] [--seconds 15] [--workers 3]

Starts gunicorn (platform/gunicorn.conf.py) on 127.0.0.1 with production-like settings (DEBUG
off, a fresh SQLite database under var/bench/load, or DATABASE_URL when set), creates a user and
50 jobs, logs in, then sends requests at a fixed rate from client threads (keep-alive
connections, an open-loop schedule: a slow answer does not slow the sender down, so queueing
shows up in the latency). Four in five requests read a job's status (GET /api/jobs/<id>/), one
in five is the jobs page (GET /jobs/). The run is bounded by --seconds and stops by itself; only
loopback is contacted. Prints p50/p99 latency, the achieved rate and errors, and the ratio of p99
to the 100 ms limit. With --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "bench" / "load"
P99_LIMIT_S = 0.100


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_DEBUG", "PYTEST_VERSION"}}
    env.update({
        "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": base64.b64encode(secrets.token_bytes(48)).decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_BEHIND_PROXY": "0",
        "CHARCHA_KEKS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "CHARCHA_AUDIT_SEAL_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ENCORE_VAR_DIR": str(WORK), "ENCORE_RATE_JOB": "", "ENCORE_LOG_LEVEL": "WARNING",
    })
    env.setdefault("DATABASE_URL", f"sqlite:///{WORK / 'db.sqlite3'}")
    return env


def prepare(env: dict[str, str]) -> list[str]:
    """Migrate, create the bench user and 50 jobs; returns the job ids."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    # DEBUG off serves hashed static files from the manifest, as in production.
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True)
    code = """
from django.contrib.auth.models import User
from jobs.models import Job
user, _ = User.objects.get_or_create(username="load")
user.set_password("load bench passphrase"); user.save()
Job.objects.filter(user=user).delete()
ids = [str(Job.objects.create(user=user, kind="probe", task_name="jobs.probe_worker", status="running",
                              stage="probe", progress=i / 50, message=f"Step {i} of 50").pk) for i in range(50)]
print(",".join(ids))
"""
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True)
    return done.stdout.strip().splitlines()[-1].split(",")


def login(port: int) -> str:
    """Log in through the real form; returns the Cookie header."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/accounts/login/")
    page = conn.getresponse()
    body = page.read().decode()
    csrf_cookie = re.search(r"csrftoken=([^;]+)", page.getheader("Set-Cookie") or "")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
    assert csrf_cookie and token, "no CSRF token on the login page"
    form = f"username=load&password=load+bench+passphrase&csrfmiddlewaretoken={token.group(1)}"
    conn.request("POST", "/accounts/login/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf_cookie.group(1)}",
        "Referer": f"http://127.0.0.1:{port}/accounts/login/"})
    answer = conn.getresponse()
    answer.read()
    session = re.search(r"sessionid=([^;]+)", answer.getheader("Set-Cookie") or "")
    assert answer.status == 302 and session, f"login failed: {answer.status}"
    return f"sessionid={session.group(1)}; csrftoken={csrf_cookie.group(1)}"


def run_load(port: int, cookie: str, job_ids: list[str], *, rate: float, seconds: float,
             clients: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter() + 0.2
    total = int(rate * seconds)

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for n in range(index, total, clients):
            due = start + n / rate
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            path = "/jobs/" if n % 5 == 4 else f"/api/jobs/{job_ids[n % len(job_ids)]}/"
            try:
                conn.request("GET", path, headers={"Cookie": cookie, "Accept": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException) as exc:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                response = None
                errors.append(type(exc).__name__)
            # Latency from when the request was due: time spent queued behind slow answers counts.
            elapsed = time.perf_counter() - due
            with lock:
                latencies.append(elapsed)
                if not ok and response is not None:
                    errors.append(f"HTTP {response.status}")
        conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {"requests": len(latencies), "rate_target_per_s": rate, "rate_achieved_per_s": round(len(latencies) / wall, 1),
            "latency_p50_s": round(statistics.median(ordered), 4), "latency_p99_s": round(p99, 4),
            "latency_max_s": round(ordered[-1], 4), "errors": len(errors),
            "error_kinds": sorted(set(errors)), "p99_to_limit_ratio": round(p99 / P99_LIMIT_S, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--clients", type=int, default=16, help="client threads (keep-alive connections)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    env = environment()
    job_ids = prepare(env)
    port = free_port()
    env.update({"GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": str(args.workers),
                "GUNICORN_THREADS": "4"})
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "platform/gunicorn.conf.py",
                               "--access-logfile", "/dev/null", "config.wsgi"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=(WORK / "gunicorn.log").open("wb"),
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                cookie = login(port)
                break
            except (OSError, AssertionError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit(f"gunicorn did not start; see {WORK / 'gunicorn.log'}") from None
                time.sleep(0.3)
        run_load(port, cookie, job_ids, rate=min(args.rate, 50.0), seconds=2.0, clients=args.clients)  # warm-up
        figures = run_load(port, cookie, job_ids, rate=args.rate, seconds=args.seconds, clients=args.clients)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    figures.update({"gunicorn_workers": args.workers, "database": env["DATABASE_URL"].split(":", 1)[0],
                    "cpu_cores": os.cpu_count(), "p99_limit_s": P99_LIMIT_S})
    for key, value in figures.items():
        print(f"{key:>22}: {value}")
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
