"""A rendered person taking a real challenge through the services, live, driven by the cues.

The head of :mod:`charcha.testing.head3d` sits in front of a "page" that does what the capture page
does: it asks the cue endpoint's service every ``poll_s``, shows each revealed colour (with the
page's 200 ms fade) and prompt, and sends its camera frames in batches. The person acts each prompt
only after it is revealed, lit by whatever the page shows at that moment. Nothing of the schedule is
read from the database: what the head does follows from the cue answers alone, as in a browser.

Two clocks: :class:`SimulatedClock` (tests; every service call gets an injected ``now``, nothing
sleeps) and :class:`RealClock` (the demo; the server's own clock, the loop sleeps to keep time).
Test and demo material only: the server never imports it.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

import numpy as np
from django.contrib.auth.models import User
from PIL import Image

from charcha.models import Challenge
from charcha.notices import notice_current
from charcha.services import (
    Cue,
    IssuedChallenge,
    challenge_cue,
    challenge_finish,
    challenge_frames_add,
    challenge_issue,
)
from charcha.testing.head3d import Camera, HeadActor, HeadPose, HeadRenderer, Lighting, head_model
from charcha.vision.types import LightSegment


class Clock(Protocol):
    def issue_at(self) -> datetime | None: ...
    def start(self, issued_at: datetime) -> None: ...
    def now(self, t_s: float) -> datetime | None: ...
    def wait_until(self, t_s: float) -> None: ...
    def behind(self, t_s: float) -> float: ...


class SimulatedClock:
    """Challenge time is whatever the loop says: each service call is told its moment."""

    def __init__(self, issue_at: datetime | None = None) -> None:
        self.issued_at: datetime | None = None
        self._issue_at = issue_at

    def issue_at(self) -> datetime | None:
        from django.utils import timezone

        return self._issue_at or timezone.now()

    def start(self, issued_at: datetime) -> None:
        self.issued_at = issued_at

    def now(self, t_s: float) -> datetime | None:
        assert self.issued_at is not None
        return self.issued_at + timedelta(seconds=t_s)

    def wait_until(self, t_s: float) -> None:
        return None

    def behind(self, t_s: float) -> float:
        return 0.0


class RealClock:
    """The server's own clock (services get ``now=None``); the loop sleeps to keep real time."""

    def __init__(self) -> None:
        self.t0 = 0.0

    def issue_at(self) -> datetime | None:
        return None

    def start(self, issued_at: datetime) -> None:
        self.t0 = time.monotonic()

    def now(self, t_s: float) -> datetime | None:
        return None

    def wait_until(self, t_s: float) -> None:
        time.sleep(max(0.0, self.t0 + t_s - time.monotonic()))

    def behind(self, t_s: float) -> float:
        return max(0.0, time.monotonic() - self.t0 - t_s)


@dataclass
class LiveRun:
    """What happened: the challenge as decided, and what the page saw when."""

    challenge: Challenge
    prompts: list[tuple[float, str]] = field(default_factory=list)     # (page time, action) as revealed
    colours: list[tuple[float, tuple[int, int, int]]] = field(default_factory=list)
    frames: int = 0
    last_frame_s: float = 0.0
    finish_s: float = 0.0


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)
    return out.getvalue()


def still_photo_frames(renderer: HeadRenderer) -> Callable[[float, tuple[int, int, int]], np.ndarray]:
    """An attacker's still photo held to the camera: one picture that does not see the screen."""
    picture = renderer.render(HeadPose(), (236, 236, 230))
    return lambda t, rgb: picture


