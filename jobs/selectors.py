from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from jobs.models import Job


def jobs_visible_to(*, user: User | AnonymousUser) -> QuerySet[Job]:
    """A user sees their own jobs only; anyone else's is indistinguishable from a missing one."""
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(user=user)
