"""Helpers for CHARCHA tests: JPEG frames, issuing and streaming challenges on an injected clock."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.contrib.auth.models import User
from PIL import Image

from charcha.models import Challenge
from charcha.notices import notice_current
from charcha.services import IssuedChallenge, challenge_frames_add, challenge_issue
from charcha.vision import StepResult, Verdict

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "charcha"


def jpeg(seed: int, size: tuple[int, int] = (160, 120)) -> bytes:
    """A distinct small JPEG (noise), so replay detection never confuses two test frames."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=80)
    return out.getvalue()


def issue(user: User, now: datetime) -> IssuedChallenge:
    notice = notice_current()
    return challenge_issue(user=user, notice_version=notice.version, notice_sha256=notice.sha256,
                           ip="203.0.113.7", user_agent="pytest-browser/1.0", now=now)


def at(challenge: Challenge, ms: int) -> datetime:
    return challenge.issued_at + timedelta(milliseconds=ms)


def stream(user: User, issued: IssuedChallenge, times_ms: Sequence[int], frames: Sequence[bytes] | None = None, *,
           batch: int = 15, lag_ms: int = 60, seed: int = 0) -> Challenge:
    """Send frames in batches, each batch received ``lag_ms`` after its last frame was captured."""
    frames = list(frames) if frames is not None else [jpeg(seed * 100_000 + i) for i in range(len(times_ms))]
    challenge = issued.challenge
    for seq, start in enumerate(range(0, len(times_ms), batch)):
        chunk = list(times_ms[start:start + batch])
        challenge = challenge_frames_add(user=user, challenge_id=challenge.pk, nonce=issued.nonce, seq=seq,
                                         capture_ms=chunk, frames=frames[start:start + batch],
                                         now=at(challenge, chunk[-1] + lag_ms))
    return challenge


def cadence(n: int, step_ms: int = 67, start_ms: int = 0) -> list[int]:
    return [start_ms + i * step_ms for i in range(n)]


def passing_verdict(challenge: Challenge, keep: Sequence[int] = (1, 4, 7)) -> Verdict:
    """A verdict as the engine returns it for a pass (for tests of what the service does with one)."""
    steps = tuple(StepResult(action=s["action"], seen=True, seen_at_s=s["start_s"] + 0.4, peak_signal=1.8)
                  for s in challenge.steps)
    return Verdict(passed=True, reason="passed", message="Thank you.", steps=steps,
                   training_frame_indices=tuple(keep), embedding=np.linspace(-1, 1, 128, dtype=np.float32),
                   frame_count=challenge.frame_count)


def failing_verdict(challenge: Challenge, reason: str = "action_missed") -> Verdict:
    steps = tuple(StepResult(action=s["action"], seen=False, seen_at_s=None, peak_signal=0.2) for s in challenge.steps)
    return Verdict(passed=False, reason=reason, message="We did not see you look up while that prompt was showing.",
                   steps=steps, training_frame_indices=(), embedding=None, frame_count=challenge.frame_count)


@pytest.fixture(autouse=True)
def _finish_without_waiting(settings: Any) -> None:
    # Unit tests run tasks eagerly or not at all: nothing analyses a batch while finish waits.
    settings.CHARCHA_FINISH_WAIT_MS = 0


@pytest.fixture
def media_root(settings: object) -> Path:
    return Path(settings.MEDIA_ROOT)  # type: ignore[attr-defined]


def tables_holding(needle: bytes) -> list[str]:
    """Every table.column whose stored value contains ``needle`` (raw bytes, or its hex/base64 text).

    A scan of the whole database, every app's tables, through raw SQL: it sees what is stored,
    whatever model or field would normally hide it.
    """
    import base64

    from django.db import connection

    texts = (needle.hex(), base64.b64encode(needle).decode())
    found = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f'SELECT * FROM "{table}"')  # table names come from the schema itself
            columns = [c[0] for c in cursor.description]
            for row in cursor.fetchall():
                for column, value in zip(columns, row, strict=True):
                    raw = isinstance(value, memoryview | bytes | bytearray) and needle in bytes(value)
                    text = isinstance(value, str) and any(t in value for t in texts)
                    if raw or text:
                        found.append(f"{table}.{column}")
    return sorted(set(found))
