"""Read-side helpers: what the page and the API show about adapters."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from jobs.selectors import job_summary
from personalize.errors import PersonalizeError
from personalize.models import Adapter


def adapters_of(*, user: User) -> QuerySet[Adapter]:
    return Adapter.objects.filter(user_id=user.pk).select_related("job", "consent")


def adapter_of(*, user: User, pk: Any) -> Adapter:
    adapter = adapters_of(user=user).filter(pk=pk).first()
    if adapter is None:
        # Another user's adapter answers the same as a missing one.
        raise PersonalizeError("No such adapter.", code="adapter_not_found", http_status=404)
    return adapter


def adapter_status(*, adapter: Adapter) -> dict[str, Any]:
    """Progress, loss curve and time left: what the page polls while training runs."""
    job = adapter.job
    total = int(adapter.config.get("steps", 0))
    left_s = None
    if adapter.seconds_per_step and total and adapter.status == Adapter.Status.TRAINING:
        left_s = round((total - adapter.steps_done) * adapter.seconds_per_step, 1)
    return {
        "id": str(adapter.pk), "status": adapter.status, "family": adapter.family, "trigger": adapter.trigger,
        "steps_done": adapter.steps_done, "steps": total, "seconds_per_step": adapter.seconds_per_step,
        "time_left_s": left_s, "loss_curve": adapter.loss_curve,
        "job": job_summary(job),
        "identity_score": adapter.identity_score, "identity_distance": adapter.identity_distance,
        "identity_spread": adapter.identity_spread, "validation_faces": adapter.validation_faces,
        "validation_count": adapter.validation_count,
        "validation": [{"number": n, "kind": v["kind"], "prompt": v["prompt"]}
                       for n, v in enumerate(adapter.validation or [])],
        "error_code": adapter.error_code,
    }
