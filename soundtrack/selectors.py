from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from soundtrack.models import SourceVideo


def source_videos_visible_to(*, user: User | AnonymousUser) -> QuerySet[SourceVideo]:
    if not user.is_authenticated:
        return SourceVideo.objects.none()
    return SourceVideo.objects.filter(user=user)
