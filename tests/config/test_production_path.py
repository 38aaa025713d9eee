"""The production path exercised, not only described: gunicorn, a `cpu` and a `gpu` worker,
PostgreSQL, Redis and an S3-compatible object store (moto's server) on loopback, DEBUG off.

An upload goes through gunicorn into the object store, its analysis job runs on the cpu worker, a
job on the gpu queue runs on the gpu worker, and the song comes back through the download link.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from tests.jobs.test_faults import RedisServer, database_url, django_call, free_port, wait_until
from tests.musicvideo import songs

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
BUCKET = "encore-media"


@pytest.fixture
def object_store() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
    yield endpoint
    server.stop()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for proc in started:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_upload_job_output_and_download_through_the_production_stack(
        tmp_path: Path, object_store: str, processes: list[subprocess.Popen[bytes]]) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTEST_VERSION", "DJANGO_DEBUG"}}
    env.update({
        "DJANGO_DEBUG": "0", "DJANGO_SECRET_KEY": base64.b64encode(secrets.token_bytes(48)).decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1", "DJANGO_SECURE_SSL_REDIRECT": "0", "DJANGO_BEHIND_PROXY": "0",
        "CHARCHA_KEKS": "k1:" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "CHARCHA_AUDIT_SEAL_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "DATABASE_URL": database_url(), "CELERY_BROKER_URL": redis.url, "ENCORE_CACHE_URL": redis.url[:-1] + "1",
        "ENCORE_S3_BUCKET": BUCKET, "ENCORE_S3_ENDPOINT_URL": object_store, "ENCORE_S3_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "ENCORE_VAR_DIR": str(tmp_path / "var"),
        "MUSICVIDEO_TRANSCRIBE": "0", "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "2",
        "PYTHONUNBUFFERED": "1"})
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=300)
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, command in [
            ("web", [sys.executable, "-m", "gunicorn", "-c", "platform/gunicorn.conf.py", "config.wsgi"]),
            ("cpu", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "cpu", "-c", "1",
                     "-n", "cpu@%h", "--without-gossip", "--without-mingle", "-l", "INFO"]),
            ("gpu", [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", "gpu", "-P", "solo",
                     "-n", "gpu@%h", "--without-gossip", "--without-mingle", "-l", "INFO"])]:
        processes.append(subprocess.Popen(command, cwd=ROOT, env=env, stdout=(logs / f"{name}.log").open("wb"),
                                          stderr=subprocess.STDOUT, start_new_session=True))
    # Created by the deployment's own settings (the tests' fast password hasher is not among them).
    django_call(env, "from django.contrib.auth.models import User\n"
                     "User.objects.create_user(username='prod', password='a long enough passphrase')")
    base = f"http://127.0.0.1:{port}"
    web = requests.Session()

    def call(method: str, url: str, **kwargs: Any) -> requests.Response:
        # DEBUG off marks cookies Secure (production is HTTPS behind the proxy); this test talks
        # plain HTTP on loopback, so the client is told to send them all the same.
        for cookie in web.cookies:
            cookie.secure = False
        return web.request(method, url, **kwargs)

    def up() -> bool:
        try:
            return call("GET", f"{base}/accounts/login/", timeout=20).status_code == 200
        except (requests.RequestException, OSError):
            return False

    wait_until(up, 90, "gunicorn to answer")
    page = call("GET", f"{base}/accounts/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token is not None
    logged_in = call("POST", f"{base}/accounts/login/", data={"username": "prod", "password": "a long enough passphrase",
                                                           "csrfmiddlewaretoken": token.group(1)},
                         headers={"Referer": f"{base}/accounts/login/"}, allow_redirects=False, timeout=10)
    assert logged_in.status_code == 302, logged_in.text[:3000]
    headers = {"X-CSRFToken": web.cookies["csrftoken"], "Referer": f"{base}/", "Accept": "application/json"}

    wav = songs.short_wav().read_bytes()
    upload = call("POST", f"{base}/api/songs/", files={"file": ("song.wav", wav, "audio/wav")},
                      data={"title": "On the production path", "analyse": "true"}, headers=headers, timeout=120)
    assert upload.status_code == 201, upload.text
    song = upload.json()

    def analysed() -> bool:
        body: dict[str, Any] = call("GET", f"{base}/api/songs/{song['id']}/analysis/", headers=headers, timeout=10).json()
        assert body["job"]["status"] != "failed", body
        return bool(body["job"]["status"] == "succeeded")

    wait_until(analysed, 240, "the analysis job on the cpu worker")
    stored = boto3.client("s3", endpoint_url=object_store, region_name="us-east-1", aws_access_key_id="testing",
                          aws_secret_access_key="testing").list_objects_v2(Bucket=BUCKET)
    keys = [item["Key"] for item in stored.get("Contents", [])]
    assert any(key.startswith("songs/") and key.endswith(".wav") for key in keys), keys
    assert not (tmp_path / "var" / "media").exists() or not any((tmp_path / "var" / "media").rglob("*.wav"))

    # The download is a redirect to a short-lived signed URL of the object store.
    link = call("GET", f"{base}/songs/{song['id']}/file/", allow_redirects=False, timeout=10)
    assert link.status_code == 302 and link.headers["Location"].startswith(object_store)
    assert requests.get(link.headers["Location"], timeout=10).content == wav

    # A job on the gpu queue is run by the gpu worker, and by it alone.
    job_id = django_call(env, "from django.db import transaction\nfrom jobs.services import job_create\n"
                              "from django.contrib.auth.models import User\n"
                              "with transaction.atomic():\n"
                              "    j = job_create(user=User.objects.get(username='prod'), kind='probe', "
                              "task_name='jobs.probe_worker', queue='gpu', params={'steps': 2, 'step_s': 0.05})\n"
                              "print(j.pk)")

    def probed() -> bool:
        body = call("GET", f"{base}/api/jobs/{job_id}/", headers=headers, timeout=10).json()
        return bool(body["status"] == "succeeded")

    wait_until(probed, 120, "the gpu worker")
    gpu_pid = processes[2].pid     # the solo pool runs tasks in the worker's main process
    worker = django_call(env, f"from jobs.models import Job\nprint(Job.objects.get(pk='{job_id}').worker)")
    assert worker.endswith(f":{gpu_pid}"), worker
    assert "Task jobs.probe_worker[" not in (logs / "cpu.log").read_text()
    redis.kill()
