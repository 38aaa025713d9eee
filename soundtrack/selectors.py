from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from soundtrack.models import Soundtrack, SourceVideo


def source_videos_visible_to(*, user: User | AnonymousUser) -> QuerySet[SourceVideo]:
    if not user.is_authenticated:
        return SourceVideo.objects.none()
    return SourceVideo.objects.filter(user=user)


def soundtracks_visible_to(*, user: User | AnonymousUser) -> QuerySet[Soundtrack]:
    """A user sees only their own soundtracks; anyone else's answers as missing."""
    if not user.is_authenticated:
        return Soundtrack.objects.none()
    return Soundtrack.objects.filter(user=user).select_related("job", "video")
