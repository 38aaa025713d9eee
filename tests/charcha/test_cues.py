"""The secret schedule and its real-time reveal: nothing before its time, reveal times recorded once."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from charcha.models import Challenge
from charcha.services import (
    NEUTRAL_RGB,
    IssuedChallenge,
    challenge_cue,
    challenge_windows,
)
from charcha.vision.challenge import EXPRESSIONS
from tests.charcha.conftest import at, issue

pytestmark = pytest.mark.django_db


def cue(user: User, issued: IssuedChallenge, ms: int) -> Any:
    return challenge_cue(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce,
                         now=at(issued.challenge, ms))


def test_the_schedule_is_a_light_phase_then_steps_with_a_blink_and_an_expression(user: User) -> None:
    challenge = issue(user, timezone.now()).challenge
    light, steps = challenge.light, challenge.steps
    assert 4 <= len(light) <= 6
    assert light[0]["start_s"] == 0.5
    assert all(0.6 <= seg["end_s"] - seg["start_s"] <= 1.0 for seg in light)
    assert all(a["end_s"] == b["start_s"] for a, b in itertools.pairwise(light))
    assert steps[0]["start_s"] >= light[-1]["end_s"] + 0.4
    actions = [s["action"] for s in steps]
    assert "blink" in actions and any(a in EXPRESSIONS for a in actions)


def test_the_page_s_neutral_light_is_the_one_the_light_judge_models() -> None:
    from charcha.vision import light

    assert light.NEUTRAL_RGB == NEUTRAL_RGB
    assert light.light_safety_problems(issue_plan()) == []


def issue_plan() -> list[tuple[tuple[int, int, int], float, float]]:
    from charcha.services import challenge_schedule_new

    _, planned, _ = challenge_schedule_new()
    assert planned
    return [(tuple(seg["rgb"]), seg["start_s"], seg["end_s"]) for seg in planned]  # type: ignore[misc]


def test_nothing_is_answered_before_its_planned_time(user: User) -> None:
    issued = issue(user, timezone.now())
    challenge = issued.challenge
    light, steps = challenge.light, challenge.steps
    first = cue(user, issued, 100)
    assert (first.phase, first.rgb, first.step_index, first.action, first.done) == ("light", NEUTRAL_RGB, None,
                                                                                    None, False)
    seg_ms = round(light[1]["start_s"] * 1000)
    assert cue(user, issued, seg_ms - 1).rgb == tuple(light[0]["rgb"])
    assert cue(user, issued, seg_ms).rgb == tuple(light[1]["rgb"])
    step_ms = round(steps[0]["start_s"] * 1000)
    before = cue(user, issued, step_ms - 1)
    assert (before.phase, before.rgb, before.step_index, before.action) == ("steps", NEUTRAL_RGB, None, None)
    shown = cue(user, issued, step_ms + 10)
    length_ms = round((steps[0]["end_s"] - steps[0]["start_s"]) * 1000)
    # Revealed by this poll: the whole window lies ahead, counted from now.
    assert (shown.step_index, shown.action, shown.ms_left, shown.step_count) == (
        0, steps[0]["action"], length_ms, len(steps))
    assert cue(user, issued, step_ms + 510).ms_left == length_ms - 500
    # Never the next step early, whoever asks how often.
    assert cue(user, issued, round(steps[1]["start_s"] * 1000) - 1).action in (None, steps[0]["action"])


def test_reveal_times_are_recorded_once_and_windows_count_from_them(user: User) -> None:
    issued = issue(user, timezone.now())
    challenge = issued.challenge
    steps = challenge.steps
    late_ms = round(steps[0]["start_s"] * 1000) + 300      # the page's first poll after the start was late
    cue(user, issued, late_ms)
    challenge.refresh_from_db()
    revealed = list(challenge.reveals_ms)
    assert revealed[-1] == late_ms
    assert challenge.cue_count == len(challenge.light) + 2
    cue(user, issued, late_ms + 500)
    challenge.refresh_from_db()
    assert challenge.reveals_ms == revealed           # a later poll changes nothing
    shown_steps, shown_light = challenge_windows(challenge)
    length = steps[0]["end_s"] - steps[0]["start_s"]
    assert shown_steps[0]["start_s"] == late_ms / 1000
    assert shown_steps[0]["end_s"] == pytest.approx(late_ms / 1000 + length, abs=1e-3)
    # The light segments all came due at this one poll: never shown, so none is judged.
    assert shown_light == []
    # Steps not revealed keep their planned windows.
    assert shown_steps[1] == {"action": steps[1]["action"], "start_s": steps[1]["start_s"],
                              "end_s": pytest.approx(steps[1]["end_s"], abs=1e-3)}


def test_light_segments_last_from_their_reveal_to_the_next(user: User) -> None:
    issued = issue(user, timezone.now())
    challenge = issued.challenge
    light = challenge.light
    polls = [round(seg["start_s"] * 1000) + 40 for seg in light] + [round(light[-1]["end_s"] * 1000) + 40]
    for ms in polls:
        cue(user, issued, ms)
    challenge.refresh_from_db()
    _, shown = challenge_windows(challenge)
    assert [seg["rgb"] for seg in shown] == [seg["rgb"] for seg in light]
    assert [(seg["start_s"], seg["end_s"]) for seg in shown] == [
        (a / 1000, b / 1000) for a, b in itertools.pairwise(polls)]


def test_the_cue_says_done_after_the_last_window_and_its_tail(user: User) -> None:
    issued = issue(user, timezone.now())
    steps = issued.challenge.steps
    for step in steps:
        cue(user, issued, round(step["start_s"] * 1000))
    last_end = round(steps[-1]["end_s"] * 1000)
    assert not cue(user, issued, last_end + 599).done
    done = cue(user, issued, last_end + 600)
    assert (done.done, done.phase, done.step_index) == (True, "done", None)


def test_a_cue_is_one_read_and_at_most_one_conditional_update(user: User) -> None:
    issued = issue(user, timezone.now())
    step_ms = round(issued.challenge.steps[0]["start_s"] * 1000)
    with CaptureQueriesContext(connection) as first:
        cue(user, issued, step_ms)
    with CaptureQueriesContext(connection) as again:
        cue(user, issued, step_ms + 120)
    assert [q["sql"].split()[0] for q in first.captured_queries] == ["SELECT", "UPDATE"]
    assert [q["sql"].split()[0] for q in again.captured_queries] == ["SELECT"]


def test_two_polls_at_once_keep_the_first_reveal(user: User) -> None:
    issued = issue(user, timezone.now())
    step_ms = round(issued.challenge.steps[0]["start_s"] * 1000)
    stale = Challenge.objects.get(pk=issued.challenge.pk)   # read before the other poll wrote
    cue(user, issued, step_ms)
    from charcha.services import _cue_at, _reveal

    reveals = _reveal(stale, step_ms + 50)                    # its conditional UPDATE matches nothing
    assert reveals[-1] == step_ms
    assert _cue_at(stale, reveals, step_ms + 50).action == issued.challenge.steps[0]["action"]


def cue_url(challenge_id: object) -> str:
    return f"/api/consent/challenges/{challenge_id}/cue/"


def test_the_cue_api_needs_the_nonce_and_the_owner(api_user: APIClient, user: User, other_user: User) -> None:
    # Issued "in a minute", so however slow this test runs, nothing of the schedule is due yet.
    issued = issue(user, timezone.now() + timedelta(minutes=1))
    ok = api_user.get(cue_url(issued.challenge.pk), HTTP_X_CHALLENGE_NONCE=issued.nonce)
    assert ok.status_code == 200, ok.content
    assert ok["Cache-Control"] == "no-store"
    body = ok.json()
    assert set(body) == {"t_ms", "phase", "light", "step", "step_count", "done"}
    assert body["light"] == {"rgb": list(NEUTRAL_RGB), "index": None} and body["step"] is None
    missing = api_user.get(cue_url(issued.challenge.pk))
    assert (missing.status_code, missing.json()["code"]) == (400, "nonce_missing")
    wrong = api_user.get(cue_url(issued.challenge.pk), HTTP_X_CHALLENGE_NONCE="x" * 43)
    assert (wrong.status_code, wrong.json()["code"]) == (403, "nonce_mismatch")
    other = APIClient()
    other.force_login(other_user)
    theirs = other.get(cue_url(issued.challenge.pk), HTTP_X_CHALLENGE_NONCE=issued.nonce)
    assert (theirs.status_code, theirs.json()["code"]) == (404, "challenge_not_found")
    Challenge.objects.filter(pk=issued.challenge.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    gone = api_user.get(cue_url(issued.challenge.pk), HTTP_X_CHALLENGE_NONCE=issued.nonce)
    assert (gone.status_code, gone.json()["code"]) == (410, "challenge_expired")


def test_the_cue_api_shows_a_step_with_its_prompt_once_it_has_begun(api_user: APIClient, user: User) -> None:
    issued = issue(user, timezone.now() - timedelta(seconds=30))
    step = issued.challenge.steps[0]
    # Issued 30 s ago: every item is due, so the last step shows (or the challenge is done).
    Challenge.objects.filter(pk=issued.challenge.pk).update(
        steps=[{**step, "start_s": 29.9, "end_s": 32.0}], light=[])
    body = api_user.get(cue_url(issued.challenge.pk), HTTP_X_CHALLENGE_NONCE=issued.nonce).json()
    assert body["phase"] == "steps"
    assert body["step"]["action"] == step["action"] and body["step"]["prompt"]
    assert 1000 < body["step"]["ms_left"] <= 2100


def test_fixed_steps_without_room_for_a_light_phase_have_none_and_windows_still_count(
        user: User, settings: Any) -> None:
    settings.CHARCHA_TEST_FIXED_STEPS = [{"action": "blink", "start_s": 1.0, "end_s": 3.0},
                                         {"action": "smile", "start_s": 3.5, "end_s": 5.5},
                                         {"action": "look_up", "start_s": 6.0, "end_s": 8.0},
                                         {"action": "turn_left", "start_s": 8.5, "end_s": 10.5}]
    issued = issue(user, timezone.now())
    assert issued.challenge.light == []
    first = cue(user, issued, 1100)
    assert (first.phase, first.rgb, first.action) == ("steps", NEUTRAL_RGB, "blink")
    issued.challenge.refresh_from_db()
    steps, light = challenge_windows(issued.challenge)
    assert light == []
    assert steps[0] == {"action": "blink", "start_s": 1.1, "end_s": pytest.approx(3.1)}
    assert steps[1]["start_s"] == 3.5
