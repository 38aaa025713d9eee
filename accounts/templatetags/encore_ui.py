"""Site-wide template helpers: a job named by what it works on, the page of its result, one date format."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.apps import apps
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format

from jobs.models import Job

register = template.Library()

# Every date a person reads on Encore's pages: "4 Dec 2026, 14:07" (times are UTC, said once per page).
DATE_FORMAT = "j M Y, H:i"


def _related(job: Job, name: str) -> Any:
    """The row a job works for, through a reverse one-to-one; None when there is none (or the app is off)."""
    try:
        return getattr(job, name)
    except Exception:  # RelatedObjectDoesNotExist subclasses differ per model; AttributeError when an app is off
        return None


def _song_title(song_id: Any) -> str | None:
    try:
        song_model = apps.get_model("musicvideo", "Song")
    except LookupError:
        return None
    song = song_model._default_manager.filter(pk=song_id).only("title").first()
    return None if song is None else str(song)


@register.filter
def job_title(job: Job) -> str:
    """ "Soundtrack for holiday.mp4", "Analysis of Summer song": what the job is doing, and to what."""
    soundtrack = _related(job, "soundtrack")
    if soundtrack is not None:
        video = soundtrack.video
        return f"Soundtrack for {video.original_name or video.title}"
    analysis = _related(job, "song_analysis")
    if analysis is not None:
        return f"Listening to “{analysis.song}”"
    video = _related(job, "music_video")
    if video is not None:
        return f"Music video of “{video.song}”"
    if _related(job, "adapter") is not None:
        return "Learning your look (adapter)"
    if _related(job, "charcha_challenge") is not None:
        return "Checking your consent recording"
    if job.kind == Job.Kind.STORYBOARD and job.params.get("song_id"):
        title = _song_title(job.params["song_id"])
        if title:
            return f"Storyboard for “{title}”"
    return str(job.get_kind_display())


def _reverse(name: str, *args: Any) -> str | None:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


@register.filter
def job_result_url(job: Job) -> str | None:
    """The page that shows what the job made (or is making); None when there is no such page."""
    soundtrack = _related(job, "soundtrack")
    if soundtrack is not None:
        return _reverse("soundtrack:detail", soundtrack.pk)
    analysis = _related(job, "song_analysis")
    if analysis is not None:
        return _reverse("musicvideo:song", analysis.song_id)
    video = _related(job, "music_video")
    if video is not None:
        return _reverse("musicvideo:video", video.pk)
    adapter = _related(job, "adapter")
    if adapter is not None:
        return _reverse("personalize:detail", adapter.pk)
    if _related(job, "charcha_challenge") is not None:
        return _reverse("charcha:home")
    if job.kind == Job.Kind.STORYBOARD and job.params.get("song_id"):
        return _reverse("musicvideo:song", job.params["song_id"])
    return None


@register.filter
def when(value: datetime | None) -> str:
    """One date format everywhere, in UTC (the server's and the pages' time zone)."""
    if value is None:
        return ""
    return date_format(timezone.localtime(value), DATE_FORMAT)


def progress_line(stage: str, message: str) -> str:
    """The line under a progress bar: "probe: Step 6 of 10", but "Done" rather than "done: Done"."""
    if not stage or message.lower().startswith(stage.lower()):
        return message
    return f"{stage}: {message}" if message else ""


@register.filter
def job_line(job: Job) -> str:
    return progress_line(job.stage, job.message)


@register.filter
def notice_title(title: str) -> str:
    """A consent notice's heading without its internal name and version tail: the notice text itself
    is hashed and never edited, so the page drops "(CHARCHA)" and "— notice version N" when showing it."""
    plain = title.replace(" (CHARCHA)", "").replace("(CHARCHA)", "")
    return plain.split(" — notice version")[0].strip()


MODE_WORDS = {
    "major": "bright", "ionian": "bright", "minor": "darker", "aeolian": "darker",
    "lydian": "bright and dreamy", "mixolydian": "major with a bluesy edge", "dorian": "minor but warm",
    "phrygian": "dark and tense", "locrian": "unsettled",
}


@register.filter
def key_words(key: str) -> str:
    """A musical key as a listener hears it: "E lydian" -> "In E, bright and dreamy"."""
    parts = (key or "").split()
    if len(parts) != 2:
        return key or ""
    note, mode = parts
    feel = MODE_WORDS.get(mode.lower())
    return f"In {note}, {feel}" if feel else f"In {note} {mode}"
