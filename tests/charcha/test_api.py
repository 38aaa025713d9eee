"""The JSON API: stable error codes, nothing changed on a refusal, the owner only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from charcha.models import CaptureFrame, Challenge, ConsentRecord
from charcha.notices import CURRENT_VERSION, notice_current
from charcha.services import challenge_finish, challenge_verdict_apply
from charcha.wording import PROMPTS
from tests.charcha.conftest import at, cadence, issue, jpeg, passing_verdict, stream
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def issue_via_api(client: APIClient) -> dict[str, Any]:
    notice = notice_current()
    response = client.post("/api/consent/challenges/", {"notice_version": notice.version,
                                                        "notice_sha256": notice.sha256}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def frames_form(nonce: str, seq: int, times: list[int], frames: list[bytes]) -> dict[str, Any]:
    return {"nonce": nonce, "seq": str(seq), "capture_ms": json.dumps(times),
            "frames": [SimpleUploadedFile(f"f{i}.jpg", data, content_type="image/jpeg")
                       for i, data in enumerate(frames)]}


def state_of(challenge_id: str, media: Path) -> tuple[Any, ...]:
    c = Challenge.objects.get(pk=challenge_id)
    return c.state, c.frame_count, c.batch_count, CaptureFrame.objects.count(), stored_files(media)


def test_issue_answers_nonce_duration_and_capture_settings_but_no_schedule(api_user: APIClient, user: User) -> None:
    body = issue_via_api(api_user)
    challenge = Challenge.objects.get(pk=body["id"])
    assert challenge.user == user
    assert set(body) == {"id", "nonce", "issued_at", "expires_at", "duration_ms", "cue_every_ms", "capture"}
    # Nothing of the secret schedule: no action, no prompt, no colour, no window.
    text = json.dumps(body)
    assert not any(s["action"] in text or PROMPTS[s["action"]] in text for s in challenge.steps)
    assert challenge.light and "rgb" not in text and "light" not in text and "steps" not in text
    assert body["duration_ms"] == round((challenge.steps[-1]["end_s"] + 0.6) * 1000)
    assert body["cue_every_ms"] == 120
    assert body["capture"] == {"fps": 15, "max_side": 640, "jpeg_quality": 0.8, "batch_ms": 500,
                               "max_lag_ms": 4000, "min_interval_ms": 40, "max_frames_per_batch": 40, "tail_s": 0.6}
    assert challenge.ip == "127.0.0.1"
    assert len(body["nonce"]) >= 40


@pytest.mark.parametrize(("payload", "status", "code"), [
    ({}, 400, "required"),
    ({"notice_version": 1, "notice_sha256": "nothex"}, 400, "invalid"),
    ({"notice_version": CURRENT_VERSION, "notice_sha256": "0" * 64}, 409, "notice_mismatch"),
    ({"notice_version": 1, "notice_sha256": "0" * 64}, 409, "notice_outdated"),
    ({"notice_version": 7, "notice_sha256": "0" * 64}, 400, "notice_unknown"),
])
def test_issue_refusals(api_user: APIClient, payload: dict[str, Any], status: int, code: str) -> None:
    response = api_user.post("/api/consent/challenges/", payload, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert Challenge.objects.count() == 0


def test_frames_are_accepted_in_real_time(api_user: APIClient, media_root: Path) -> None:
    body = issue_via_api(api_user)
    response = api_user.post(f"/api/consent/challenges/{body['id']}/frames/",
                             frames_form(body["nonce"], 0, [0, 40, 80], [jpeg(1), jpeg(2), jpeg(3)]),
                             format="multipart")
    assert response.status_code == 200, response.content
    assert response.json() == {"frames_received": 3, "batches_received": 1}
    assert len(stored_files(media_root)) == 3


@pytest.mark.parametrize(("form", "status", "code"), [
    ({"seq": "0", "capture_ms": "[0]"}, 400, "nonce_missing"),
    ({"nonce": "NONCE", "seq": "x", "capture_ms": "[0]"}, 400, "seq_invalid"),
    ({"nonce": "NONCE", "seq": "-1", "capture_ms": "[0]"}, 400, "seq_invalid"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": "zero"}, 400, "capture_times_invalid"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": '["0"]'}, 400, "capture_times_invalid"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": "[0]"}, 400, "batch_empty"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": "[0, 40]", "frames": 1}, 400, "frames_mismatch"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": "[0]", "frames": "gif"}, 400, "frame_not_jpeg"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": "[0]", "frames": "huge"}, 400, "frame_too_large"),
    ({"nonce": "wrong", "seq": "0", "capture_ms": "[0]", "frames": 1}, 403, "nonce_mismatch"),
    ({"nonce": "NONCE", "seq": "3", "capture_ms": "[0]", "frames": 1}, 409, "batch_out_of_order"),
    ({"nonce": "NONCE", "seq": "0", "capture_ms": "[60000]", "frames": 1}, 400, "capture_after_receipt"),
])
def test_bad_frame_batches_get_a_stable_code_and_change_nothing(api_user: APIClient, media_root: Path,
                                                               form: dict[str, Any], status: int, code: str) -> None:
    body = issue_via_api(api_user)
    before = state_of(body["id"], media_root)
    data = {k: (body["nonce"] if v == "NONCE" else v) for k, v in form.items() if k != "frames"}
    files = form.get("frames")
    if files == "gif":
        data["frames"] = [SimpleUploadedFile("f.gif", b"GIF89a....", content_type="image/gif")]
    elif files == "huge":
        data["frames"] = [SimpleUploadedFile("f.jpg", b"\xff\xd8\xff" + b"0" * 400_000, content_type="image/jpeg")]
    elif files:
        data["frames"] = [SimpleUploadedFile(f"f{i}.jpg", jpeg(i), content_type="image/jpeg") for i in range(files)]
    response = api_user.post(f"/api/consent/challenges/{body['id']}/frames/", data, format="multipart")
    assert (response.status_code, response.json()["code"]) == (status, code), response.content
    assert isinstance(response.json()["detail"], str)
    assert state_of(body["id"], media_root) == before


def test_other_users_cannot_touch_a_challenge(api_user: APIClient, other_user: User, media_root: Path) -> None:
    body = issue_via_api(api_user)
    intruder = APIClient()
    intruder.force_login(other_user)
    before = state_of(body["id"], media_root)
    url = f"/api/consent/challenges/{body['id']}/"
    for response in (
        intruder.get(url),
        intruder.post(url + "frames/", frames_form(body["nonce"], 0, [0], [jpeg(1)]), format="multipart"),
        intruder.post(url + "finish/", {"nonce": body["nonce"]}, format="json"),
        intruder.post(url + "cancel/", {"nonce": body["nonce"]}, format="json"),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "challenge_not_found")
    assert state_of(body["id"], media_root) == before


def test_anonymous_requests_are_refused(client: Any) -> None:
    response = client.post("/api/consent/challenges/", {}, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["code"] == "not_authenticated"


def test_finish_starts_the_job_and_reports_progress(api_user: APIClient, user: User) -> None:
    body = issue_via_api(api_user)
    api_user.post(f"/api/consent/challenges/{body['id']}/frames/",
                  frames_form(body["nonce"], 0, [0, 40], [jpeg(1), jpeg(2)]), format="multipart")
    response = api_user.post(f"/api/consent/challenges/{body['id']}/finish/", {"nonce": body["nonce"]},
                             format="json")
    assert response.status_code == 202, response.content
    status = response.json()
    assert (status["state"], status["title"], status["frames_received"]) == ("verifying", "Checking…", 2)
    assert status["job"]["status"] == "queued"
    assert f'data-job-id="{status["job"]["id"]}"' in status["progress_html"]
    again = api_user.post(f"/api/consent/challenges/{body['id']}/finish/", {"nonce": body["nonce"]}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "challenge_not_open")


def test_status_shows_a_reason_category_never_a_score(api_user: APIClient, user: User) -> None:
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(3))
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 400))
    from tests.charcha.conftest import failing_verdict

    challenge_verdict_apply(challenge=challenge, verdict=failing_verdict(challenge))
    status = api_user.get(f"/api/consent/challenges/{challenge.pk}/").json()
    assert (status["state"], status["reason"], status["title"]) == ("failed", "action_missed", "A move was missed")
    assert status["message"] == "We did not see you look up while that prompt was showing."
    assert status["retry_allowed"] is True
    assert "peak_signal" not in json.dumps(status)
    assert "1.8" not in json.dumps(status) and "0.2" not in json.dumps(status)


def test_cancel_deletes_frames_now(api_user: APIClient, media_root: Path) -> None:
    body = issue_via_api(api_user)
    api_user.post(f"/api/consent/challenges/{body['id']}/frames/",
                  frames_form(body["nonce"], 0, [0, 40], [jpeg(1), jpeg(2)]), format="multipart")
    response = api_user.post(f"/api/consent/challenges/{body['id']}/cancel/", {"nonce": body["nonce"]},
                             format="json")
    assert (response.status_code, response.json()["state"], response.json()["reason"]) == (200, "cancelled",
                                                                                             "cancelled")
    assert stored_files(media_root) == []


def test_records_list_and_one_click_withdraw(api_user: APIClient, user: User, other_user: User,
                                              media_root: Path) -> None:
    issued = issue(user, timezone.now())
    stream(user, issued, cadence(5))
    challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                                 now=at(issued.challenge, 600))
    challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, (0, 3)))
    consent = ConsentRecord.objects.get()
    records = api_user.get("/api/consent/records/").json()
    assert [(r["id"], r["status"]) for r in records] == [(str(consent.pk), "Active")]
    intruder = APIClient()
    intruder.force_login(other_user)
    denied = intruder.post(f"/api/consent/records/{consent.pk}/withdraw/")
    assert (denied.status_code, denied.json()["code"]) == (404, "consent_not_found")
    response = api_user.post(f"/api/consent/records/{consent.pk}/withdraw/")
    assert response.status_code == 200
    assert (response.json()["end_reason"], response.json()["status"]) == ("withdrawn",
                                                                          "Withdrawn by the user; data erased")
    assert stored_files(media_root) == []
    twice = api_user.post(f"/api/consent/records/{consent.pk}/withdraw/")
    assert (twice.status_code, twice.json()["code"]) == (409, "consent_already_ended")
