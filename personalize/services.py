"""Adapters: start training from a live consent, the training job, files, deletion and erasure.

Training only ever reads the pictures of the user's own active consent (charcha's
``frame_bytes_for_training`` / ``frame_runs_for_training``), and everything it writes that carries
the person's likeness (the adapter, validation renders, checkpoints and the encoded dataset in the
job's work folder) is encrypted with the user's data key. Withdrawing the consent runs
``adapters_erase_for_consent`` first and then deletes the key, so even a copy that survived
somewhere can no longer be read.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone

from charcha.crypto import CryptoError, decrypt_blob, encrypt_blob
from charcha.errors import ChallengeError, ConsentError
from charcha.keys import user_data_key
from charcha.models import ConsentRecord
from charcha.services import consent_active, frame_bytes_for_training, frame_runs_for_training
from jobs.context import JobContext
from jobs.errors import JobCancelled, JobLost
from jobs.models import Job
from jobs.services import job_cancel, job_create
from mediakit.errors import EncoreError
from mediakit.progress import scaled
from personalize.errors import PersonalizeError
from personalize.lora.config import TrainConfig, check_device, default_config
from personalize.lora.errors import LoraError
from personalize.lora.families import FAMILIES, SD15, TINY, WAN, ModelSource
from personalize.models import Adapter

logger = logging.getLogger(__name__)

TRAIN_TASK = "personalize.train_adapter"
LOSS_CURVE_POINTS = 400
_CONSONANTS = "bcdfghjklmnpqrstvwxz"
_VOWELS = "aeiouy"


# ------------------------------------------------------------------------------------------ models
def model_source(family: str | None = None) -> ModelSource:
    """The weights the platform trains and renders ``family`` with (settings; ``tiny`` in development)."""
    family = family or settings.PERSONALIZE_FAMILY
    if family not in FAMILIES:
        raise PersonalizeError(f"Unknown model family {family!r}.", code="family_unknown")
    if settings.PERSONALIZE_MODELS == TINY:
        return ModelSource(family=family, base=TINY, device=settings.PERSONALIZE_DEVICE,
                           dtype=settings.PERSONALIZE_DTYPE)
    if family == WAN:
        return ModelSource(family=family, base=settings.PERSONALIZE_WAN_BASE, device=settings.PERSONALIZE_DEVICE,
                           dtype=settings.PERSONALIZE_DTYPE)
    return ModelSource(family=family, base=settings.PERSONALIZE_SD15_BASE,
                       motion_adapter=settings.PERSONALIZE_SD15_MOTION_ADAPTER or None,
                       device=settings.PERSONALIZE_DEVICE, dtype=settings.PERSONALIZE_DTYPE)


def adapter_model_source(adapter: Adapter) -> ModelSource:
    """The source an adapter was trained on (its base is pinned on the row; device from settings)."""
    current = model_source(adapter.family)
    motion = current.motion_adapter if adapter.family == SD15 and adapter.base != TINY else None
    return ModelSource(family=adapter.family, base=adapter.base, motion_adapter=motion,
                       device=current.device, dtype=current.dtype)


def train_config_for(source: ModelSource, overrides: dict[str, Any] | None = None) -> TrainConfig:
    config = default_config(source)
    from_settings = json.loads(settings.PERSONALIZE_TRAIN_OVERRIDES) if settings.PERSONALIZE_TRAIN_OVERRIDES else {}
    try:
        return config.replace(**{**from_settings, **(overrides or {})})
    except TypeError as exc:
        raise PersonalizeError("Invalid training settings.", code="config_invalid") from exc


# ------------------------------------------------------------------------------------------ keys
def _context(adapter: Adapter, name: str) -> str:
    return f"adapter:{adapter.user_id}:{adapter.pk}:{name}"


def _key(user_id: int) -> bytes:
    key = user_data_key(user_id=user_id, create=False)
    if key is None:
        raise PersonalizeError("The consent's data has been erased.", code="adapter_consent_ended", http_status=410)
    return key


class UserVault:
    """Seals the job's checkpoints and encoded dataset with the user's key (see trainer.Vault)."""

    def __init__(self, adapter: Adapter, job_id: Any) -> None:
        self._key = _key(adapter.user_id)
        self._prefix = f"checkpoint:{adapter.user_id}:{adapter.pk}:{job_id}:"

    def seal(self, data: bytes, *, name: str) -> bytes:
        return encrypt_blob(self._key, data, context=self._prefix + name)

    def open(self, blob: bytes, *, name: str) -> bytes:
        return decrypt_blob(self._key, blob, context=self._prefix + name)


def _seal(adapter: Adapter, name: str, data: bytes) -> bytes:
    return encrypt_blob(_key(adapter.user_id), data, context=_context(adapter, name))


def adapter_read(*, adapter: Adapter, name: str, path: str) -> bytes:
    """Decrypt one of an adapter's stored files (``name`` is the file's role, bound into the ciphertext)."""
    try:
        with default_storage.open(path, "rb") as fh:
            blob = fh.read()
    except (OSError, ValueError) as exc:
        raise PersonalizeError("The adapter's file is missing.", code="adapter_file_missing", http_status=410) from exc
    try:
        return decrypt_blob(_key(adapter.user_id), blob, context=_context(adapter, name))
    except CryptoError as exc:
        raise PersonalizeError("The adapter's file could not be decrypted.", code="adapter_file_missing",
                               http_status=410) from exc


@contextmanager
def adapter_local_path(*, adapter: Adapter) -> Iterator[Path]:
    """The decrypted LoRA file on local disk for as long as the block runs (for renderers).

    ``load_lora_weights`` wants a path; the plaintext lives only in the work folder and only this long.
    """
    if not adapter.is_ready:
        raise PersonalizeError("The adapter has not finished training.", code="adapter_not_ready", http_status=409)
    data = adapter_read(adapter=adapter, name="adapter", path=adapter.file_path)
    folder = Path(settings.ENCORE_WORK_DIR) / "personalize"
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=folder) as tmp:
        path = Path(tmp) / "adapter.safetensors"
        path.write_bytes(data)
        yield path


def adapter_validation_file(*, adapter: Adapter, number: int) -> tuple[bytes, str]:
    """A validation render's bytes and content type."""
    items = adapter.validation or []
    if not 0 <= number < len(items):
        raise PersonalizeError("No such validation picture.", code="validation_not_found", http_status=404)
    item = items[number]
    data = adapter_read(adapter=adapter, name=f"validation-{number}", path=item["path"])
    return data, "video/mp4" if item["kind"] == "clip" else "image/png"


