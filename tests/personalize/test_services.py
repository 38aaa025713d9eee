"""Training from a consent through the real job path, its refusals, cancellation and erasure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from safetensors.torch import load as load_safetensors

from charcha.models import CaptureFrame, ConsentRecord
from charcha.services import consent_withdraw
from jobs.context import job_work_dir
from jobs.models import Job
from jobs.services import job_cancel, job_run_now
from personalize import services
from personalize.errors import PersonalizeError
from personalize.models import Adapter
from personalize.services import adapter_local_path, adapter_read, adapter_train_start, adapter_validation_file
from tests.charcha.conftest import tables_holding
from tests.conftest import stored_files
from tests.personalize.conftest import make_consent

pytestmark = pytest.mark.django_db


def snapshot(media_root: Path) -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {"files": stored_files(media_root), "adapters": Adapter.objects.count(), "jobs": Job.objects.count()}


def refused(code: str, **kwargs: Any) -> PersonalizeError:
    with pytest.raises(PersonalizeError) as err:
        adapter_train_start(**kwargs)
    assert err.value.code == code, err.value.message
    return err.value


def train(user: User, consent: ConsentRecord | None = None, **kwargs: Any) -> Adapter:
    adapter = adapter_train_start(user=user, consent=consent, **kwargs)
    assert adapter.job is not None
    job_run_now(job_id=adapter.job.pk)
    adapter.refresh_from_db()
    return adapter


# ------------------------------------------------------------------------------------------ refusals
def test_refused_without_a_consent(user: User, tiny_settings: Any, media_root: Path) -> None:
    before = snapshot(media_root)
    assert refused("adapter_no_consent", user=user).http_status == 403
    assert snapshot(media_root) == before


def test_refused_after_withdrawal(user: User, consent: ConsentRecord, tiny_settings: Any, media_root: Path) -> None:
    consent_withdraw(consent=consent, by=user)
    consent.refresh_from_db()
    before = snapshot(media_root)
    assert refused("adapter_consent_ended", user=user, consent=consent).http_status == 403
    refused("adapter_no_consent", user=user)
    assert snapshot(media_root) == before


def test_refused_for_another_users_consent(user: User, other_user: User, consent: ConsentRecord,
                                           tiny_settings: Any, media_root: Path) -> None:
    before = snapshot(media_root)
    assert refused("adapter_consent_not_yours", user=other_user, consent=consent).http_status == 403
    assert snapshot(media_root) == before


def _corrupt_one_frame(consent: ConsentRecord, media_root: Path) -> None:
    frame = CaptureFrame.objects.filter(challenge=consent.challenge, kept=True).order_by("index").first()
    assert frame is not None
    path = media_root / frame.path
    blob = bytearray(path.read_bytes())
    blob[-20] ^= 0x01  # one flipped bit: AES-GCM's tag no longer matches
    path.write_bytes(bytes(blob))


def test_refused_when_a_frame_fails_to_decrypt(user: User, consent: ConsentRecord, tiny_settings: Any,
                                               media_root: Path) -> None:
    _corrupt_one_frame(consent, media_root)
    before = snapshot(media_root)
    assert refused("adapter_frames_unreadable", user=user).http_status == 409
    assert snapshot(media_root) == before


def test_a_frame_that_breaks_after_the_start_fails_the_job_and_saves_nothing(
        user: User, consent: ConsentRecord, tiny_settings: Any, media_root: Path) -> None:
    adapter = adapter_train_start(user=user, enqueue=False)
    assert adapter.job is not None
    _corrupt_one_frame(consent, media_root)
    files = stored_files(media_root)
    job = job_run_now(job_id=adapter.job.pk)
    adapter.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "adapter_frames_unreadable")
    assert (adapter.status, adapter.error_code, adapter.file_path) == ("failed", "adapter_frames_unreadable", "")
    assert stored_files(media_root) == files
    assert not job_work_dir(job.pk).exists()


def test_a_real_model_on_a_cpu_is_refused_with_an_estimate(user: User, consent: ConsentRecord, settings: Any,
                                                           media_root: Path) -> None:
    settings.PERSONALIZE_MODELS = "real"
    settings.PERSONALIZE_DEVICE = "cpu"
    before = snapshot(media_root)
    error = refused("cpu_training_refused", user=user)
    assert "hours" in error.message and "GPU" in error.message
    assert snapshot(media_root) == before


# ------------------------------------------------------------------------------------------ training
@pytest.mark.parametrize("family", ["sd15-animatediff", "wan2.1-1.3b"])
def test_training_job_stores_an_encrypted_adapter_and_validation(user: User, consent: ConsentRecord,
                                                                 tiny_settings: Any, media_root: Path,
                                                                 family: str) -> None:
    adapter = train(user, family=family)
    job = adapter.job
    assert job is not None
    assert (job.status, job.error_code, job.progress) == ("succeeded", "", 1.0)
    assert adapter.status == "ready" and adapter.is_ready
    assert adapter.family == family and adapter.base == "tiny" and len(adapter.trigger) == 6
    assert job.result["steps"] == adapter.steps_done == 4
    assert [step for step, _ in adapter.loss_curve] == [1, 2, 3, 4]
    assert adapter.seconds_per_step is not None and adapter.seconds_per_step > 0
    runs = consent.evidence["training_runs"]
    assert len(runs) == 3 and all(r["last"] - r["first"] == 16 for r in runs)  # notice v2: runs are kept
    assert adapter.dataset["stills"] == 6 and adapter.dataset["clips"] == (3 if family == "wan2.1-1.3b" else 0)
    # Stored encrypted: not a safetensors file at rest; the owner's key gives the exact LoRA back.
    stored = (media_root / adapter.file_path).read_bytes()
    plain = adapter_read(adapter=adapter, name="adapter", path=adapter.file_path)
    assert len(plain) == adapter.file_size and plain[8:9] == b"{" and stored[8:9] != b"{"
    prefix = "unet." if family == "sd15-animatediff" else "transformer."
    assert all(k.startswith(prefix) for k in load_safetensors(plain))
    with adapter_local_path(adapter=adapter) as path:
        assert path.read_bytes() == plain
    assert not path.exists()
    # Two stills and one clip, each encrypted at rest; the identity score is honest about tiny models.
    assert [v["kind"] for v in adapter.validation] == ["still", "still", "clip"]
    for n, item in enumerate(adapter.validation):
        data, content_type = adapter_validation_file(adapter=adapter, number=n)
        assert data[:4] == (b"\x89PNG" if item["kind"] == "still" else data[:4])
        assert content_type == ("image/png" if item["kind"] == "still" else "video/mp4")
        assert data[:16] not in (media_root / item["path"]).read_bytes()
        assert adapter.trigger in item["prompt"]
    assert (adapter.validation_count, adapter.validation_faces, adapter.identity_score) == (3, 0, None)
    assert adapter.identity_spread is not None and adapter.identity_spread > 0
    assert not job_work_dir(job.pk).exists()
    assert sorted(f for f in stored_files(media_root) if f.startswith("personalize/")) == sorted(
        [adapter.file_path] + [v["path"] for v in adapter.validation])


def test_cancelling_mid_training_stops_and_keeps_nothing(user: User, consent: ConsentRecord, tiny_settings: Any,
                                                         media_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Every report written (tiny steps come milliseconds apart): the cancel is seen at step 2's report.
    tiny_settings.JOBS_PROGRESS_MIN_INTERVAL_S = 0.0
    adapter = adapter_train_start(user=user, enqueue=False)
    assert adapter.job is not None
    job_id = adapter.job.pk
    record = services._LossRecorder.__call__

    def user_clicks_cancel_at_step_2(self: Any, step: int, loss: float, s_per_step: float) -> None:
        record(self, step, loss, s_per_step)
        if step == 2:
            job_cancel(job=Job.objects.get(pk=job_id), by=user)

    monkeypatch.setattr(services._LossRecorder, "__call__", user_clicks_cancel_at_step_2)
    files = stored_files(media_root)
    job = job_run_now(job_id=job_id)
    adapter.refresh_from_db()
    assert job.status == "cancelled"
    assert adapter.status == "cancelled" and adapter.steps_done == 2 and adapter.file_path == ""
    assert stored_files(media_root) == files
    assert not job_work_dir(job.pk).exists()


def test_one_training_at_a_time_per_consent(user: User, consent: ConsentRecord, tiny_settings: Any) -> None:
    adapter_train_start(user=user, enqueue=False)
    refused("adapter_training_active", user=user)


# ------------------------------------------------------------------------------------------ erasure
def test_withdrawal_leaves_no_adapter_clip_or_validation_bytes(user: User, other_user: User, consent: ConsentRecord,
                                                               genuine: Any, tiny_settings: Any,
                                                               media_root: Path) -> None:
    adapter = train(user, family="wan2.1-1.3b")
    others = make_consent(other_user, genuine, tiny_settings)
    kept = train(other_user, consent=others)
    plain = adapter_read(adapter=adapter, name="adapter", path=adapter.file_path)
    renders = [adapter_validation_file(adapter=adapter, number=n)[0] for n in range(len(adapter.validation))]
    sealed = [(media_root / p).read_bytes() for p in [adapter.file_path] + [v["path"] for v in adapter.validation]]
    assert "clip" in [v["kind"] for v in adapter.validation]

    consent_withdraw(consent=consent, by=user)

    assert not Adapter.objects.filter(user=user).exists()
    assert not [f for f in stored_files(media_root) if f.startswith(f"personalize/u{user.pk}/")]
    # No file anywhere in storage and no value in any table holds any of it, plain or sealed.
    every_file = [(media_root / f).read_bytes() for f in stored_files(media_root)]
    for blob in [plain, *renders, *sealed]:
        chunk = blob[len(blob) // 2: len(blob) // 2 + 64]
        assert not any(chunk in data for data in every_file)
        assert tables_holding(chunk) == []
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM personalize_adapter WHERE user_id = %s", [user.pk])
        assert cursor.fetchone() == (0,)
    # The other user's adapter is untouched and still reads.
    kept.refresh_from_db()
    assert kept.is_ready and adapter_read(adapter=kept, name="adapter", path=kept.file_path)[8:9] == b"{"
    erased = consent.events.get(kind="erased")
    assert erased.data["erased"]["hook:personalize.adapters"] == 1


def test_the_erasure_hook_cancels_a_queued_training(user: User, consent: ConsentRecord, tiny_settings: Any) -> None:
    adapter = adapter_train_start(user=user, enqueue=False)
    assert adapter.job is not None
    consent_withdraw(consent=consent, by=user)
    assert not Adapter.objects.filter(pk=adapter.pk).exists()
    assert Job.objects.get(pk=adapter.job.pk).status == "cancelled"
