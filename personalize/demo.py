"""The adapter stage of `manage.py demo`: an adapter trained from the consent the consent stage recorded.

On the embedded defaults (DEBUG) the platform trains the tiny family (PERSONALIZE_MODELS=tiny), so
this runs in seconds on a CPU and shows the whole path: consent check, encrypted frames in, the
gpu-queue job with its loss curve, the encrypted adapter and validation renders out. Tiny random
models learn nothing about a face, so the likeness score is honestly empty there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import User

from personalize.models import Adapter
from personalize.services import adapter_train_start, adapter_validation_file


def adapter_stage(user: User, out_dir: Path) -> dict[str, Any]:
    from jobs.management.commands.demo import wait_for_job

    adapter = adapter_train_start(user=user)
    assert adapter.job is not None
    job = wait_for_job(adapter.job, "Adapter training")
    adapter = Adapter.objects.get(pk=adapter.pk)
    facts: dict[str, Any] = {"adapter": str(adapter.pk), "trigger": adapter.trigger, "family": adapter.family,
                             "base": adapter.base, "steps": adapter.steps_done, "final_loss": job.result["final_loss"],
                             "identity_score": adapter.identity_score,
                             "validation_faces": f"{adapter.validation_faces}/{adapter.validation_count}",
                             "page": f"/adapters/{adapter.pk}/"}
    # The demo's own copies of the validation renders (decrypted for the person running it).
    for n, item in enumerate(adapter.validation):
        data, _ = adapter_validation_file(adapter=adapter, number=n)
        path = out_dir / f"adapter-validation-{n}.{'mp4' if item['kind'] == 'clip' else 'png'}"
        path.write_bytes(data)
        facts[f"validation_{n}"] = str(path)
    return facts
