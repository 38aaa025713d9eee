"""The job context: work folder, stored outputs, model cache, cancellation, task names and limits."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.test import Client
from rest_framework.test import APIClient

from config.celery import app as celery_app
from jobs.context import JobContext, ModelCache, job_work_dir
from jobs.errors import JobCancelled
from jobs.models import Job
from jobs.services import job_cancel, job_claim, job_execute
from jobs.tasks import JobTask, job_time_limits
from mediakit.errors import EncoreError, TransientError
from tests.conftest import stored_files


def make_job(user: User, **kw: Any) -> Job:
    return Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", **kw)


def snapshot() -> list[tuple[Any, ...]]:
    return list(Job.objects.order_by("pk").values_list("pk", "status", "progress", "message", "cancel_requested_at",
                                                        "finished_at"))


def test_model_cache_loads_once_and_drops_the_least_recent() -> None:
    cache = ModelCache(max_items=2)
    loads: list[str] = []

    def loader(name: str) -> Any:
        def load() -> str:
            loads.append(name)
            return f"model {name}"
        return load

    assert cache.get("a", loader("a")) == "model a"
    assert cache.get("a", loader("a")) == "model a"
    cache.get("b", loader("b"))
    cache.get("a", loader("a"))   # a is now the most recent
    cache.get("c", loader("c"))   # drops b
    assert "b" not in cache and "a" in cache and "c" in cache
    assert loads == ["a", "b", "c"] and cache.loads == 3


def test_store_output_replaces_the_previous_runs_file(user: User, settings: Any) -> None:
    ctx = JobContext(job=make_job(user))
    first = ctx.store_output(b"first", "renders/1/video.mp4")
    second = ctx.store_output(b"second", "renders/1/video.mp4")
    assert first == second == "renders/1/video.mp4"
    assert stored_files(settings.MEDIA_ROOT) == ["renders/1/video.mp4"]
    with default_storage.open(second) as fh:
        assert fh.read() == b"second"


def test_local_copy_of_a_stored_file(user: User, tmp_path: Path) -> None:
    ctx = JobContext(job=make_job(user))
    name = ctx.store_output(b"abc", "songs/1/original.wav")
    with ctx.local_copy(name) as path:
        assert path.read_bytes() == b"abc"


def _run(job: Job, work: Any) -> str:
    outcome, _ = job_execute(job_id=str(job.pk), work=work, eager=True)
    job.refresh_from_db()
    return outcome


def test_success_keeps_outputs_and_removes_the_work_folder(user: User, settings: Any) -> None:
    job = make_job(user)

    def work(*, ctx: JobContext) -> dict[str, Any]:
        (ctx.work_dir / "scratch.bin").write_bytes(b"x")
        ctx.store_output(b"out", f"jobs/{ctx.job.pk}/out.bin")
        ctx.progress("work", 0.5, "Half way")
        return {"ok": True}

    assert _run(job, work) == "done"
    assert (job.status, job.result) == ("succeeded", {"ok": True})
    assert stored_files(settings.MEDIA_ROOT) == [f"jobs/{job.pk}/out.bin"]
    assert not job_work_dir(job.pk).exists()


def test_a_failed_run_leaves_no_output_files(user: User, settings: Any) -> None:
    job = make_job(user)

    def work(*, ctx: JobContext) -> dict[str, Any]:
        ctx.store_output(b"partial", f"jobs/{ctx.job.pk}/partial.bin")
        raise EncoreError("The song is silent.", code="audio_silent")

    assert _run(job, work) == "failed"
    assert (job.status, job.error_code) == ("failed", "audio_silent")
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not job_work_dir(job.pk).exists()


def test_a_retried_run_keeps_its_work_folder_for_the_next_attempt(user: User) -> None:
    job = make_job(user)

    def work(*, ctx: JobContext) -> dict[str, Any]:
        (ctx.work_dir / "checkpoint.pt").write_bytes(b"step 10")
        raise TransientError("The broker went away.")

    assert _run(job, work) == "retry"
    assert job.status == "queued"
    assert (job_work_dir(job.pk) / "checkpoint.pt").read_bytes() == b"step 10"


def test_cancel_stops_at_the_next_progress_report_and_removes_partial_files(user: User, settings: Any) -> None:
    settings.JOBS_PROGRESS_MIN_INTERVAL_S = 0.0   # every report is written (reports here come microseconds apart)
    job = make_job(user)
    reports: list[int] = []

    def work(*, ctx: JobContext) -> dict[str, Any]:
        ctx.store_output(b"partial", f"jobs/{ctx.job.pk}/partial.bin")
        (ctx.work_dir / "scratch.bin").write_bytes(b"x")
        for step in range(1, 11):
            if step == 4:
                job_cancel(job=Job.objects.get(pk=ctx.job.pk), by=user)   # the user clicks Cancel
                assert ctx.cancelled()
            reports.append(step)
            ctx.progress("work", step / 10, f"Step {step}")
        return {"finished": True}

    assert _run(job, work) == "cancelled"
    assert reports == [1, 2, 3, 4]          # stopped at the first report after the request
    assert (job.status, job.message, job.progress) == ("cancelled", "Cancelled", 0.3)
    assert job.result == {} and job.finished_at is not None and job.claim_token is None
    assert stored_files(settings.MEDIA_ROOT) == []
    assert not job_work_dir(job.pk).exists()


def test_cancel_after_the_last_report_still_removes_the_outputs(user: User, settings: Any) -> None:
    job = make_job(user)

    def work(*, ctx: JobContext) -> dict[str, Any]:
        ctx.store_output(b"video", f"jobs/{ctx.job.pk}/video.mp4")
        job_cancel(job=Job.objects.get(pk=ctx.job.pk), by=user)
        return {"finished": True}

    assert _run(job, work) == "cancelled"
    assert job.status == "cancelled" and stored_files(settings.MEDIA_ROOT) == []


def test_cancelling_a_queued_job_ends_it_before_it_runs(user: User) -> None:
    job = make_job(user)
    job_cancel(job=job, by=user)
    job.refresh_from_db()
    assert (job.status, job.message) == ("cancelled", "Cancelled")
    ran: list[bool] = []
    assert _run(job, lambda *, ctx: ran.append(True)) == "finished"
    assert ran == [] and job.attempts == 0


def test_a_cancelled_job_whose_worker_died_is_not_run_again(user: User, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    old = timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER_S + 5)
    job = make_job(user, status="running", heartbeat_at=old, cancel_requested_at=old, attempts=1)
    assert job_claim(job_id=job.pk, worker="w2") is None
    job.refresh_from_db()
    assert job.status == "cancelled"


def test_cancelling_a_finished_job_is_refused_and_changes_nothing(user: User) -> None:
    job = make_job(user, status="succeeded", progress=1.0, message="Done")
    before = snapshot()
    with pytest.raises(EncoreError) as refused:
        job_cancel(job=job, by=user)
    assert refused.value.code == "job_finished"
    assert snapshot() == before


def test_cancel_through_the_api(api_user: APIClient, user: User, other_user: User) -> None:
    mine = make_job(user, status="running", claim_token=uuid.uuid4())
    theirs = make_job(other_user)
    response = api_user.post(f"/api/jobs/{mine.pk}/cancel/")
    assert response.status_code == 200
    assert response.json()["cancel_requested"] is True and response.json()["status"] == "running"
    before = snapshot()
    assert api_user.post(f"/api/jobs/{theirs.pk}/cancel/").status_code == 404
    assert api_user.post(f"/api/jobs/{mine.pk}/cancel/").status_code == 200   # asking twice is harmless
    assert snapshot() == before
    Job.objects.filter(pk=mine.pk).update(status="cancelled")
    before = snapshot()
    done = api_user.post(f"/api/jobs/{mine.pk}/cancel/")
    assert (done.status_code, done.json()["code"]) == (409, "job_finished")
    assert snapshot() == before


def test_the_job_page_has_a_cancel_button_that_works(client_user: Client, user: User) -> None:
    job = make_job(user)
    page = client_user.get(f"/jobs/{job.pk}/")
    assert b'data-role="cancel"' in page.content
    response = client_user.post(f"/jobs/{job.pk}/cancel/", {"next": f"/jobs/{job.pk}/"})
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert b'data-role="cancel"' not in client_user.get(f"/jobs/{job.pk}/").content
    # An open redirect is not followed.
    other = make_job(user)
    response = client_user.post(f"/jobs/{other.pk}/cancel/", {"next": "https://evil.example/"})
    assert response["Location"] == f"/jobs/{other.pk}/"


def test_job_tasks_are_named_alike_with_limits_from_settings(settings: Any) -> None:
    celery_app.loader.import_default_modules()
    job_tasks = {name: task for name, task in celery_app.tasks.items() if isinstance(task, JobTask)}
    assert {"charcha.verify_challenge", "musicvideo.analyze_song", "musicvideo.write_storyboard",
            "soundtrack.score_video", "jobs.probe_worker"} <= set(job_tasks)
    for name, task in job_tasks.items():
        assert re.fullmatch(r"[a-z]+\.[a-z]+(_[a-z]+)+", name), name
        soft, hard = job_time_limits(name)
        assert (task.soft_time_limit, task.time_limit) == (soft, hard), name
        assert 0 < soft < hard, name
        assert name in settings.JOBS_TIME_LIMITS_S, f"{name} has no time limits in settings"
        assert task.acks_late and task.reject_on_worker_lost


def test_job_cancelled_is_not_an_encore_error() -> None:
    # Cancelling is the user's wish, not a failure: it must never be recorded as an error code.
    assert not issubclass(JobCancelled, EncoreError)


def test_a_retried_run_never_moves_the_bar_backwards(user: User) -> None:
    job = make_job(user, progress=0.063, attempts=1)
    seen: list[float] = []

    def work(*, ctx: JobContext) -> dict[str, Any]:
        ctx.progress("decode", 0.02, "Starting again")
        seen.append(Job.objects.get(pk=ctx.job.pk).progress)
        return {}

    assert _run(job, work) == "done"
    assert seen == [0.063]


def test_stale_jobs_say_they_are_waiting_for_a_worker(api_user: APIClient, user: User, settings: Any) -> None:
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(seconds=settings.JOBS_STALE_AFTER_S + 50)
    dead = make_job(user, status="running", progress=0.06, heartbeat_at=long_ago)
    unclaimed = make_job(user, enqueued_at=long_ago)
    fresh = make_job(user, status="running", heartbeat_at=timezone.now())
    reasons = {str(j.pk): api_user.get(f"/api/jobs/{j.pk}/").json()["waiting_reason"] for j in (dead, unclaimed, fresh)}
    assert reasons[str(dead.pk)] == ("The worker stopped answering 2 min ago; the job will be picked up again when a "
                                     "worker is free.")
    assert reasons[str(unclaimed.pk)] == "No worker has picked this job up yet (waiting 2 min)."
    assert reasons[str(fresh.pk)] == ""