# ------------------------------------------------------------------------------------------ start
def _new_trigger() -> str:
    """A pronounceable nonsense word: rare in a text encoder's vocabulary, so it starts nearly blank."""
    pattern = (_CONSONANTS, _VOWELS, _CONSONANTS, _CONSONANTS, _VOWELS, _CONSONANTS)
    return "".join(secrets.choice(letters) for letters in pattern)


def _training_frames(consent: ConsentRecord, *, runs: bool) -> tuple[list[tuple[int, bytes]],
                                                                    list[tuple[str, list[tuple[int, bytes]]]]]:
    """Decrypt the consent's stills (and runs); each refusal with its own code."""
    try:
        stills = frame_bytes_for_training(consent=consent)
        clips = frame_runs_for_training(consent=consent) if runs else []
    except ConsentError as exc:
        raise PersonalizeError("The consent this adapter belongs to has ended; its pictures may not be used.",
                               code="adapter_consent_ended", http_status=403) from exc
    except ChallengeError as exc:  # frames_erased: the key is gone
        raise PersonalizeError("The consent's pictures have been erased.", code="adapter_consent_ended",
                               http_status=410) from exc
    except (CryptoError, OSError) as exc:
        raise PersonalizeError("The consent's pictures could not be decrypted; nothing was trained.",
                               code="adapter_frames_unreadable", http_status=409) from exc
    if not stills:
        raise PersonalizeError("The consent holds no pictures to train on.", code="adapter_frames_unreadable",
                               http_status=409)
    return stills, clips


