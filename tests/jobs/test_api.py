from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from jobs.models import Job


def make_job(user: User, **kw: object) -> Job:
    return Job.objects.create(user=user, kind=Job.Kind.PROBE, task_name="jobs.probe_worker", **kw)


@pytest.mark.django_db
def test_user_reads_own_job(api_user: APIClient, user: User) -> None:
    job = make_job(user, status=Job.Status.RUNNING, stage="probe", progress=0.5, message="Step 1 of 2")
    response = api_user.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(job.pk)
    assert body["status"] == "running"
    assert body["stage"] == "probe"
    assert body["progress"] == 0.5
    assert body["message"] == "Step 1 of 2"
    assert body["is_finished"] is False


@pytest.mark.django_db
def test_user_cannot_read_another_users_job(api_user: APIClient, other_user: User) -> None:
    job = make_job(other_user)
    response = api_user.get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 404
    listing = api_user.get("/api/jobs/").json()
    assert listing["count"] == 0
    assert listing["results"] == []


@pytest.mark.django_db
def test_job_list_holds_only_own_jobs(api_user: APIClient, user: User, other_user: User) -> None:
    mine = make_job(user)
    make_job(other_user)
    listing = api_user.get("/api/jobs/").json()
    assert [j["id"] for j in listing["results"]] == [str(mine.pk)]


@pytest.mark.django_db
def test_anonymous_gets_403(other_user: User) -> None:
    job = make_job(other_user)
    response = APIClient().get(f"/api/jobs/{job.pk}/")
    assert response.status_code == 403


@pytest.mark.django_db
def test_job_pages_hide_other_users_jobs(client_user, other_user: User, user: User) -> None:
    theirs = make_job(other_user)
    mine = make_job(user)
    assert client_user.get(f"/jobs/{theirs.pk}/").status_code == 404
    page = client_user.get(f"/jobs/{mine.pk}/")
    assert page.status_code == 200
    assert f'data-job-id="{mine.pk}"'.encode() in page.content


@pytest.mark.django_db
def test_the_jobs_page_shows_twenty_at_a_time(client_user: Client, user: User) -> None:
    for i in range(25):
        make_job(user, message=f"job {i}")
    first = client_user.get("/jobs/").content.decode()
    assert first.count('<tr data-job="') == 20 and "Page 1 of 2" in first and "?page=2" in first
    second = client_user.get("/jobs/?page=2").content.decode()
    assert second.count('<tr data-job="') == 5 and "Newer" in second
