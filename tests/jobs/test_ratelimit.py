"""Quotas: the request past the limit gets 429 with Retry-After, and nothing is created."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from charcha.models import Challenge
from charcha.notices import notice_current
from jobs.errors import RateLimited
from jobs.models import Job
from jobs.ratelimit import parse_rate, rate_limit
from musicvideo.models import Song
from tests.conftest import stored_files
from tests.musicvideo import songs

pytestmark = pytest.mark.django_db


def test_rates_parse_and_windows_reset(settings: Any) -> None:
    assert parse_rate("20/hour") == (20, 3600) and parse_rate("3/minutes") == (3, 60)
    settings.ENCORE_RATE_LIMITS = {"job": "2/minute"}
    rate_limit("job", 7, now=120.0)
    rate_limit("job", 7, now=150.0)
    with pytest.raises(RateLimited) as refused:
        rate_limit("job", 7, now=170.5)
    assert (refused.value.code, refused.value.retry_after_s) == ("rate_limited", 10)
    assert "2 new jobs per minute" in refused.value.message
    rate_limit("job", 8, now=170.5)          # another user has a quota of their own
    rate_limit("job", 7, now=180.0)          # the next window starts afresh
    settings.ENCORE_RATE_LIMITS = {"job": ""}
    for _ in range(10):
        rate_limit("job", 7, now=185.0)      # an empty rate switches the limit off


def test_challenges_past_the_limit_get_429(api_user: APIClient, settings: Any) -> None:
    settings.ENCORE_RATE_LIMITS = {"challenge": "2/hour"}
    notice = notice_current()
    payload = {"notice_version": notice.version, "notice_sha256": notice.sha256}
    assert [api_user.post("/api/consent/challenges/", payload, format="json").status_code
            for _ in range(2)] == [201, 201]
    before = list(Challenge.objects.values_list("pk", "state"))
    refused = api_user.post("/api/consent/challenges/", payload, format="json")
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert list(Challenge.objects.values_list("pk", "state")) == before


def test_uploads_past_the_limit_get_429(api_user: APIClient, settings: Any) -> None:
    settings.ENCORE_RATE_LIMITS = {"upload": "1/hour"}
    wav = songs.short_wav().read_bytes()
    first = api_user.post("/api/songs/", {"file": SimpleUploadedFile("a.wav", wav), "analyse": False},
                          format="multipart")
    assert first.status_code == 201
    files_before = stored_files(settings.MEDIA_ROOT)
    refused = api_user.post("/api/songs/", {"file": SimpleUploadedFile("b.wav", wav), "analyse": False},
                            format="multipart")
    assert (refused.status_code, refused.json()["code"], "Retry-After" in refused) == (429, "rate_limited", True)
    assert Song.objects.count() == 1 and stored_files(settings.MEDIA_ROOT) == files_before


def test_jobs_past_the_limit_get_429_and_verification_is_not_counted(api_user: APIClient, user: User,
                                                                     settings: Any) -> None:
    wav = songs.short_wav().read_bytes()
    song = api_user.post("/api/songs/", {"file": SimpleUploadedFile("a.wav", wav), "analyse": False},
                         format="multipart").json()
    settings.ENCORE_RATE_LIMITS = {"job": "1/hour"}
    assert api_user.post(f"/api/songs/{song['id']}/analysis/").status_code == 202
    Job.objects.update(status=Job.Status.SUCCEEDED)      # so the refusal below is the quota's, not a busy song
    before = list(Job.objects.values_list("pk", "status"))
    refused = api_user.post(f"/api/songs/{song['id']}/analysis/")
    assert (refused.status_code, refused.json()["code"]) == (429, "rate_limited")
    assert list(Job.objects.values_list("pk", "status")) == before
    from jobs.services import job_create

    job_create(user=user, kind=Job.Kind.VERIFY, task_name="charcha.verify_challenge")   # not a user-started job


def test_signups_from_one_address_are_limited(settings: Any) -> None:
    settings.ENCORE_RATE_LIMITS = {"signup": "2/hour"}
    client = Client(REMOTE_ADDR="203.0.113.9")

    def sign_up(name: str) -> Any:
        client.logout()
        return client.post("/accounts/signup/", {"username": name, "password1": "a long enough passphrase",
                                                 "password2": "a long enough passphrase"})

    assert [sign_up(n).status_code for n in ("ann", "ben")] == [302, 302]
    refused = sign_up("cal")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert b"limit of 2 new accounts from one place per hour" in refused.content
    assert sorted(User.objects.values_list("username", flat=True)) == ["ann", "ben"]
    other = Client(REMOTE_ADDR="198.51.100.4").post("/accounts/signup/", {
        "username": "dee", "password1": "a long enough passphrase", "password2": "a long enough passphrase"})
    assert other.status_code == 302
