"""The adapter API ({code, detail} errors), the pages and the train_adapter command."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient

from charcha.models import ConsentRecord
from jobs.services import job_run_now
from personalize.models import Adapter
from tests.conftest import stored_files

pytestmark = pytest.mark.django_db


def start(api: APIClient, **payload: Any) -> Any:
    return api.post("/api/adapters/", payload, format="json")


def test_api_refuses_without_consent_with_code_and_detail(api_user: APIClient, tiny_settings: Any) -> None:
    response = start(api_user)
    assert response.status_code == 403
    assert response.json()["code"] == "adapter_no_consent" and response.json()["detail"]
    assert Adapter.objects.count() == 0


def test_api_refuses_another_users_consent(consent: ConsentRecord, other_user: User, tiny_settings: Any) -> None:
    api = APIClient()
    api.force_login(other_user)
    response = start(api, consent=str(consent.pk))
    assert (response.status_code, response.json()["code"]) == (403, "adapter_consent_not_yours")
    assert Adapter.objects.count() == 0


def test_api_trains_shows_progress_and_deletes(api_user: APIClient, consent: ConsentRecord, tiny_settings: Any,
                                               media_root: Path, django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = start(api_user, family="wan2.1-1.3b", steps=2)
    assert response.status_code == 202, response.json()
    body = api_user.get(f"/api/adapters/{response.json()['id']}/").json()
    assert body["status"] == "ready" and body["steps"] == body["steps_done"] == 2
    assert body["job"]["status"] == "succeeded" and len(body["loss_curve"]) == 2
    assert [v["kind"] for v in body["validation"]] == ["still", "still", "clip"]
    assert body["validation_count"] == 3 and body["identity_score"] is None
    assert api_user.get(body["download_url"]).content[8:9] == b"{"
    still = api_user.get(body["validation"][0]["url"])
    assert still.status_code == 200 and still["Content-Type"] == "image/png" and still.content[:4] == b"\x89PNG"
    assert "no-store" in still["Cache-Control"]
    listed = api_user.get("/api/adapters/").json()
    assert [a["id"] for a in listed] == [body["id"]]
    assert api_user.delete(f"/api/adapters/{body['id']}/").status_code == 204
    assert Adapter.objects.count() == 0
    assert not [f for f in stored_files(media_root) if f.startswith("personalize/")]
    missing = api_user.get(f"/api/adapters/{body['id']}/")
    assert (missing.status_code, missing.json()["code"]) == (404, "adapter_not_found")


def test_another_user_sees_neither_the_adapter_nor_its_pictures(user: User, other_user: User, consent: ConsentRecord,
                                                                tiny_settings: Any) -> None:
    from personalize.services import adapter_train_start

    adapter = adapter_train_start(user=user, family="sd15-animatediff", overrides={"steps": 1})
    assert adapter.job is not None
    job_run_now(job_id=adapter.job.pk)
    client = Client()
    client.force_login(other_user)
    assert client.get(f"/adapters/{adapter.pk}/").status_code == 404
    assert client.get(f"/adapters/{adapter.pk}/validation/0/").status_code == 404
    assert client.get(f"/adapters/{adapter.pk}/download/").status_code == 404
    api = APIClient()
    api.force_login(other_user)
    assert api.get(f"/api/adapters/{adapter.pk}/").status_code == 404
    assert api.delete(f"/api/adapters/{adapter.pk}/").status_code == 404
    assert Adapter.objects.filter(pk=adapter.pk).exists()


def test_pages_start_training_and_show_the_adapter(client_user: Client, consent: ConsentRecord, tiny_settings: Any,
                                                   django_capture_on_commit_callbacks: Any) -> None:
    page = client_user.get("/adapters/")
    assert page.status_code == 200 and b"Train an adapter from my consent" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client_user.post("/adapters/train/", {"family": "sd15-animatediff"})
    adapter = Adapter.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/adapters/{adapter.pk}/"
    detail = client_user.get(f"/adapters/{adapter.pk}/")
    body = detail.content.decode()
    assert detail.status_code == 200
    assert adapter.trigger in body and 'id="loss-curve"' in body and 'id="loss-data"' in body
    assert f"/adapters/{adapter.pk}/validation/0/" in body and "<video" in body
    download = client_user.get(f"/adapters/{adapter.pk}/download/")
    assert download.status_code == 200 and "attachment" in download["Content-Disposition"]
    assert download.content[8:9] == b"{" and b"unet." in download.content[:4096]  # the plain safetensors file
    assert client_user.get("/adapters/").content.decode().count(adapter.trigger) == 1
    assert client_user.post(f"/adapters/{adapter.pk}/delete/").status_code == 302
    assert not Adapter.objects.exists()


def test_page_without_consent_points_to_the_challenge(client_user: Client, tiny_settings: Any) -> None:
    page = client_user.get("/adapters/").content.decode()
    assert "complete the CHARCHA challenge" in page and "train-form" not in page
    response = client_user.post("/adapters/train/", follow=True)
    assert "adapter_no_consent" in response.content.decode()
    assert not Adapter.objects.exists()


def test_schema_documents_the_adapter_api(client: Client) -> None:
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/adapters/" in schema["paths"] and "/api/adapters/{id}/" in schema["paths"]


def test_train_adapter_command(user: User, consent: ConsentRecord, tiny_settings: Any) -> None:
    out, err = StringIO(), StringIO()
    call_command("train_adapter", "--user", user.username, "--steps", "2", "--family", "sd15-animatediff",
                 stdout=out, stderr=err)
    adapter = Adapter.objects.get()
    assert adapter.is_ready and adapter.steps_done == 2
    assert f"trigger {adapter.trigger}" in out.getvalue() and "2 steps" in out.getvalue()
    assert "100%" in err.getvalue()  # the progress bar reached its end
    with pytest.raises(CommandError, match="No consent record"):
        call_command("train_adapter", "--user", user.username, "--consent", "00000000-0000-0000-0000-000000000000")


def test_demo_stage_trains_from_the_demo_users_consent(user: User, consent: ConsentRecord, tiny_settings: Any,
                                                       tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jobs.demo import demo_stages_registered
    from jobs.management.commands import demo

    # The demo follows a worker; here the job runs in-process and the follower only reads the row.
    def run_then_follow(job: Any, description: str, timeout_s: float = 1.0) -> Any:
        return job_run_now(job_id=job.pk)

    monkeypatch.setattr(demo, "wait_for_job", run_then_follow)
    stages = dict(demo_stages_registered())
    facts = stages["adapter"](user, tmp_path)
    adapter = Adapter.objects.get()
    assert facts["trigger"] == adapter.trigger and facts["page"] == f"/adapters/{adapter.pk}/"
    assert Path(facts["validation_0"]).read_bytes()[:4] == b"\x89PNG"


def test_admin_lists_adapters_read_only(user: User, consent: ConsentRecord, tiny_settings: Any) -> None:
    from personalize.services import adapter_train_start

    adapter = adapter_train_start(user=user, enqueue=False)
    admin = User.objects.create_superuser(username="root", password="x" * 20)
    client = Client()
    client.force_login(admin)
    listing = client.get("/admin/personalize/adapter/")
    assert listing.status_code == 200 and adapter.trigger in listing.content.decode()
    assert client.get("/admin/personalize/adapter/add/").status_code == 403


def test_an_unfinished_adapter_has_no_file_to_hand_out(user: User, consent: ConsentRecord, tiny_settings: Any) -> None:
    from personalize.errors import PersonalizeError
    from personalize.services import adapter_local_path, adapter_train_start

    adapter = adapter_train_start(user=user, enqueue=False)
    with pytest.raises(PersonalizeError) as err, adapter_local_path(adapter=adapter):
        pass
    assert err.value.code == "adapter_not_ready"
