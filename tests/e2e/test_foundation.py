"""Sign-up, navigation and live job progress in a real browser."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from jobs.models import Job
from tests.e2e.conftest import login
from tests.jobs.test_worker import worker  # noqa: F401  (a real Celery worker process, as a fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
SHOTS = Path(os.environ.get("ENCORE_SCREENSHOTS", "/tmp/encore-shots"))


def test_signup_then_navigate(page: Page, live_server: Any) -> None:
    page.goto(live_server.url)
    page.click("text=Sign up")
    page.fill("input[name=username]", "dana")
    page.fill("input[name=password1]", "a long enough passphrase")
    page.fill("input[name=password2]", "a long enough passphrase")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".account")).to_contain_text("dana")
    assert get_user_model().objects.filter(username="dana").exists()
    page.click("nav >> text=Jobs")
    expect(page.locator("h1")).to_have_text("Your jobs")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(live_server.url)
    page.screenshot(path=str(SHOTS / "home.png"), full_page=True)
    page.click("text=Log out")
    expect(page.locator(".account")).to_contain_text("Log in")


def test_job_page_shows_live_progress_until_done(page: Page, live_server: Any) -> None:
    user = login(page, live_server)
    job = Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", status="running",
                             stage="probe", progress=0.1, message="Step 1 of 10")
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    page.evaluate("""() => { window.finished = null;
        document.addEventListener('encore:job-finished', e => { window.finished = e.detail; }); }""")
    bar = page.locator(".job-progress progress")
    expect(bar).to_have_attribute("value", "10")
    Job.objects.filter(pk=job.pk).update(progress=0.6, message="Step 6 of 10")
    expect(bar).to_have_attribute("value", "60")
    expect(page.locator('.job-progress [data-role="message"]')).to_have_text("probe: Step 6 of 10")
    page.screenshot(path=str(SHOTS / "job-progress.png"))
    Job.objects.filter(pk=job.pk).update(progress=1.0, status="succeeded", message="Done", stage="done")
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Succeeded")
    expect(bar).to_have_attribute("value", "100")
    page.wait_for_function("() => window.finished !== null")
    assert page.evaluate("() => window.finished") == {"id": str(job.pk), "status": "succeeded"}


def test_failed_job_shows_its_error(page: Page, live_server: Any) -> None:
    user = login(page, live_server)
    job = Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", status="running")
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    Job.objects.filter(pk=job.pk).update(status="failed", error_code="song_silent", error_detail="The song is silent.")
    expect(page.locator('.job-progress [data-role="error"]')).to_have_text("The song is silent. song_silent")


@pytest.mark.worker
def test_cancel_from_the_page_stops_a_running_job(page: Page, live_server: Any, worker: Any) -> None:  # noqa: F811
    import json

    from django.conf import settings

    from jobs.services import job_create
    from tests.conftest import stored_files

    user = login(page, live_server)
    job = job_create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker",
                     params={"steps": 60, "step_s": 0.2, "store_output": True})
    worker()
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Running", timeout=60_000)
    expect(page.locator(".job-progress progress")).not_to_have_attribute("value", "0", timeout=30_000)
    page.screenshot(path=str(SHOTS / "job-cancel-before.png"))
    with page.expect_response(lambda response: response.url.endswith(f"/api/jobs/{job.pk}/cancel/")) as answered:
        page.click('.job-progress [data-role="cancel"] button')
    assert answered.value.ok
    # The request is stamped before its UPDATE commits, and on a loaded machine a step could land
    # in between unseen; once the answer is here the request is visible to the worker.
    visible_at = time.time()
    expect(page.locator('.job-progress [data-role="status"]')).to_have_text("Cancelled", timeout=30_000)
    page.screenshot(path=str(SHOTS / "job-cancel-after.png"))
    job.refresh_from_db()
    assert job.status == "cancelled" and job.cancel_requested_at is not None
    steps_log = settings.MEDIA_ROOT / "jobs" / str(job.pk) / "steps.log"
    steps = [json.loads(line) for line in steps_log.read_text().splitlines()]
    # At most the step already under way when the request became visible is written after it.
    assert len([s for s in steps if s["at"] >= visible_at]) <= 1
    assert len(steps) < 60
    assert f"jobs/{job.pk}/partial.bin" not in stored_files(settings.MEDIA_ROOT)
