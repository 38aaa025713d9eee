from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from jobs.models import Job


def jobs_visible_to(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Job]:
    """A user sees their own jobs only; anyone else's is indistinguishable from a missing one."""
    if not user.is_authenticated:
        return Job.objects.none()
    return Job.objects.filter(user=user)
