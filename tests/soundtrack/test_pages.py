"""The soundtrack pages: options form, live progress while queued, player + timeline + downloads when done."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from jobs.models import Job
from soundtrack.models import Soundtrack, SourceVideo
from soundtrack.services import soundtrack_create

pytestmark = pytest.mark.django_db


def test_video_page_offers_the_options(client_user: Client, source_video: SourceVideo) -> None:
    body = client_user.get(f"/soundtrack/videos/{source_video.pk}/").content.decode()
    assert 'id="soundtrack-options"' in body
    assert 'value="cinematic"' in body and 'type="range"' in body and 'value="duck"' in body
    assert "No soundtrack yet" in body


def test_compose_from_the_page(client_user: Client, source_video: SourceVideo,
                               django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = client_user.post(f"/soundtrack/videos/{source_video.pk}/soundtracks/",
                                    {"genre": "lofi", "energy": "2", "mix": "replace"})
    soundtrack = Soundtrack.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/soundtrack/tracks/{soundtrack.pk}/"
    body = client_user.get(response["Location"]).content.decode()
    assert 'id="st-video"' in body and 'id="st-chart"' in body
    assert f'/soundtrack/tracks/{soundtrack.pk}/midi/?download=1' in body
    assert "Another take" in body
    summary = json.loads(re.search(r'<script id="soundtrack-summary" type="application/json">(.*?)</script>', body,
                                   re.S).group(1))  # type: ignore[union-attr]
    assert summary["music"]["genre"] == "lofi"
    assert summary["options"] == {"genre": "lofi", "energy": 2, "seed": 0, "mix": "replace"}
    video_page = client_user.get(f"/soundtrack/videos/{source_video.pk}/").content.decode()
    assert "Take 1" in video_page and "Lo-fi hip hop" in video_page


def test_queued_soundtrack_shows_live_progress(client_user: Client, source_video: SourceVideo) -> None:
    soundtrack = soundtrack_create(user=source_video.user, video=source_video)   # not committed: stays queued
    body = client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/").content.decode()
    assert f'data-job-id="{soundtrack.job.pk}"' in body
    assert 'id="st-chart"' not in body
    assert '<script id="soundtrack-summary" type="application/json">null</script>' in body


def test_failed_soundtrack_shows_its_error(client_user: Client, source_video: SourceVideo) -> None:
    soundtrack = soundtrack_create(user=source_video.user, video=source_video)
    Job.objects.filter(pk=soundtrack.job.pk).update(status="failed", error_code="synth_failed",
                                                    error_detail="FluidSynth could not render the music.")
    body = client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/").content.decode()
    assert "FluidSynth could not render the music. <code>synth_failed</code>" in body
    assert "Back to the video" in body


def test_invalid_form_changes_nothing(client_user: Client, source_video: SourceVideo) -> None:
    response = client_user.post(f"/soundtrack/videos/{source_video.pk}/soundtracks/",
                                {"genre": "polka", "energy": "9", "mix": "replace"})
    assert response.status_code == 400
    assert (Soundtrack.objects.count(), Job.objects.count()) == (0, 0)
    assert "Select a valid choice" in response.content.decode()


def test_another_take_from_the_page(client_user: Client, source_video: SourceVideo,
                                    django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = soundtrack_create(user=source_video.user, video=source_video, genre="rock", energy=5)
        response = client_user.post(f"/soundtrack/tracks/{first.pk}/another-take/")
    second = Soundtrack.objects.exclude(pk=first.pk).get()
    assert response["Location"] == f"/soundtrack/tracks/{second.pk}/"
    assert (second.take, second.seed, second.genre, second.energy) == (2, 1, "rock", 5)


def test_pages_of_someone_else_are_not_found(client: Client, other_user: Any, source_video: SourceVideo) -> None:
    soundtrack = soundtrack_create(user=source_video.user, video=source_video)
    client.force_login(other_user)
    for url in (f"/soundtrack/videos/{source_video.pk}/", f"/soundtrack/tracks/{soundtrack.pk}/",
                f"/soundtrack/tracks/{soundtrack.pk}/video/"):
        assert client.get(url).status_code == 404
    assert client.post(f"/soundtrack/videos/{source_video.pk}/soundtracks/", {"genre": "auto", "energy": 3,
                                                                             "mix": "replace"}).status_code == 404
    assert Soundtrack.objects.count() == 1


def test_home_lists_recent_soundtracks(client_user: Client, source_video: SourceVideo) -> None:
    soundtrack_create(user=source_video.user, video=source_video)
    body = client_user.get("/soundtrack/").content.decode()
    assert "Recent soundtracks" in body and "Shapes" in body and "take 1" in body


def test_a_video_without_visual_beats_does_not_claim_a_hit_rate(client_user: Client, source_video: SourceVideo,
                                                                 django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        client_user.post(f"/soundtrack/videos/{source_video.pk}/soundtracks/", {"genre": "lofi", "energy": "2",
                                                                                 "mix": "replace"})
    soundtrack = Soundtrack.objects.get()
    result = soundtrack.job.result
    result["alignment"] = {**result["alignment"], "hit_rate": None, "beat_align": None, "f_measure": None,
                           "visual_beats": 0}
    Job.objects.filter(pk=soundtrack.job.pk).update(result=result)
    body = client_user.get(f"/soundtrack/tracks/{soundtrack.pk}/").content.decode()
    assert "The video has no visual beats to follow" in body
    assert "% of 0 visual beats" not in body
