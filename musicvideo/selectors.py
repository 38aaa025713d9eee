from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from musicvideo.models import Song


def songs_visible_to(*, user: User | AnonymousUser) -> QuerySet[Song]:
    if not user.is_authenticated:
        return Song.objects.none()
    return Song.objects.filter(user=user)
