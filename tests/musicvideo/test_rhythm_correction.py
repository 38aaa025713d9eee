"""The user's correction of beats and bars, through the API and the song page.

The song is the 24-second synthetic song through the real analysis; every refusal asserts that
nothing changed (no row, no job, no field of the song or its analysis).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from jobs.models import Job
from musicvideo.models import Scene, Song, SongAnalysis, Storyboard
from tests.musicvideo.test_analysis_api import analysed_song, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def song(api_user: APIClient, django_capture_on_commit_callbacks, settings) -> Song:
    settings.MUSICVIDEO_TRANSCRIBE = False
    return analysed_song(api_user, django_capture_on_commit_callbacks)


def rhythm_of(song: Song) -> tuple[Any, ...]:
    a = song.analyses.order_by("-created_at").first()
    assert a is not None
    song.refresh_from_db()
    return (song.bar_shift, song.tempo_level, a.tempo_bpm, a.beats, a.downbeats, a.sections, a.rhythm_found)


def shifted(found: dict[str, Any], k: int) -> list[float]:
    """The downbeats found, each ``k`` beats later (and one bar start earlier where it fits)."""
    beats = found["beats"]
    starts = [beats.index(d) + k for d in found["downbeats"]]
    if k and starts[0] - 4 >= 0:
        starts.insert(0, starts[0] - 4)
    return [beats[i] for i in starts if i < len(beats)]


def test_moving_the_bars_rewrites_the_storyboard_and_keeps_edited_prompts(
        api_user: APIClient, song: Song, django_capture_on_commit_callbacks) -> None:
    analysis = song.analyses.get()
    found = dict(analysis.rhythm_found)
    assert (found["beats"], found["downbeats"], found["tempo_bpm"]) == (analysis.beats, analysis.downbeats,
                                                                        analysis.tempo_bpm)
    style = Storyboard.objects.get(song=song).style
    assert api_user.patch(f"/api/songs/{song.pk}/storyboard/scenes/1/", {"prompt": "They dance in the rain."},
                          format="json").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = api_user.put(f"/api/songs/{song.pk}/rhythm/", {"bar_shift": 1, "tempo": "found"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["downbeats"] == shifted(found, 1) and body["beats"] == found["beats"]
    assert body["rhythm_found"] == found
    assert all(s["start_s"] == 0.0 or s["start_s"] in body["downbeats"] for s in body["sections"])
    song.refresh_from_db()
    assert (song.bar_shift, song.tempo_level) == (1, "found")
    job = Job.objects.filter(kind=Job.Kind.STORYBOARD).get()
    assert (job.status, job.params["style"]) == (Job.Status.SUCCEEDED, style)
    latest = api_user.get(f"/api/songs/{song.pk}/storyboard/").json()
    assert [(s["index"], s["prompt"]) for s in latest["scenes"] if s["prompt_edited"]] == [
        (1, "They dance in the rain.")]
    # "As found" undoes it exactly.
    with django_capture_on_commit_callbacks(execute=True):
        assert api_user.put(f"/api/songs/{song.pk}/rhythm/", {"bar_shift": 0, "tempo": "found"},
                            format="json").status_code == 200
    analysis.refresh_from_db()
    assert (analysis.beats, analysis.downbeats, analysis.tempo_bpm) == (found["beats"], found["downbeats"],
                                                                         found["tempo_bpm"])


def test_double_tempo_and_a_new_analysis_keeps_the_correction(
        api_user: APIClient, song: Song, django_capture_on_commit_callbacks) -> None:
    found = dict(song.analyses.get().rhythm_found)
    with django_capture_on_commit_callbacks(execute=True):
        body = api_user.put(f"/api/songs/{song.pk}/rhythm/", {"tempo": "double"}, format="json").json()
    assert body["tempo_bpm"] == pytest.approx(2 * found["tempo_bpm"], abs=0.01)
    assert len(body["beats"]) == 2 * len(found["beats"]) - 1
    assert body["beats"][::2] == found["beats"]
    with django_capture_on_commit_callbacks(execute=True):
        assert api_user.post(f"/api/songs/{song.pk}/analysis/").status_code == 202
    assert song.analyses.count() == 2
    again = song.analyses.order_by("-created_at").first()
    assert again is not None and again.is_complete
    assert again.rhythm_found["beats"] == found["beats"]
    assert (again.beats, again.downbeats, again.tempo_bpm) == (body["beats"], body["downbeats"], body["tempo_bpm"])


@pytest.mark.parametrize(("data", "status", "code"), [
    ({"bar_shift": 4, "tempo": "found"}, 400, "bar_shift_invalid"),
    ({"bar_shift": -1, "tempo": "found"}, 400, "bar_shift_invalid"),
    ({"bar_shift": "one", "tempo": "found"}, 400, "invalid"),
    ({"bar_shift": 1, "tempo": "triple"}, 400, "invalid_choice"),
])
def test_bad_corrections_change_nothing(api_user: APIClient, song: Song, data: dict[str, Any], status: int,
                                        code: str) -> None:
    before, rhythm = snapshot(), rhythm_of(song)
    response = api_user.put(f"/api/songs/{song.pk}/rhythm/", data, format="json")
    assert (response.status_code, response.json()["code"]) == (status, code)
    assert (snapshot(), rhythm_of(song)) == (before, rhythm)


def test_a_correction_while_a_storyboard_is_written_is_refused(api_user: APIClient, song: Song) -> None:
    # Without executing on-commit callbacks the storyboard job stays queued.
    assert api_user.post(f"/api/songs/{song.pk}/storyboard/", {"style": "anime"}, format="json").status_code == 202
    before, rhythm = snapshot(), rhythm_of(song)
    response = api_user.put(f"/api/songs/{song.pk}/rhythm/", {"bar_shift": 2}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "storyboard_running")
    assert (snapshot(), rhythm_of(song)) == (before, rhythm)


def test_a_song_not_analysed_yet_cannot_be_corrected(api_user: APIClient, song: Song) -> None:
    SongAnalysis.objects.filter(song=song).update(completed_at=None)
    before = snapshot()
    response = api_user.put(f"/api/songs/{song.pk}/rhythm/", {"bar_shift": 1}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "analysis_not_ready")
    assert snapshot() == before
    assert Song.objects.get(pk=song.pk).bar_shift == 0


def test_another_users_song_is_not_found(song: Song, other_user) -> None:
    intruder = APIClient()
    intruder.force_login(other_user)
    before, rhythm = snapshot(), rhythm_of(song)
    assert intruder.put(f"/api/songs/{song.pk}/rhythm/", {"bar_shift": 1}, format="json").status_code == 404
    assert (snapshot(), rhythm_of(song)) == (before, rhythm)


def test_the_song_page_offers_and_applies_the_correction(client_user: Client, song: Song,
                                                         django_capture_on_commit_callbacks) -> None:
    page = client_user.get(f"/songs/{song.pk}/").content.decode()
    assert 'name="bar_shift"' in page and "3 beats later" in page and "twice as fast" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client_user.post(f"/songs/{song.pk}/rhythm/", {"bar_shift": "3", "tempo": "half"}, follow=True)
    assert response.redirect_chain[-1][0].endswith(f"/songs/{song.pk}/#beat")
    page = response.content.decode()
    assert "Beats and bars updated." in page
    assert '<option value="3" selected>' in page and '<option value="half" selected>' in page
    song.refresh_from_db()
    assert (song.bar_shift, song.tempo_level) == (3, "half")
    assert Scene.objects.filter(storyboard__song=song).exists()


def test_the_correction_already_applied_writes_nothing_again(client_user: Client, song: Song) -> None:
    before, rhythm = snapshot(), rhythm_of(song)
    response = client_user.post(f"/songs/{song.pk}/rhythm/", {"bar_shift": "0", "tempo": "found"}, follow=True)
    assert "Beats and bars are already so." in response.content.decode()
    assert (snapshot(), rhythm_of(song)) == (before, rhythm)


def test_the_song_page_says_why_a_correction_was_refused(client_user: Client, song: Song) -> None:
    before, rhythm = snapshot(), rhythm_of(song)
    response = client_user.post(f"/songs/{song.pk}/rhythm/", {"bar_shift": "9", "tempo": "found"}, follow=True)
    assert "code-bar_shift_invalid" in response.content.decode()
    assert (snapshot(), rhythm_of(song)) == (before, rhythm)