def attempt_live(*, user: User, clock: Clock, rng: random.Random, photo_rgb: np.ndarray,
                 size: tuple[int, int] = (320, 240), fps: float = 15.0, poll_s: float = 0.12,
                 batch_s: float = 0.5, upload_s: float = 0.06, display_lag_s: float = 0.1,
                 lighting: Lighting | None = None, attack: str = "", ip: str = "127.0.0.1",
                 user_agent: str = "encore-live-head", on_issue: Callable[[IssuedChallenge], None] | None = None,
                 max_s: float = 40.0) -> LiveRun:
    """Issue a challenge and take it with a rendered head (or ``attack="still_photo"``); returns
    after finishing (the verdict is decided inline when every batch was analysed in time)."""
    from charcha.vision.light import NEUTRAL_RGB, page_colour_at

    renderer = HeadRenderer(head_model(photo_rgb), size=size, lighting=lighting or Lighting())
    actor = HeadActor(rng, duration_s=max_s)
    camera = Camera(seed=rng.randrange(1 << 30))
    still = still_photo_frames(renderer) if attack == "still_photo" else None
    notice = notice_current()
    issued = challenge_issue(user=user, notice_version=notice.version, notice_sha256=notice.sha256, ip=ip,
                             user_agent=user_agent, now=clock.issue_at())
    if on_issue is not None:
        on_issue(issued)
    challenge = issued.challenge
    clock.start(challenge.issued_at)
    run = LiveRun(challenge=challenge)
    shown: list[LightSegment] = []     # the colours as the page showed them (from each change's poll)
    seen_steps: set[int] = set()
    pending: list[tuple[int, bytes]] = []
    seq = 0
    frame_dt, next_poll, next_batch = 1.0 / fps, 0.0, batch_s
    t = 0.0
    cue: Cue | None = None
    while t < max_s:
        if t >= next_poll:
            clock.wait_until(t)
            cue = challenge_cue(user=user, challenge_id=challenge.pk, nonce=issued.nonce, now=clock.now(t))
            next_poll += poll_s
            rgb = tuple(cue.rgb)
            if not run.colours or run.colours[-1][1] != rgb:
                run.colours.append((t, rgb))  # type: ignore[arg-type]
                if shown:
                    shown[-1] = LightSegment(shown[-1].rgb, shown[-1].start_s, t)
                shown.append(LightSegment(rgb, t, t + 3600))  # type: ignore[arg-type]
            if cue.step_index is not None and cue.step_index not in seen_steps and cue.action:
                seen_steps.add(cue.step_index)
                run.prompts.append((t, cue.action))
                actor.cue(cue.action, t)
            if cue.done:
                break
        clock.wait_until(t)
        colour = page_colour_at(shown, t - display_lag_s, neutral=NEUTRAL_RGB)
        if still is not None:
            image = still(t, NEUTRAL_RGB)
        else:
            image = renderer.render(actor.pose(t), tuple(int(round(c)) for c in colour))  # type: ignore[arg-type]
        pending.append((round(t * 1000), jpeg(camera.capture(image, t))))
        run.frames += 1
        run.last_frame_s = t
        if t >= next_batch and pending:
            challenge = _send(user, issued, seq, pending, clock, t + upload_s)
            seq, pending, next_batch = seq + 1, [], next_batch + batch_s
        t = round(t + frame_dt, 6)
        # A camera that cannot keep up drops frames; it never delivers old ones late.
        lag = clock.behind(t)
        if lag > frame_dt:
            t = round(t + frame_dt * int(lag / frame_dt), 6)
    if pending:
        challenge = _send(user, issued, seq, pending, clock, run.last_frame_s + upload_s)
    run.finish_s = run.last_frame_s + upload_s + 0.02
    clock.wait_until(run.finish_s)
    run.challenge = challenge_finish(user=user, challenge_id=challenge.pk, nonce=issued.nonce,
                                     now=clock.now(run.finish_s))
    return run


def _send(user: User, issued: IssuedChallenge, seq: int, frames: list[tuple[int, bytes]], clock: Clock,
          at_s: float) -> Any:
    clock.wait_until(at_s)
    return challenge_frames_add(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, seq=seq,
                                capture_ms=[t for t, _ in frames], frames=[data for _, data in frames],
                                now=clock.now(at_s))
