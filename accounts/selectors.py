"""Where a person stands on Encore's path (consent -> adapter -> song -> video), for the home page
and the "next step" panels. Reads other apps' rows through the app registry: the home page must
still render while an app is being built or switched off."""

from __future__ import annotations

from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.models import User
from django.db.models import Model
from django.urls import NoReverseMatch, reverse


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    text: str
    url: str
    action: str            # the button's words when this is the next step
    done: bool


@dataclass(frozen=True)
class Journey:
    steps: tuple[Step, ...]

    @property
    def next(self) -> Step | None:
        """The first step not done yet; None once a video exists."""
        return next((step for step in self.steps if not step.done), None)


def _model(label: str) -> type[Model] | None:
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return reverse("home")


def _exists(label: str, **filters: object) -> bool:
    model = _model(label)
    return model is not None and model._default_manager.filter(**filters).exists()


def journey_of(*, user: User) -> Journey:
    consent = _exists("charcha.ConsentRecord", user_id=user.pk, withdrawn_at__isnull=True)
    adapter = _exists("personalize.Adapter", user_id=user.pk, status="ready")
    song = _exists("musicvideo.Song", user_id=user.pk)
    video = _exists("musicvideo.MusicVideo", user_id=user.pk, job__status="succeeded")
    return Journey(steps=(
        Step("consent", "Record your consent", "A 30-second live camera check: you agree, on camera, to your face "
             "being used.", _url("charcha:home"), "Record my consent", consent),
        Step("adapter", "Teach Encore your look", "Encore learns what you look like from the pictures of your "
             "consent check, and nothing else.", _url("personalize:home"), "Train my adapter", adapter),
        Step("song", "Add a song", "Upload a song: Encore finds its beats, its mood and its words.",
             _url("musicvideo:home"), "Add a song", song),
        Step("video", "Make your video", "Pick a style; Encore films you to the song, cut on its beats.",
             _url("musicvideo:home"), "Make a video", video),
    ))