def _check_consent(*, user: User, consent: ConsentRecord | None) -> ConsentRecord:
    if consent is None:
        consent = consent_active(user=user)
        if consent is None:
            raise PersonalizeError("You need an active consent first: complete the CHARCHA challenge.",
                                   code="adapter_no_consent", http_status=403)
    if consent.user_id != user.pk:
        raise PersonalizeError("That consent belongs to someone else.", code="adapter_consent_not_yours",
                               http_status=403)
    if consent.withdrawn_at is not None or consent.erased_at is not None:
        raise PersonalizeError("This consent has ended; its pictures may not be used.",
                               code="adapter_consent_ended", http_status=403)
    return consent


def adapter_train_start(*, user: User, consent: ConsentRecord | None = None, family: str | None = None,
                        overrides: dict[str, Any] | None = None, enqueue: bool = True) -> Adapter:
    """Check everything that can be checked now, then create the adapter and its queued gpu job.

    Every refusal happens before anything is written: no row, no file, no job. ``enqueue=False``
    leaves the job for the caller to run in-process (the ``train_adapter`` command).
    """
    consent = _check_consent(user=user, consent=consent)
    source = model_source(family)
    config = train_config_for(source, overrides)
    try:
        check_device(source, config)
    except LoraError as exc:
        raise PersonalizeError(exc.message, code=exc.code, http_status=exc.http_status) from exc
    # Decrypt once now: a consent whose pictures cannot be read is refused here, not in the worker.
    _training_frames(consent, runs=bool(config.run_frames))
    if Adapter.objects.filter(consent=consent, status__in=(Adapter.Status.QUEUED, Adapter.Status.TRAINING)).exists():
        raise PersonalizeError("An adapter of this consent is already training.", code="adapter_training_active",
                               http_status=409)
    for _ in range(10):
        try:
            with transaction.atomic():
                adapter = Adapter.objects.create(user=user, consent=consent, family=source.family, base=source.base,
                                                 trigger=_new_trigger(), config=config.to_json())
                fields: dict[str, Any] = {"user": user, "kind": Job.Kind.TRAIN, "task_name": TRAIN_TASK,
                                          "queue": "gpu", "params": {"adapter_id": str(adapter.pk)},
                                          "message": "Waiting for a GPU worker"}
                job = job_create(**fields) if enqueue else Job.objects.create(**fields)
                Adapter.objects.filter(pk=adapter.pk).update(job=job)
            adapter.refresh_from_db()
            return adapter
        except IntegrityError:
            continue  # the random trigger word was taken: draw another
    raise PersonalizeError("Could not choose a trigger word; try again.", code="lora_error", http_status=500)


