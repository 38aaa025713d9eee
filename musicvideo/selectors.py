from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from musicvideo.models import Scene, Song, SongAnalysis, Storyboard


def songs_visible_to(*, user: User | AnonymousUser) -> QuerySet[Song]:
    if not user.is_authenticated:
        return Song.objects.none()
    return Song.objects.filter(user=user)


def analysis_latest(*, song: Song) -> SongAnalysis | None:
    return song.analyses.select_related("job").order_by("-created_at").first()


def analysis_latest_complete(*, song: Song) -> SongAnalysis | None:
    return song.analyses.filter(completed_at__isnull=False).select_related("job").order_by("-created_at").first()


def storyboard_latest(*, song: Song) -> Storyboard | None:
    return song.storyboards.prefetch_related("scenes").order_by("-created_at").first()


def scene_of(*, song: Song, index: int) -> Scene | None:
    board = storyboard_latest(song=song)
    if board is None:
        return None
    return board.scenes.filter(index=index).select_related("storyboard").first()
