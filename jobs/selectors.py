from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from jobs.models import Job


def jobs_visible_to(*, user: User | AnonymousUser) -> QuerySet[Job]:
    """A user sees their own jobs only; anyone else's is indistinguishable from a missing one."""
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(user=user)


def _listing_relations() -> list[str]:
    """The rows other apps hang on a job (a song analysis, a soundtrack...) and what they point at,
    so a page naming each job does it in one query instead of several per row."""
    from django.db.models import ForeignKey

    names: list[str] = []
    for rel in Job._meta.related_objects:
        if not rel.one_to_one:
            continue
        accessor = rel.get_accessor_name()
        if accessor is None:
            continue
        names.append(accessor)
        model = rel.related_model
        if isinstance(model, str):
            continue
        names += [f"{accessor}__{field.name}" for field in model._meta.fields
                  if isinstance(field, ForeignKey) and field.name not in {"user", "job"}]
    return names


def jobs_for_listing(*, user: User | AnonymousUser) -> QuerySet[Job]:
    return jobs_visible_to(user=user).select_related(*_listing_relations())


def job_summary(job: Job | None) -> dict[str, Any] | None:
    """The progress-bar fields of a job, as ``jobs.serializers.JobSummarySerializer`` shows them."""
    if job is None:
        return None
    return {"id": str(job.pk), "status": job.status, "stage": job.stage, "progress": job.progress,
            "message": job.message, "error_code": job.error_code, "error_detail": job.error_detail}