# ------------------------------------------------------------------------------------------ the job
class _LossRecorder:
    """Writes the loss curve and speed to the adapter row about once a second (the page polls it)."""

    def __init__(self, adapter: Adapter, total: int) -> None:
        self.adapter_id = adapter.pk
        self.total = total
        self.points: dict[int, float] = {int(s): float(v) for s, v in (adapter.loss_curve or [])}
        self.s_per_step = adapter.seconds_per_step or 0.0
        self._last = 0.0

    def __call__(self, step: int, loss: float, s_per_step: float) -> None:
        self.points[step] = loss
        if s_per_step <= 0:
            # A step replayed from a checkpoint: its loss belongs in the curve, but writing the row
            # now would show the page "step 1" until the first new step is written.
            return
        self.s_per_step = s_per_step
        now = time.monotonic()
        if now - self._last >= 1.0 or step == self.total:
            self.flush(step, s_per_step)
            self._last = now

    def curve(self) -> list[list[float]]:
        steps = sorted(self.points)
        stride = max(1, len(steps) // LOSS_CURVE_POINTS + (1 if len(steps) % LOSS_CURVE_POINTS else 0))
        kept = steps[::stride]
        if steps and kept[-1] != steps[-1]:
            kept.append(steps[-1])
        return [[s, round(self.points[s], 6)] for s in kept]

    def flush_last(self) -> None:
        if self.points:
            self.flush(max(self.points), self.s_per_step)

    def flush(self, step: int, s_per_step: float) -> None:
        Adapter.objects.filter(pk=self.adapter_id).update(loss_curve=self.curve(), steps_done=step,
                                                          seconds_per_step=round(s_per_step, 4))


def adapter_train_run(*, ctx: JobContext) -> dict[str, Any]:
    """The training job: frames -> dataset -> cached latents -> LoRA -> encrypted file + validation."""
    adapter = Adapter.objects.select_related("consent").filter(pk=ctx.job.params.get("adapter_id")).first()
    if adapter is None:
        raise PersonalizeError("The adapter was deleted before it trained.", code="adapter_not_found", http_status=404)
    Adapter.objects.filter(pk=adapter.pk).update(status=Adapter.Status.TRAINING, error_code="")
    try:
        return _train(ctx, adapter)
    except JobLost:
        raise  # another worker owns the job; it writes the row
    except JobCancelled:
        Adapter.objects.filter(pk=adapter.pk).update(status=Adapter.Status.CANCELLED, error_code="cancelled")
        raise
    except BaseException as exc:
        from celery.exceptions import SoftTimeLimitExceeded

        # The same code the job row gets (jobs.services.job_execute), so page and API agree.
        code = exc.code if isinstance(exc, EncoreError) else (
            "timeout" if isinstance(exc, SoftTimeLimitExceeded) else "internal_error")
        Adapter.objects.filter(pk=adapter.pk).update(status=Adapter.Status.FAILED, error_code=code[:60])
        raise


def _train(ctx: JobContext, adapter: Adapter) -> dict[str, Any]:
    from charcha.vision.identity import load_identity_backend
    from mediakit.encode import encode_mp4
    from personalize.lora.data import FrameRun, decode_jpeg, prepare_dataset
    from personalize.lora.families import load_pipeline
    from personalize.lora.trainer import encode_dataset, load_or_encode_cache, save_adapter, train_lora
    from personalize.lora.validate import identity_report, render_validation

    source = adapter_model_source(adapter)
    config = TrainConfig(**adapter.config)
    config.validate()
    check_device(source, config)
    _check_consent(user=adapter.user, consent=adapter.consent)
    ctx.progress("prepare", 0.01, "Reading your consent's pictures")
    stills, runs = _training_frames(adapter.consent, runs=bool(config.run_frames))
    vault = UserVault(adapter, ctx.job.pk)
    pipe = ctx.models.get(("personalize", source, "image"), lambda: load_pipeline(source, kind="image"))

    def build() -> Any:
        dataset = prepare_dataset(stills, [FrameRun(action=a, frames=f) for a, f in runs], trigger=adapter.trigger,
                                  resolution=config.resolution, run_frames=config.run_frames, flip=config.flip,
                                  jitter=config.jitter, background_weight=config.background_weight, seed=config.seed,
                                  progress=scaled(ctx.progress, 0.02, 0.08))
        return encode_dataset(pipe, source, dataset, progress=scaled(ctx.progress, 0.08, 0.12))

    cache = load_or_encode_cache(ctx.work_dir, vault, build)
    Adapter.objects.filter(pk=adapter.pk).update(dataset=cache.summary)
    recorder = _LossRecorder(adapter, config.steps)
    try:
        result = train_lora(pipe, source, cache, config, work_dir=ctx.work_dir, vault=vault,
                            progress=scaled(ctx.progress, 0.12, 0.85), on_step=recorder)
    finally:
        recorder.flush_last()  # however it ended, the page shows how far it got

    ctx.progress("save", 0.86, "Saving the adapter")
    out_dir = ctx.work_dir / "out"
    plain = save_adapter(source, result, config, out_dir)
    data = plain.read_bytes()
    file_path = ctx.store_output(_seal(adapter, "adapter", data), f"{adapter.storage_dir}/adapter.safetensors.enc")

    ctx.progress("validate", 0.88, "Rendering validation pictures")
    video_pipe = None
    if config.validation_frames:
        video_pipe = pipe if source.family == WAN else ctx.models.get(
            ("personalize", source, "video"), lambda: load_pipeline(source, kind="video"))
    renders = render_validation(pipe, video_pipe, source, plain, config, trigger=adapter.trigger, seed=config.seed)
    plain.unlink()
    ctx.progress("validate", 0.95, "Scoring likeness")
    backend = ctx.models.get(("identity", settings.PERSONALIZE_IDENTITY_BACKEND),
                             lambda: load_identity_backend(settings.PERSONALIZE_IDENTITY_BACKEND))
    checked = [r.frames[0] if r.kind == "still" else r.frames[len(r.frames) // 2] for r in renders]
    report = identity_report([decode_jpeg(i, b) for i, b in stills], checked, backend=backend)
    validation = []
    for n, render in enumerate(renders):
        if render.kind == "clip":
            clip = encode_mp4(out_dir / "clip.mp4", render.frames, fps=8)
            payload = clip.read_bytes()
            clip.unlink()
            name = f"{adapter.storage_dir}/validation/{n:02d}-clip.mp4.enc"
        else:
            payload = _png(render.frames[0])
            name = f"{adapter.storage_dir}/validation/{n:02d}-still.png.enc"
        path = ctx.store_output(_seal(adapter, f"validation-{n}", payload), name)
        validation.append({"kind": render.kind, "prompt": render.prompt, "path": path})
    ctx.progress("done", 0.99, "Adapter ready")
    Adapter.objects.filter(pk=adapter.pk).update(
        status=Adapter.Status.READY, file_path=file_path, file_size=len(data), validation=validation,
        identity_score=report.score, identity_distance=report.distance, identity_spread=report.spread,
        validation_faces=report.faces, validation_count=report.images, trained_at=timezone.now(),
        steps_done=result.steps, error_code="")
    return {"adapter": str(adapter.pk), "family": source.family, "steps": result.steps,
            "resumed_from": result.resumed_from, "final_loss": round(result.losses[-1], 6),
            "seconds_per_step": round(result.s_per_step, 4), "identity_score": report.score,
            "validation_faces": report.faces, "validation_count": report.images, "dataset": cache.summary}


def _png(image: Any) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ delete
def _adapter_files(adapter: Adapter) -> list[str]:
    paths = [adapter.file_path] if adapter.file_path else []
    paths += [item["path"] for item in adapter.validation or [] if item.get("path")]
    # Whatever a run stored under the adapter's folder, even if the row never learnt of it.
    try:
        folders, files = default_storage.listdir(adapter.storage_dir)
        paths += [f"{adapter.storage_dir}/{f}" for f in files]
        for folder in folders:
            paths += [f"{adapter.storage_dir}/{folder}/{f}"
                      for f in default_storage.listdir(f"{adapter.storage_dir}/{folder}")[1]]
    except (OSError, NotImplementedError):
        pass
    return sorted(set(paths))


def _erase(adapters: list[Adapter]) -> int:
    """Cancel their jobs, delete their files and rows. Idempotent."""
    for adapter in adapters:
        if adapter.job is not None and not adapter.job.is_finished:
            with suppress(EncoreError):  # it ended meanwhile
                job_cancel(job=adapter.job, by=None)
    paths = [p for a in adapters for p in _adapter_files(a)]
    deleted = Adapter.objects.filter(pk__in=[a.pk for a in adapters]).delete()[0]
    for path in paths:
        try:
            default_storage.delete(path)
        except OSError:
            logger.exception("could not delete %s", path)
    return deleted


def adapter_delete(*, adapter: Adapter, by: User) -> None:
    if adapter.user_id != by.pk:
        raise PersonalizeError("No such adapter.", code="adapter_not_found", http_status=404)
    if adapter.status in (Adapter.Status.QUEUED, Adapter.Status.TRAINING) and adapter.job is not None \
            and not adapter.job.is_finished:
        raise PersonalizeError("The adapter is training; cancel its job first.", code="adapter_busy", http_status=409)
    _erase([adapter])


def adapters_erase_for_consent(*, user: User, consent: ConsentRecord, reason: str) -> int:
    """Erasure hook (``personalize.adapters``, order 20): every adapter made from this consent's pictures."""
    adapters = list(Adapter.objects.select_related("job").filter(consent=consent))
    return _erase(adapters)
