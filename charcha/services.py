"""CHARCHA business logic: issue a challenge, reveal it cue by cue, take and analyse its frames,
decide, record consent, erase.

The schedule (light segments, then steps) stays on the server; the cue service reveals each item
when its planned time has come and records when it did, and the verdict counts every window from
those reveals. Each batch of frames is analysed as it arrives (task ``charcha.analyse_batch``), so
finishing only decides.

Every state change of a challenge or a consent record is a conditional UPDATE whose WHERE clause
names the state it expects; ``updated != 1`` means another request or worker got there first.
That is what makes a challenge single-use and lets two concurrent completions produce at most one
pass, on SQLite and Postgres alike. Times come from the server clock (``now`` is injectable for
tests and benches; views never pass it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from charcha.chain import ChainEvent, ChainReport, chain_next, chain_verify, format_time
from charcha.crypto import CryptoError, decrypt_blob, encrypt_blob
from charcha.erasure import erasure_hooks
from charcha.errors import ChallengeError, ChallengeLocked, ConsentError
from charcha.keys import audit_seal_key, user_data_key, user_data_key_destroy
from charcha.models import (
    CaptureBatch,
    CaptureFrame,
    Challenge,
    ChallengeLockout,
    ConsentEvent,
    ConsentRecord,
    EvidenceView,
    IdentityTemplate,
    SecurityEvent,
    SeenFrameDigest,
)
from charcha.notices import CURRENT_VERSION, NoticeError, notice_get
from charcha.timing import TimingRules, check_capture_times
from jobs.context import JobContext
from jobs.errors import JobCancelled, JobLost
from jobs.models import Job
from jobs.ratelimit import rate_limit
from jobs.services import job_create

if TYPE_CHECKING:
    from charcha.vision import CapturedFrame, ChallengeStep, Verdict
    from charcha.vision.stream import FrameObservation
    from charcha.vision.types import LightSegment

logger = logging.getLogger(__name__)

ACTIONS = ("turn_left", "turn_right", "look_up", "look_down", "blink", "open_mouth", "smile")
MAX_RETENTION_DAYS = 3 * 365
VERIFY_TASK = "charcha.verify_challenge"
# Failures that say nothing about the person in front of the camera do not count towards a lockout.
NOT_COUNTED_FAILURES = ("internal_error", "consent_already_active")
# The light phase starts this long after issue (the page needs a moment to start its camera loop);
# the first step comes this long after the light phase ends (the last colour fades to neutral).
LIGHT_START_S = 0.5
STEPS_AFTER_LIGHT_S = (0.4, 0.7)
# The steady white-ish light the page shows outside the coloured segments; the light judge models
# the same (charcha.vision.light.NEUTRAL_RGB, a test keeps them equal without importing the engine here).
NEUTRAL_RGB = (236, 236, 230)
JPEG_MAGIC = b"\xff\xd8\xff"
# From notice version 2 a pass also keeps short runs of consecutive frames around the moves seen:
# video models (personalize, Wan) learn how the person moves from them. ~1.1 s each at 15 fps.
TRAINING_RUNS_FROM_NOTICE = 2
TRAINING_RUN_FRAMES = 17
TRAINING_RUNS_MAX = 3


class Verifier(Protocol):
    """The streaming half of ``charcha.vision.LivenessVerifier`` this module uses."""

    def analyse_batch(self, frames: Sequence[CapturedFrame], *, first_index: int) -> list[FrameObservation]: ...

    def decide(self, observations: Sequence[FrameObservation], steps: Sequence[ChallengeStep], *,
               light: Sequence[LightSegment] = ..., reference_embedding: np.ndarray | None = ...,
               load_images: Callable[[Sequence[int]], list[np.ndarray]] | None = ...) -> Verdict: ...


@dataclass(frozen=True)
class IssuedChallenge:
    challenge: Challenge
    nonce: str  # given to the browser once; only its hash is stored


@dataclass(frozen=True)
class EvidenceThumbnail:
    index: int
    capture_ms: int
    sha256: str
    data_uri: str


# ------------------------------------------------------------------------------------------ helpers
def _now(now: datetime | None) -> datetime:
    return now if now is not None else timezone.now()


def _sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def _ms_between(start: datetime, end: datetime) -> int:
    # Integer arithmetic on microseconds: float seconds * 1000 can land a hair under a whole ms.
    return (end - start) // timedelta(milliseconds=1)


def timing_rules() -> TimingRules:
    return TimingRules(max_lag_ms=settings.CHARCHA_MAX_CAPTURE_LAG_MS)


def capture_settings() -> dict[str, Any]:
    """What the browser needs to capture the way the server checks (sent with each challenge)."""
    rules = timing_rules()
    return {"fps": settings.CHARCHA_CAPTURE_FPS, "max_side": settings.CHARCHA_CAPTURE_MAX_SIDE,
            # About 30 KB a 640x480 frame: ~3.5 Mbit/s up at 15 fps, sharp enough for training.
            # Half-second batches: each is analysed as it arrives, and the last one, analysed after
            # the last frame, stays small enough for the verdict to follow within ~0.3 s.
            "jpeg_quality": 0.8, "batch_ms": 500, "max_lag_ms": rules.max_lag_ms,
            # The page spaces frames wider than the server's floor: the engine reads bursts as re-timing.
            "min_interval_ms": max(rules.min_interval_ms, round(600 / settings.CHARCHA_CAPTURE_FPS)),
            "max_frames_per_batch": rules.max_frames_per_batch,
            "tail_s": 0.6}


def _fixed_steps_allowed() -> bool:
    # The test hook is honoured only on a development machine or under Django's test environment
    # (setup_test_environment installs mail.outbox); never in a DEBUG-off deployment.
    from django.core import mail

    return bool(settings.DEBUG) or hasattr(mail, "outbox")


def _validate_steps(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    previous_end = 0.0
    for step in steps:
        action, start, end = step["action"], float(step["start_s"]), float(step["end_s"])
        if action not in ACTIONS or not (previous_end <= start < end):
            raise ChallengeError("The configured challenge steps are not valid.", code="steps_invalid",
                                 http_status=500)
        out.append({"action": action, "start_s": round(start, 3), "end_s": round(end, 3)})
        previous_end = end
    return out


def _light_json(segments: Sequence[tuple[tuple[int, int, int], float, float]]) -> list[dict[str, Any]]:
    return [{"rgb": [int(c) for c in rgb], "start_s": round(float(start), 3), "end_s": round(float(end), 3)}
            for rgb, start, end in segments]


def challenge_schedule_new(*, fixed_steps: list[dict[str, Any]] | None = None,
                           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], str]:
    """The secret schedule: (steps, light segments, steps source), all planned in seconds after issue.

    Random: the light phase first (while the face is still and frontal), then the steps, drawn with
    cryptographic randomness. Fixed steps (a trusted caller, or the settings' test hook) keep
    their times; they get a light phase only when it fits before their first step.
    """
    from charcha.vision import generate_steps
    from charcha.vision.light import generate_light_sequence

    # SystemRandom draws from os.urandom: no seed or state to predict the next challenge from.
    rng = secrets.SystemRandom()
    light = _light_json(generate_light_sequence(rng, start_s=LIGHT_START_S))
    light_end = light[-1]["end_s"] if light else 0.0
    fixed = fixed_steps or settings.CHARCHA_TEST_FIXED_STEPS
    if fixed:
        if _fixed_steps_allowed():
            steps = _validate_steps(list(fixed))
            if steps[0]["start_s"] < light_end + STEPS_AFTER_LIGHT_S[0]:
                light = []
            return steps, light, Challenge.StepsSource.FIXED
        logger.critical("CHARCHA_TEST_FIXED_STEPS is set on a DEBUG-off deployment; ignoring it")
    lead_in = (light_end + STEPS_AFTER_LIGHT_S[0], light_end + STEPS_AFTER_LIGHT_S[1])
    drawn = generate_steps(rng, n_steps=max(4, settings.CHARCHA_CHALLENGE_STEPS), lead_in_s=lead_in)
    steps = _validate_steps([{"action": s.action, "start_s": s.start_s, "end_s": s.end_s} for s in drawn])
    return steps, light, Challenge.StepsSource.RANDOM


# ------------------------------------------------------------------------------------------ cues
# The schedule as one timeline: each light segment, the return to neutral light, then each step.
# An item is revealed by the first cue request at or after its planned start; its reveal time is
# what the verdict counts from (a late poll shifts the window, it never shortens it).
@dataclass(frozen=True)
class _Item:
    kind: str          # "light", "neutral" or "step"
    index: int         # into challenge.light / challenge.steps
    planned_ms: int    # planned start, ms after issue
    length_ms: int     # planned length


def _timeline(challenge: Challenge) -> list[_Item]:
    items = [_Item("light", i, round(seg["start_s"] * 1000), round((seg["end_s"] - seg["start_s"]) * 1000))
             for i, seg in enumerate(challenge.light)]
    if challenge.light:
        items.append(_Item("neutral", 0, round(challenge.light[-1]["end_s"] * 1000), 0))
    items += [_Item("step", i, round(st["start_s"] * 1000), round((st["end_s"] - st["start_s"]) * 1000))
              for i, st in enumerate(challenge.steps)]
    return items


def challenge_duration_ms(challenge: Challenge) -> int:
    """Planned length of the recording: to the end of the last step's window plus the tail."""
    return round((challenge.steps[-1]["end_s"] + capture_settings()["tail_s"]) * 1000) if challenge.steps else 0


@dataclass(frozen=True)
class Cue:
    t_ms: int                           # server time of this answer, ms after issue
    phase: str                          # "light", "steps" or "done"
    rgb: tuple[int, int, int]           # the colour the page shows now
    light_index: int | None             # which coloured segment, None for neutral
    step_index: int | None              # the step shown now (None between steps)
    action: str | None
    ms_left: int | None                 # of the shown step's window
    step_count: int
    done: bool                          # the last window has closed: stop recording and finish


# A step is never revealed while the previous one's window (counted from its own, maybe late,
# reveal) is still open, and this long after it closes at the earliest: windows never overlap.
MIN_STEP_GAP_MS = 300


def _reveal(challenge: Challenge, now_ms: int) -> list[int]:
    """Record the reveal time of every item that has come due; returns the stored reveal times."""
    items = _timeline(challenge)
    reveals = list(challenge.reveals_ms)
    new = list(reveals)
    last_step_end: int | None = None
    for k, item in enumerate(items):
        at_ms = new[k] if k < len(new) else None
        if at_ms is None:
            due_ms = item.planned_ms
            if item.kind == "step" and last_step_end is not None:
                due_ms = max(due_ms, last_step_end + MIN_STEP_GAP_MS)
            if now_ms < due_ms:
                break
            new.append(now_ms)
            at_ms = now_ms
        if item.kind == "step":
            last_step_end = at_ms + item.length_ms
    due = len(new)
    if due <= challenge.cue_count:
        return reveals
    # The only write of a cue request; of two polls at once one wins and both answer its times.
    updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.OPEN,
                                       cue_count=challenge.cue_count).update(cue_count=due, reveals_ms=new)
    if updated == 1:
        challenge.cue_count, challenge.reveals_ms = due, new
        return new
    challenge.refresh_from_db(fields=["cue_count", "reveals_ms", "state"])
    return list(challenge.reveals_ms)


def _cue_at(challenge: Challenge, reveals: Sequence[int], now_ms: int) -> Cue:
    items = _timeline(challenge)
    revealed = items[:len(reveals)]
    rgb, light_index = NEUTRAL_RGB, None
    step: tuple[int, int] | None = None   # (index, window end ms)
    for item, at_ms in zip(revealed, reveals, strict=False):
        if item.kind == "light":
            rgb, light_index = tuple(challenge.light[item.index]["rgb"]), item.index  # type: ignore[assignment]
        elif item.kind == "neutral":
            rgb, light_index = NEUTRAL_RGB, None
        else:
            step = (item.index, at_ms + item.length_ms)
    steps_total = len(challenge.steps)
    shown = step is not None and now_ms < step[1]
    last_end = step[1] if step is not None and step[0] == steps_total - 1 else None
    done = last_end is not None and now_ms >= last_end + round(capture_settings()["tail_s"] * 1000)
    kinds = {item.kind for item in revealed}
    phase = "done" if done else ("steps" if kinds & {"neutral", "step"} or not challenge.light else "light")
    index = step[0] if shown and step is not None else None
    return Cue(t_ms=now_ms, phase=phase, rgb=rgb, light_index=light_index, step_index=index,
               action=challenge.steps[index]["action"] if index is not None else None,
               ms_left=(step[1] - now_ms) if shown and step is not None else None,
               step_count=steps_total, done=done)


def challenge_cue(*, user: User, challenge_id: Any, nonce: str, now: datetime | None = None) -> Cue:
    """What the page shows now: the current light colour and step, each only once its time has come.

    Cheap by design (the page asks ~8 times a second): one indexed read and, only when an item is
    revealed for the first time, one conditional UPDATE.
    """
    now = _now(now)
    challenge = _user_challenge(user=user, challenge_id=challenge_id)
    _check_nonce(challenge, nonce)
    _require_open(challenge, now)
    now_ms = _ms_between(challenge.issued_at, now)
    return _cue_at(challenge, _reveal(challenge, now_ms), now_ms)


def challenge_windows(challenge: Challenge) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(steps, light) as they were shown: windows counted from each item's recorded reveal.

    A step never revealed keeps its planned window (nobody was asked for it, so nobody can meet
    it by chance). A light segment lasts from its reveal to the next light item's reveal; one
    skipped by a late poll (zero length) was never shown and is left out.
    """
    items = _timeline(challenge)
    reveals = list(challenge.reveals_ms)
    start_of: dict[tuple[str, int], int] = {}
    for k, item in enumerate(items):
        start_of[(item.kind, item.index)] = reveals[k] if k < len(reveals) else item.planned_ms
    steps = []
    for i, st in enumerate(challenge.steps):
        start_ms = start_of[("step", i)]
        length = round((st["end_s"] - st["start_s"]) * 1000)
        steps.append({"action": st["action"], "start_s": start_ms / 1000, "end_s": (start_ms + length) / 1000})
    light = []
    light_positions = [k for k, item in enumerate(items) if item.kind in ("light", "neutral")]
    for here, following in zip(light_positions, [*light_positions[1:], None][:len(light_positions)], strict=True):
        item = items[here]
        if item.kind != "light":
            continue
        start_ms = start_of[("light", item.index)]
        shown_next = following is not None and following < len(reveals)
        end_ms = reveals[following] if shown_next and following is not None else start_ms + item.length_ms
        if end_ms > start_ms:
            light.append({"rgb": challenge.light[item.index]["rgb"], "start_s": start_ms / 1000,
                          "end_s": end_ms / 1000})
    return steps, light


def _user_challenge(*, user: User, challenge_id: Any) -> Challenge:
    challenge = Challenge.objects.filter(pk=challenge_id, user_id=user.pk).first()
    if challenge is None:
        # Another user's challenge answers the same as a missing one: ids reveal nothing.
        raise ChallengeError("There is no such challenge.", code="challenge_not_found", http_status=404)
    return challenge


def _check_nonce(challenge: Challenge, nonce: str) -> None:
    if not isinstance(nonce, str) or not hmac.compare_digest(_sha256(nonce), challenge.nonce_sha256):
        raise ChallengeError("This request does not belong to this challenge.", code="nonce_mismatch",
                             http_status=403)


def _delete_files(paths: Sequence[str]) -> int:
    deleted = 0
    for path in paths:
        try:
            default_storage.delete(path)
            deleted += 1
        except OSError:
            logger.exception("could not delete %s", path)
    return deleted


def _drop_frames(challenge_ids: Sequence[Any], *, keep_kept: bool = False) -> list[str]:
    """Delete frame rows (caller deletes the returned files after its transaction)."""
    frames = CaptureFrame.objects.filter(challenge_id__in=list(challenge_ids))
    if keep_kept:
        frames = frames.filter(kept=False)
    paths = list(frames.values_list("path", flat=True))
    frames.delete()
    # The batches' observations (landmarks, light, embeddings) are biometric too: they go with the
    # frames, whatever is kept (a passed challenge keeps only its training frames).
    batches = CaptureBatch.objects.filter(challenge_id__in=list(challenge_ids))
    paths += [p for p in batches.values_list("obs_path", flat=True) if p]
    batches.delete()
    return paths


def _require_open(challenge: Challenge, now: datetime) -> None:
    if challenge.state == Challenge.State.OPEN and now >= challenge.expires_at:
        _expire(challenge_ids=[challenge.pk], now=now)
        challenge.state = Challenge.State.EXPIRED
    if challenge.state == Challenge.State.OPEN:
        return
    if challenge.state == Challenge.State.EXPIRED:
        raise ChallengeError("This challenge has expired. Start a new one.", code="challenge_expired",
                             http_status=410)
    if challenge.reason == "superseded":
        raise ChallengeError("A newer challenge was started, so this one has ended.", code="challenge_superseded",
                             http_status=409)
    raise ChallengeError("This challenge is no longer open; each challenge can be used once.",
                         code="challenge_not_open", http_status=409)


def _expire(*, challenge_ids: Sequence[Any], now: datetime) -> int:
    with transaction.atomic():
        ids = list(Challenge.objects.filter(pk__in=list(challenge_ids), state=Challenge.State.OPEN,
                                            expires_at__lte=now).values_list("pk", flat=True))
        updated = Challenge.objects.filter(pk__in=ids, state=Challenge.State.OPEN).update(
            state=Challenge.State.EXPIRED, reason="expired", decided_at=now)
        paths = _drop_frames(ids)
    _delete_files(paths)
    return updated


# ------------------------------------------------------------------------------------------ issue
def challenge_lockout_until(*, user: User, now: datetime | None = None) -> datetime | None:
    lock = ChallengeLockout.objects.filter(user_id=user.pk, locked_until__gt=_now(now)).first()
    return lock.locked_until if lock else None


def challenge_issue(*, user: User, notice_version: int, notice_sha256: str, ip: str | None = None,
                    user_agent: str = "", now: datetime | None = None,
                    fixed_steps: list[dict[str, Any]] | None = None) -> IssuedChallenge:
    """Issue a new challenge after the user agreed to the current notice; supersedes an open one.

    ``fixed_steps`` is for server-side callers replaying a recorded attempt (the demo); it is
    honoured only where the test hook is (DEBUG or tests) and never reachable from a request.
    """
    now = _now(now)
    try:
        notice = notice_get(notice_version)
    except NoticeError as exc:
        raise ChallengeError(exc.message, code=exc.code) from exc
    if notice_version != CURRENT_VERSION:
        raise ChallengeError("The consent notice has changed. Reload the page and read the new one.",
                             code="notice_outdated", http_status=409)
    if not isinstance(notice_sha256, str) or not hmac.compare_digest(notice.sha256, notice_sha256):
        raise ChallengeError("The notice you agreed to is not the one we published. Reload the page.",
                             code="notice_mismatch", http_status=409)
    rate_limit("challenge", user.pk)
    locked_until = challenge_lockout_until(user=user, now=now)
    if locked_until is not None:
        raise ChallengeLocked(f"Too many failed attempts. You can try again after {locked_until:%H:%M} UTC.")
    if ConsentRecord.objects.filter(user_id=user.pk, withdrawn_at__isnull=True).exists():
        raise ChallengeError("You already have an active consent. Withdraw it before recording a new one.",
                             code="consent_already_active", http_status=409)
    if Challenge.objects.filter(user_id=user.pk, state=Challenge.State.VERIFYING).exists():
        raise ChallengeError("Your last challenge is still being checked. Wait for its result.",
                             code="challenge_verifying", http_status=409)
    steps, light, source = challenge_schedule_new(fixed_steps=fixed_steps)
    nonce = secrets.token_urlsafe(32)
    # An open challenge ends as a failed attempt that counts towards the lockout: otherwise anyone
    # could re-roll challenges until an easy one comes (or watch the cues and start again).
    with transaction.atomic():
        open_ids = list(Challenge.objects.filter(user_id=user.pk, state=Challenge.State.OPEN)
                        .values_list("pk", flat=True))
        superseded = Challenge.objects.filter(pk__in=open_ids, state=Challenge.State.OPEN).update(
            state=Challenge.State.FAILED, reason="superseded", decided_at=now, verdict={"reason": "superseded"})
        stale_paths = _drop_frames(open_ids)
        if superseded:
            _count_failure(user_id=user.pk, now=now)
    _delete_files(stale_paths)
    locked_until = challenge_lockout_until(user=user, now=now)
    if locked_until is not None:
        raise ChallengeLocked(f"Too many failed attempts. You can try again after {locked_until:%H:%M} UTC.")
    try:
        with transaction.atomic():
            challenge = Challenge.objects.create(
                user_id=user.pk, nonce_sha256=_sha256(nonce), steps=steps, light=light, steps_source=source,
                notice_version=notice.version, notice_sha256=notice.sha256, issued_at=now,
                expires_at=now + timedelta(seconds=settings.CHARCHA_CHALLENGE_TTL_S), ip=ip or None,
                user_agent=user_agent[:400])
    except IntegrityError as exc:
        # Two issues at once: the unique "one open challenge" index let only one through.
        raise ChallengeError("Another challenge was started at the same moment. Use one tab.",
                             code="challenge_active", http_status=409) from exc
    return IssuedChallenge(challenge=challenge, nonce=nonce)


# ------------------------------------------------------------------------------------------ frames
def _frame_dimensions(data: bytes) -> tuple[int, int] | None:
    from PIL import Image, UnidentifiedImageError

    if not data.startswith(JPEG_MAGIC):
        return None
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format != "JPEG":
                return None
            return image.size
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def _batch_digest(seq: int, capture_ms: Sequence[int], digests: Sequence[str]) -> str:
    return _sha256(f"{seq}|{','.join(map(str, capture_ms))}|{','.join(digests)}")


def frame_path(*, user_id: int, challenge_id: Any, index: int) -> str:
    return f"charcha/u{user_id}/{challenge_id}/{index:05d}.enc"


def _frame_context(*, user_id: int, challenge_id: Any, index: int) -> str:
    return f"frame:{user_id}:{challenge_id}:{index}"


def challenge_frames_add(*, user: User, challenge_id: Any, nonce: str, seq: int,
                         capture_ms: Sequence[int], frames: Sequence[bytes],
                         now: datetime | None = None) -> Challenge:
    """Accept one batch of JPEG frames; on any refusal nothing is stored and nothing changes."""
    now = _now(now)
    challenge = _user_challenge(user=user, challenge_id=challenge_id)
    _check_nonce(challenge, nonce)
    _require_open(challenge, now)
    if len(frames) != len(capture_ms):
        raise ChallengeError("Each frame needs exactly one capture time.", code="frames_mismatch")
    digests = [_sha256(f) for f in frames]
    batch_digest = _batch_digest(seq, capture_ms, digests)
    if seq == challenge.batch_count - 1 and hmac.compare_digest(batch_digest, challenge.last_batch_sha256):
        return challenge  # a retry of a batch whose answer was lost: already stored
    if seq != challenge.batch_count:
        raise ChallengeError("Frame batches must arrive in order.", code="batch_out_of_order", http_status=409)
    max_side = settings.CHARCHA_CAPTURE_MAX_SIDE * 2
    for data in frames:
        if len(data) > settings.CHARCHA_FRAME_MAX_BYTES:
            raise ChallengeError("A frame is larger than we accept.", code="frame_too_large")
        size = _frame_dimensions(data)
        if size is None:
            raise ChallengeError("Frames must be JPEG images.", code="frame_not_jpeg")
        if not (min(size) >= 64 and max(size) <= max_side):
            raise ChallengeError("A frame's size is outside what we accept.", code="frame_size_invalid")
    check_capture_times(capture_ms=capture_ms, received_ms=_ms_between(challenge.issued_at, now),
                        previous_ms=challenge.last_capture_ms, expires_ms=_ms_between(challenge.issued_at,
                                                                                      challenge.expires_at),
                        frames_so_far=challenge.frame_count, rules=timing_rules())
    if SeenFrameDigest.objects.filter(digest__in=set(digests)).exclude(challenge_id=challenge.pk).exists():
        raise ChallengeError("These pictures were already sent in another challenge.", code="frame_replayed",
                             http_status=409)

    received_ms = _ms_between(challenge.issued_at, now)
    key = user_data_key(user_id=user.pk, create=True)
    assert key is not None
    written: list[str] = []
    try:
        with transaction.atomic():
            updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.OPEN, batch_count=seq).update(
                batch_count=seq + 1, frame_count=F("frame_count") + len(frames), last_capture_ms=capture_ms[-1],
                last_batch_sha256=batch_digest)
            if updated != 1:
                raise ChallengeError("Frame batches must arrive in order.", code="batch_out_of_order",
                                     http_status=409)
            rows = []
            for offset, (data, t, digest) in enumerate(zip(frames, capture_ms, digests, strict=True)):
                index = challenge.frame_count + offset
                path = frame_path(user_id=user.pk, challenge_id=challenge.pk, index=index)
                blob = encrypt_blob(key, data, context=_frame_context(user_id=user.pk, challenge_id=challenge.pk,
                                                                      index=index))
                stored = default_storage.save(path, ContentFile(blob))
                written.append(stored)
                rows.append(CaptureFrame(challenge=challenge, index=index, seq=seq, capture_ms=t,
                                         received_ms=received_ms, sha256=digest, path=stored, size_bytes=len(blob)))
            CaptureFrame.objects.bulk_create(rows)
            batch = CaptureBatch.objects.create(challenge=challenge, seq=seq, first_index=challenge.frame_count,
                                                frame_count=len(frames), received_ms=received_ms)
            batch_id = batch.pk
            transaction.on_commit(lambda: _enqueue_analysis(batch_id))
            SeenFrameDigest.objects.bulk_create(
                [SeenFrameDigest(digest=d, challenge_id=challenge.pk, seen_at=now) for d in set(digests)],
                ignore_conflicts=True)
    except BaseException:
        _delete_files(written)
        raise
    challenge.refresh_from_db()
    return challenge


# ------------------------------------------------------------------------------------------ finish
def _pending_batches(challenge_id: Any) -> int:
    return CaptureBatch.objects.filter(challenge_id=challenge_id, analysed_at__isnull=True).count()


def _wait_for_analysis(challenge: Challenge, loaded: dict[int, list[FrameObservation]], *, wait_ms: int) -> bool:
    """Give the last batch's analysis (on a worker, started when it arrived) a moment to land.

    The page sends the last batch and then finishes at once; waiting here a little lets the
    verdict come back in the finish answer instead of a job's queue later. Meanwhile the
    observations of the batches already analysed are read and decrypted into ``loaded`` (by seq),
    so that only the last one is left to read when its analysis lands.
    """
    deadline = time.monotonic() + wait_ms / 1000
    while True:
        batches = list(CaptureBatch.objects.filter(challenge=challenge).order_by("seq"))
        ready = [b for b in batches if b.analysed_at is not None and not b.unreadable and b.seq not in loaded]
        try:
            for batch in ready:
                loaded[batch.seq] = _observations_load(challenge, [batch])
        except (OSError, CryptoError, ChallengeError):
            loaded.clear()  # erased under us: the decision will say so
            return True
        if all(b.analysed_at is not None for b in batches):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)


def challenge_finish(*, user: User, challenge_id: Any, nonce: str, now: datetime | None = None,
                     verifier: Verifier | None = None) -> Challenge:
    """Close the challenge to new frames and decide it (once, however often called).

    Fast path: every batch is already analysed, so the verdict is decided here, in well under
    the 0.3 s after the last frame the protocol allows. Otherwise a verify job analyses what is
    left and decides.
    """
    entered, injected = time.perf_counter(), now
    now = _now(now)
    challenge = _user_challenge(user=user, challenge_id=challenge_id)
    _check_nonce(challenge, nonce)
    _require_open(challenge, now)
    loaded: dict[int, list[FrameObservation]] = {}
    # Waiting for a worker only means something on the server's clock: a caller with an injected
    # clock (a test, a simulation) has nothing analysing in the background.
    wait_ms = settings.CHARCHA_FINISH_WAIT_MS if injected is None else 0
    ready = challenge.batch_count > 0 and _wait_for_analysis(challenge, loaded, wait_ms=wait_ms)
    with transaction.atomic():
        # The conditional UPDATE is the single-use gate: of concurrent finishes exactly one matches.
        updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.OPEN, expires_at__gt=now).update(
            state=Challenge.State.VERIFYING, finished_at=now)
        if updated != 1:
            raise ChallengeError("This challenge is no longer open; each challenge can be used once.",
                                 code="challenge_not_open", http_status=409)
        if not ready:
            _verify_job_create(challenge=challenge, user_id=user.pk)
    if ready:
        challenge.refresh_from_db()
        try:
            challenge_decide(challenge=challenge, verifier=verifier, decided_inline=True, now=injected,
                             entered=entered, preloaded=loaded)
        except Exception:
            # Nothing is lost: the verify job starts from the stored batches.
            logger.exception("inline decision of challenge %s failed; handing it to a verify job", challenge.pk)
            with transaction.atomic():
                if Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.VERIFYING, job__isnull=True).exists():
                    _verify_job_create(challenge=challenge, user_id=user.pk)
    challenge.refresh_from_db()
    return challenge


def _verify_job_create(*, challenge: Challenge, user_id: int) -> Job:
    job = job_create(user=User.objects.get(pk=user_id), kind=Job.Kind.VERIFY, task_name=VERIFY_TASK, queue="cpu",
                     params={"challenge_id": str(challenge.pk)}, message="Waiting to check your challenge")
    Challenge.objects.filter(pk=challenge.pk).update(job=job)
    return job


def challenge_cancel(*, user: User, challenge_id: Any, nonce: str,
                     now: datetime | None = None) -> Challenge:
    """The page gave up (camera lost, tab hidden): delete its frames now rather than at expiry.

    Once a step has been shown, giving up is a failed attempt like a superseded challenge: else
    an attacker could look at the first step and cancel until an easy one came.
    """
    now = _now(now)
    challenge = _user_challenge(user=user, challenge_id=challenge_id)
    _check_nonce(challenge, nonce)
    step_shown = any(item.kind == "step" for item in _timeline(challenge)[:challenge.cue_count])
    with transaction.atomic():
        if step_shown:
            updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.OPEN).update(
                state=Challenge.State.FAILED, reason="abandoned", decided_at=now, verdict={"reason": "abandoned"})
            if updated == 1:
                _count_failure(user_id=challenge.user_id, now=now)
        else:
            updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.OPEN).update(
                state=Challenge.State.CANCELLED, reason="cancelled", decided_at=now)
        paths = _drop_frames([challenge.pk]) if updated == 1 else []
    _delete_files(paths)
    challenge.refresh_from_db()
    return challenge


# ------------------------------------------------------------------------------------------ analyse
@cache
def _shared_verifier() -> Verifier:
    # Loading FaceMesh and the identity model takes seconds: once per worker process.
    from charcha.vision import LivenessVerifier

    return LivenessVerifier(identity_backend=settings.CHARCHA_IDENTITY_BACKEND)  # type: ignore[no-any-return]


def _enqueue_analysis(batch_id: int) -> None:
    from charcha.tasks import analyse_batch_task

    analyse_batch_task.apply_async(args=(batch_id,), queue="cpu")


def challenge_frames_load(*, challenge: Challenge, kept_only: bool = False,
                          indices: Sequence[int] | None = None) -> list[tuple[CaptureFrame, bytes]]:
    """Decrypt a challenge's frames (JPEG bytes) in capture order (only ``indices`` when given)."""
    key = user_data_key(user_id=challenge.user_id, create=False)
    if key is None:
        raise ChallengeError("The pictures of this challenge have been erased.", code="frames_erased",
                             http_status=410)
    frames = CaptureFrame.objects.filter(challenge=challenge).order_by("index")
    if kept_only:
        frames = frames.filter(kept=True)
    if indices is not None:
        frames = frames.filter(index__in=list(indices))
    out = []
    for frame in frames:
        with default_storage.open(frame.path, "rb") as fh:
            blob = fh.read()
        out.append((frame, decrypt_blob(key, blob, context=_frame_context(
            user_id=challenge.user_id, challenge_id=challenge.pk, index=frame.index))))
    return out


def _decode_all(blobs: Sequence[bytes], *, side: int) -> list[np.ndarray | None]:
    """Decode a challenge's JPEG frames to RGB (None for one that does not decode).

    With ``side``, libjpeg decodes at the largest 1/2, 1/4 or 1/8 scale whose longer side is still
    at least ``side`` pixels, which is also faster. The scale is chosen once, from the first frame:
    the frames come from one camera stream, and the engine refuses a stream that changes size.
    """
    import cv2

    flags = (cv2.IMREAD_COLOR, cv2.IMREAD_REDUCED_COLOR_2, cv2.IMREAD_REDUCED_COLOR_4, cv2.IMREAD_REDUCED_COLOR_8)
    halvings = 0
    size = _frame_dimensions(blobs[0]) if side and blobs else None
    if size is not None:
        while halvings < 3 and max(size) >> (halvings + 1) >= side:
            halvings += 1

    def decode(data: bytes) -> np.ndarray | None:
        bgr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), flags[halvings])
        return None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    # OpenCV releases the GIL while decoding, so two threads share the work.
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="charcha-decode") as pool:
        return list(pool.map(decode, blobs))


def observations_path(*, user_id: int, challenge_id: Any, seq: int) -> str:
    return f"charcha/u{user_id}/{challenge_id}/obs-{seq:04d}.enc"


def _observations_context(*, user_id: int, challenge_id: Any, seq: int) -> str:
    return f"observations:{user_id}:{challenge_id}:{seq}"


def challenge_batch_analyse(*, batch_id: int, verifier: Verifier | None = None) -> bool:
    """Analyse one stored batch into per-frame observations, stored encrypted with the user's key.

    Idempotent and safe to run twice at once (a redelivered task): the first to record its file
    wins and the other deletes its own. Returns whether this call recorded the analysis; a batch
    whose challenge ended meanwhile (its frames erased) is skipped.
    """
    from charcha.vision import CapturedFrame, LivenessInputError
    from charcha.vision.stream import FrameObservation

    batch = CaptureBatch.objects.select_related("challenge").filter(pk=batch_id).first()
    if batch is None or batch.analysed_at is not None:
        return False
    challenge = batch.challenge
    key = user_data_key(user_id=challenge.user_id, create=False)
    if key is None:
        return False
    started = time.perf_counter()
    indices = range(batch.first_index, batch.first_index + batch.frame_count)
    try:
        loaded = challenge_frames_load(challenge=challenge, indices=list(indices))
    except (OSError, CryptoError):
        return False  # erased while we read: the challenge has ended
    if len(loaded) != batch.frame_count:
        return False
    images = _decode_all([data for _, data in loaded], side=settings.CHARCHA_VERIFY_SIDE)
    unreadable = any(image is None for image in images)
    payload = b""
    if not unreadable:
        frames = [CapturedFrame(t_s=row.capture_ms / 1000.0, image=image)
                  for (row, _), image in zip(loaded, images, strict=True) if image is not None]
        try:
            observations = (verifier or _shared_verifier()).analyse_batch(frames, first_index=batch.first_index)
            payload = FrameObservation.list_to_bytes(observations)
        except LivenessInputError:
            unreadable = True  # frames the engine cannot take (the camera changed size): a failed attempt
    stored = ""
    if payload:
        blob = encrypt_blob(key, payload, context=_observations_context(
            user_id=challenge.user_id, challenge_id=challenge.pk, seq=batch.seq))
        stored = default_storage.save(observations_path(user_id=challenge.user_id, challenge_id=challenge.pk,
                                                        seq=batch.seq), ContentFile(blob))
    elapsed_ms = (time.perf_counter() - started) * 1000
    updated = CaptureBatch.objects.filter(pk=batch.pk, analysed_at__isnull=True).update(
        analysed_at=timezone.now(), analysis_ms=round(elapsed_ms, 2), unreadable=unreadable, obs_path=stored,
        obs_size=len(payload))
    if updated != 1 and stored:
        _delete_files([stored])  # another run recorded first, or the frames were erased meanwhile
    return updated == 1


def _observations_load(challenge: Challenge, batches: Sequence[CaptureBatch]) -> list[FrameObservation]:
    from charcha.vision.stream import FrameObservation

    key = user_data_key(user_id=challenge.user_id, create=False)
    if key is None:
        raise ChallengeError("The pictures of this challenge have been erased.", code="frames_erased",
                             http_status=410)
    out: list[FrameObservation] = []
    for batch in batches:
        with default_storage.open(batch.obs_path, "rb") as fh:
            blob = fh.read()
        out += FrameObservation.list_from_bytes(decrypt_blob(key, blob, context=_observations_context(
            user_id=challenge.user_id, challenge_id=challenge.pk, seq=batch.seq)))
    return sorted(out, key=lambda o: o.index)


# ------------------------------------------------------------------------------------------ decide
def reference_embedding(*, user_id: int, exclude_challenge: Any = None) -> tuple[np.ndarray, str] | None:
    """The face the account verified before, while it is kept: the embedding of its last passed
    challenge whose consent data is not erased, with that consent's id."""
    template = (IdentityTemplate.objects.filter(user_id=user_id, consent__erased_at__isnull=True)
                .exclude(consent__challenge_id=exclude_challenge).select_related("consent")
                .order_by("-consent__granted_at").first())
    if template is None:
        return None
    embedding = consent_embedding(consent=template.consent)
    return None if embedding is None else (embedding, str(template.consent_id))


def _images_loader(challenge: Challenge) -> Callable[[Sequence[int]], list[np.ndarray]]:
    def load(indices: Sequence[int]) -> list[np.ndarray]:
        loaded = {row.index: data for row, data in challenge_frames_load(challenge=challenge, indices=indices)}
        images = _decode_all([loaded[i] for i in indices], side=settings.CHARCHA_VERIFY_SIDE)
        if any(image is None for image in images):
            raise ChallengeError("A frame is not a picture we can check.", code="frame_invalid")
        return [image for image in images if image is not None]

    return load


def challenge_decide(*, challenge: Challenge, verifier: Verifier | None = None, decided_inline: bool = False,
                     now: datetime | None = None, entered: float | None = None,
                     preloaded: dict[int, list[FrameObservation]] | None = None) -> Challenge:
    """Decide a verifying challenge from its analysed batches, the windows as revealed and the
    account's verified face; apply the verdict. Every batch must be analysed.

    ``now`` (injected by tests and simulations) is when the caller started, ``entered`` its
    ``perf_counter`` then: the decision time is that plus the work done since, so its latency
    figures mean the same on an injected clock as on the server's. ``preloaded``: observations
    already read, by batch seq.
    """
    from charcha.vision import ChallengeStep
    from charcha.vision.types import LightSegment

    started = time.perf_counter()
    batches = list(CaptureBatch.objects.filter(challenge=challenge).order_by("seq"))
    if not batches or challenge.frame_count == 0:
        return challenge_verdict_fail(challenge=challenge, reason="too_few_frames", now=now)
    if any(b.unreadable for b in batches):
        return challenge_verdict_fail(challenge=challenge, reason="frames_unreadable", now=now)
    if any(b.analysed_at is None for b in batches):
        # A batch that slipped in after the wait: the inline caller hands the decision to a job.
        raise RuntimeError(f"challenge {challenge.pk}: a batch is not analysed yet")
    preloaded = preloaded or {}
    observations = sorted([o for b in batches if b.seq in preloaded for o in preloaded[b.seq]]
                          + _observations_load(challenge, [b for b in batches if b.seq not in preloaded]),
                          key=lambda o: o.index)
    steps_json, light_json = challenge_windows(challenge)
    steps = [ChallengeStep(action=s["action"], start_s=s["start_s"], end_s=s["end_s"]) for s in steps_json]
    light = [LightSegment(rgb=tuple(seg["rgb"]), start_s=seg["start_s"], end_s=seg["end_s"])  # type: ignore[arg-type]
             for seg in light_json]
    reference = reference_embedding(user_id=challenge.user_id, exclude_challenge=challenge.pk)
    engine_started = time.perf_counter()
    verdict = (verifier or _shared_verifier()).decide(
        observations, steps, light=light, reference_embedding=None if reference is None else reference[0],
        load_images=_images_loader(challenge))
    decided = timezone.now() if now is None else \
        now + timedelta(seconds=time.perf_counter() - (entered if entered is not None else started))
    last = batches[-1]
    timings = {"decide_ms": round((time.perf_counter() - started) * 1000, 1),
               "engine_decide_ms": round((time.perf_counter() - engine_started) * 1000, 1),
               "after_last_batch_ms": _ms_between(challenge.issued_at, decided) - last.received_ms,
               "after_last_frame_ms": _ms_between(challenge.issued_at, decided) - (challenge.last_capture_ms or 0),
               "inline": decided_inline,
               "analysis_ms_max": max(b.analysis_ms or 0.0 for b in batches)}
    if verdict.reason == "identity_mismatch":
        # Admins see these (Security events in the admin); the person sees only the reason's words.
        SecurityEvent.objects.create(
            kind=SecurityEvent.Kind.IDENTITY_MISMATCH, user_id=challenge.user_id, challenge=challenge, at=decided,
            detail={"reference_consent": None if reference is None else reference[1],
                    "distance": getattr(verdict, "identity_distance_max", None), "detail": verdict.detail})
        logger.warning("identity mismatch: user %s, challenge %s", challenge.user_id, challenge.pk)
    return challenge_verdict_apply(challenge=challenge, verdict=verdict, now=decided,
                                   windows={"steps": steps_json, "light": light_json}, timings=timings)


def challenge_verify_run(*, ctx: JobContext, verifier: Verifier | None = None) -> dict[str, Any]:
    """The verify job (slow path): analyse the batches not analysed yet, then decide."""
    progress = ctx.progress
    challenge = Challenge.objects.get(job=ctx.job)
    if challenge.state != Challenge.State.VERIFYING:
        return {"state": challenge.state, "reason": challenge.reason}  # decided by an earlier run
    try:
        progress("load", 0.02, "Reading your pictures")
        pending = list(CaptureBatch.objects.filter(challenge=challenge, analysed_at__isnull=True)
                       .order_by("seq").values_list("pk", flat=True))
        for done, batch_id in enumerate(pending):
            challenge_batch_analyse(batch_id=batch_id, verifier=verifier)
            progress("analyse", 0.05 + 0.85 * (done + 1) / len(pending), "Checking your moves")
        if _pending_batches(challenge.pk):
            # Frames were erased under us (the person withdrew, or the challenge was cancelled).
            current = Challenge.objects.get(pk=challenge.pk)
            if current.state != Challenge.State.VERIFYING:
                return {"state": current.state, "reason": current.reason}
            raise ChallengeError("A batch could not be analysed.", code="frames_erased", http_status=410)
        progress("record", 0.95, "Recording the result")
        challenge = challenge_decide(challenge=challenge, verifier=verifier)
    except JobLost:
        raise  # another worker owns the job now; it will decide
    except JobCancelled:
        # Stopped by the user: the challenge ends undecided and its frames go, as when the page gives up.
        with transaction.atomic():
            updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.VERIFYING).update(
                state=Challenge.State.CANCELLED, reason="cancelled", decided_at=timezone.now())
            paths = _drop_frames([challenge.pk]) if updated == 1 else []
        _delete_files(paths)
        raise
    except Exception:
        current = Challenge.objects.get(pk=challenge.pk)
        if current.state != Challenge.State.VERIFYING:
            # A concurrent run decided first (and may have deleted the frames this run was reading).
            return {"state": current.state, "reason": current.reason}
        # Never leave a challenge "verifying" forever: the page would wait for a verdict that never comes.
        challenge_verdict_fail(challenge=challenge, reason="internal_error")
        raise
    return {"state": challenge.state, "reason": challenge.reason}


def _verdict_json(verdict: Verdict) -> dict[str, Any]:
    # The engine's message is a sentence for the person; detail and distance are for admins only.
    distance = getattr(verdict, "identity_distance_max", None)
    return {"passed": bool(verdict.passed), "reason": verdict.reason, "message": str(verdict.message),
            "frame_count": int(verdict.frame_count), "detail": str(getattr(verdict, "detail", "")),
            "identity_backend": str(getattr(verdict, "identity_backend", "")),
            "identity_distance_max": None if distance is None else round(float(distance), 4),
            "steps": [{"action": s.action, "seen": bool(s.seen),
                       "seen_at_s": None if s.seen_at_s is None else round(float(s.seen_at_s), 3),
                       "peak_signal": round(float(s.peak_signal), 4)} for s in verdict.steps]}


def _count_failure(*, user_id: int, now: datetime) -> None:
    window_start = now - timedelta(seconds=settings.CHARCHA_LOCKOUT_WINDOW_S)
    failures = (Challenge.objects.filter(user_id=user_id, state=Challenge.State.FAILED, decided_at__gt=window_start)
                .exclude(reason__in=NOT_COUNTED_FAILURES).count())
    if failures >= settings.CHARCHA_LOCKOUT_FAILURES:
        ChallengeLockout.objects.update_or_create(
            user_id=user_id, defaults={"locked_until": now + timedelta(seconds=settings.CHARCHA_LOCKOUT_S),
                                       "failures": failures})


def challenge_verdict_fail(*, challenge: Challenge, reason: str, verdict: dict[str, Any] | None = None,
                           now: datetime | None = None) -> Challenge:
    now = _now(now)
    with transaction.atomic():
        updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.VERIFYING).update(
            state=Challenge.State.FAILED, reason=reason[:40], decided_at=now, verdict=verdict or {"reason": reason})
        paths = _drop_frames([challenge.pk]) if updated == 1 else []
        if updated == 1 and reason not in NOT_COUNTED_FAILURES:
            _count_failure(user_id=challenge.user_id, now=now)
    _delete_files(paths)  # frames of a failed challenge are never kept
    challenge.refresh_from_db()
    return challenge


def _retention_until(granted_at: datetime) -> datetime:
    days = settings.CHARCHA_RETENTION_DAYS
    if not 1 <= days <= MAX_RETENTION_DAYS:
        raise ConsentError(f"CHARCHA_RETENTION_DAYS must be between 1 and {MAX_RETENTION_DAYS}.",
                           code="retention_invalid", http_status=500)
    return granted_at + timedelta(days=days)


def _training_runs(frames: Sequence[tuple[int, int]], steps: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of TRAINING_RUN_FRAMES consecutive frames centred on each move seen, not overlapping.

    ``frames`` are every received frame as (index, capture_ms) in order (indices are contiguous).
    """
    runs: list[dict[str, Any]] = []
    taken: set[int] = set()
    if len(frames) < TRAINING_RUN_FRAMES:
        return runs
    for step in steps:
        if len(runs) >= TRAINING_RUNS_MAX or step.get("seen_at_s") is None:
            continue
        seen_ms = float(step["seen_at_s"]) * 1000
        centre = min(range(len(frames)), key=lambda k: abs(frames[k][1] - seen_ms))
        start = min(max(centre - TRAINING_RUN_FRAMES // 2, 0), len(frames) - TRAINING_RUN_FRAMES)
        indices = [index for index, _ in frames[start:start + TRAINING_RUN_FRAMES]]
        if taken.intersection(indices):
            continue
        taken.update(indices)
        runs.append({"action": step["action"], "first": indices[0], "last": indices[-1]})
    return runs


def challenge_verdict_apply(*, challenge: Challenge, verdict: Verdict, now: datetime | None = None,
                            windows: dict[str, Any] | None = None,
                            timings: dict[str, Any] | None = None) -> Challenge:
    """Turn a verdict into a pass (consent record, kept frames, embedding) or a failure (frames gone).

    ``windows`` are the step and light windows as revealed (what the verdict was judged against;
    they enter the record); ``timings`` go with the verdict for admins and benches.
    Safe to call twice or concurrently for one challenge: only the call whose conditional UPDATE
    moves the challenge out of "verifying" acts.
    """
    now = _now(now)
    challenge = Challenge.objects.get(pk=challenge.pk)  # the stored (normalised) values enter the record
    verdict_json = {**_verdict_json(verdict), **({"timings": timings} if timings else {})}
    if not verdict.passed:
        return challenge_verdict_fail(challenge=challenge, reason=verdict.reason, verdict=verdict_json, now=now)
    keep = sorted({int(i) for i in verdict.training_frame_indices if 0 <= int(i) < challenge.frame_count})
    paths: list[str] = []
    with transaction.atomic():
        if ConsentRecord.objects.filter(user_id=challenge.user_id, withdrawn_at__isnull=True).exists():
            return challenge_verdict_fail(challenge=challenge, reason="consent_already_active", now=now)
        updated = Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.VERIFYING).update(
            state=Challenge.State.PASSED, reason="passed", decided_at=now, verdict=verdict_json)
        if updated != 1:
            challenge.refresh_from_db()
            return challenge
        CaptureFrame.objects.filter(challenge=challenge, index__in=keep).update(kept=True)
        all_frames = list(CaptureFrame.objects.filter(challenge=challenge).order_by("index")
                          .values_list("index", "sha256", "capture_ms"))
        with_runs = challenge.notice_version >= TRAINING_RUNS_FROM_NOTICE
        runs = _training_runs([(i, t) for i, _, t in all_frames], _verdict_json(verdict)["steps"]) if with_runs else []
        CaptureFrame.objects.filter(challenge=challenge, index__in=[
            i for run in runs for i in range(run["first"], run["last"] + 1)]).update(kept=True)
        embedding = None if verdict.embedding is None else np.asarray(verdict.embedding, dtype=np.float32)
        evidence = {
            "frames_received": len(all_frames),
            # One digest over every received frame's digest, in order: the whole stream, without it.
            "stream_sha256": _sha256("\n".join(sha for _, sha, _ in all_frames)),
            "training_frames": [{"index": i, "sha256": sha, "capture_ms": t} for i, sha, t in all_frames
                                if i in set(keep)],
            "embedding_sha256": None if embedding is None else _sha256(embedding.tobytes()),
            "steps_source": challenge.steps_source,
            **({"training_runs": runs} if with_runs else {}),
            # The light sequence as shown (colours and times): evidence of a live face, nothing biometric.
            **({"light": windows["light"]} if windows and windows.get("light") else {}),
        }
        shown = windows["steps"] if windows else challenge.steps
        steps = [{**step, "seen_at_s": result["seen_at_s"]}
                 for step, result in zip(shown, verdict_json["steps"], strict=False)]
        record = ConsentRecord(
            user_id=challenge.user_id, notice_version=challenge.notice_version,
            notice_sha256=challenge.notice_sha256, purpose=settings.CHARCHA_PURPOSE, granted_at=now,
            challenge=challenge, challenge_steps=steps, evidence=evidence, ip=challenge.ip,
            user_agent=challenge.user_agent, retention_until=_retention_until(now))
        genesis = chain_next(record_id=str(record.pk), seq=1, kind=ConsentEvent.Kind.GRANTED, at=now,
                             actor=f"user:{challenge.user_id}", data={"record": record.immutable_snapshot()},
                             prev_hash="0" * 64, key=audit_seal_key())
        record.head_hash, record.event_count = genesis.hash, 1
        record.save(force_insert=True)
        _event_save(genesis)
        if embedding is not None:
            key = user_data_key(user_id=challenge.user_id, create=True)
            assert key is not None
            IdentityTemplate.objects.create(
                user_id=challenge.user_id, consent=record, dims=int(embedding.size),
                ciphertext=encrypt_blob(key, embedding.tobytes(), context=f"embedding:{challenge.user_id}:{record.pk}"))
        paths = _drop_frames([challenge.pk], keep_kept=True)
    _delete_files(paths)
    challenge.refresh_from_db()
    return challenge


# ------------------------------------------------------------------------------------------ consent
def _event_save(event: ChainEvent) -> ConsentEvent:
    return ConsentEvent.objects.create(record_id=event.record_id, seq=event.seq, kind=event.kind, at=event.at,
                                       actor=event.actor, data=event.data, prev_hash=event.prev_hash,
                                       hash=event.hash, seal=event.seal)


def consent_event_append(*, consent: ConsentRecord, kind: str, actor: str, data: dict[str, Any],
                         at: datetime) -> ConsentEvent:
    """Append one event; the record's head moves with a conditional UPDATE, so appends serialize."""
    for _ in range(5):
        head = ConsentRecord.objects.filter(pk=consent.pk).values("head_hash", "event_count").get()
        event = chain_next(record_id=str(consent.pk), seq=head["event_count"] + 1, kind=kind, at=at, actor=actor,
                           data=data, prev_hash=head["head_hash"], key=audit_seal_key())
        with transaction.atomic():
            moved = ConsentRecord.objects.filter(pk=consent.pk, head_hash=head["head_hash"],
                                                 event_count=head["event_count"]).update(
                head_hash=event.hash, event_count=event.seq)
            if moved == 1:
                return _event_save(event)
    raise ConsentError("The consent record is busy; try again.", code="consent_busy", http_status=409)


def consent_active(*, user: User) -> ConsentRecord | None:
    return ConsentRecord.objects.filter(user_id=user.pk, withdrawn_at__isnull=True).first()


def consent_require_active(*, user: User) -> ConsentRecord:
    """For later apps: the user's live consent, or a refusal they can act on."""
    consent = consent_active(user=user)
    if consent is None:
        raise ConsentError("This needs your live consent first: complete the CHARCHA challenge.",
                           code="consent_required", http_status=403)
    return consent


def _actor(user: User | None) -> str:
    if user is None:
        return "system"
    return f"{'admin' if getattr(user, 'is_staff', False) else 'user'}:{user.pk}"


def _consent_end(*, consent: ConsentRecord, end_reason: str, event_kind: str, by: User | None,
                 data: dict[str, Any], now: datetime) -> ConsentRecord:
    with transaction.atomic():
        updated = ConsentRecord.objects.filter(pk=consent.pk, withdrawn_at__isnull=True).update(
            withdrawn_at=now, end_reason=end_reason)
        if updated != 1:
            raise ConsentError("This consent has already ended.", code="consent_already_ended", http_status=409)
        consent_event_append(consent=consent, kind=event_kind, actor=_actor(by), data=data, at=now)
    consent_erase(consent=consent, reason=end_reason, now=now)
    consent.refresh_from_db()
    return consent


def consent_withdraw(*, consent: ConsentRecord, by: User, now: datetime | None = None) -> ConsentRecord:
    """The user withdraws: the record ends now and all their biometric data is erased."""
    if by.pk != consent.user_id:
        raise ConsentError("Only the person who consented can withdraw this consent.", code="not_yours",
                           http_status=403)
    return _consent_end(consent=consent, end_reason=ConsentRecord.EndReason.WITHDRAWN,
                        event_kind=ConsentEvent.Kind.WITHDRAWN, by=by, data={}, now=_now(now))


def consent_revoke(*, consent: ConsentRecord, by: User, reason: str,
                   now: datetime | None = None) -> ConsentRecord:
    """An administrator ends a consent (abuse, a complaint); erasure is the same as a withdrawal."""
    if not by.has_perm("charcha.revoke_consentrecord"):
        raise ConsentError("You may not revoke consent records.", code="permission_denied", http_status=403)
    reason = reason.strip()
    if not reason:
        raise ConsentError("Say why the consent is revoked.", code="reason_required")
    return _consent_end(consent=consent, end_reason=ConsentRecord.EndReason.REVOKED,
                        event_kind=ConsentEvent.Kind.REVOKED, by=by, data={"reason": reason[:500]}, now=_now(now))


def consent_erase(*, consent: ConsentRecord, reason: str, now: datetime | None = None) -> dict[str, int]:
    """Erase all biometric data of the consent's user and everything registered as made from it.

    Order: later apps' hooks (videos, adapters) first, because they point at what comes after;
    then frames, embeddings and the user's data key in one transaction; files last. Once the key
    row is gone, a file that survived (a backup, an object-store version) can no longer be read.
    Idempotent: an interrupted erasure is finished by the retention sweep.
    """
    now = _now(now)
    user_id = consent.user_id
    user = User.objects.get(pk=user_id)
    counts: dict[str, int] = {}
    for name, hook in erasure_hooks():
        counts[f"hook:{name}"] = int(hook(user=user, consent=consent, reason=reason))
    with transaction.atomic():
        challenge_ids = list(Challenge.objects.filter(user_id=user_id).values_list("pk", flat=True))
        Challenge.objects.filter(user_id=user_id, state=Challenge.State.OPEN).update(
            state=Challenge.State.CANCELLED, reason="cancelled", decided_at=now)
        paths = _drop_frames(challenge_ids)
        counts["frames"] = len(paths)
        counts["embeddings"], _ = IdentityTemplate.objects.filter(user_id=user_id).delete()
        counts["keys"] = user_data_key_destroy(user_id=user_id)
        if ConsentRecord.objects.filter(pk=consent.pk, erased_at__isnull=True).update(erased_at=now) == 1:
            consent_event_append(consent=consent, kind=ConsentEvent.Kind.ERASED, actor="system",
                                 data={"reason": reason, "erased": counts}, at=now)
    counts["files"] = _delete_files(paths)
    return counts


def consent_verify(*, consent: ConsentRecord) -> ChainReport:
    """Prove the record: the chain links and seals, its first event matches the row, end times match."""
    events = [ChainEvent(record_id=str(e.record_id), seq=e.seq, kind=e.kind, at=e.at, actor=e.actor, data=e.data,
                         prev_hash=e.prev_hash, hash=e.hash, seal=e.seal)
              for e in ConsentEvent.objects.filter(record_id=consent.pk).order_by("seq")]
    report = chain_verify(events, record_id=str(consent.pk), key=audit_seal_key(), expected_head=consent.head_hash,
                          expected_length=consent.event_count)
    problems = list(report.problems)
    if not events or events[0].kind != ConsentEvent.Kind.GRANTED:
        problems.append("the first event is not the grant")
    elif events[0].data.get("record") != consent.immutable_snapshot():
        problems.append("the record's fields differ from what was granted")
    ends = [e for e in events if e.kind in (ConsentEvent.Kind.WITHDRAWN, ConsentEvent.Kind.REVOKED,
                                            ConsentEvent.Kind.RETENTION)]
    erasures = [e for e in events if e.kind == ConsentEvent.Kind.ERASED]
    if consent.withdrawn_at is None and ends:
        problems.append("the chain ends the consent but the record does not")
    if consent.withdrawn_at is not None and (len(ends) != 1 or format_time(ends[0].at) != format_time(consent.withdrawn_at)):
        problems.append("the record's end time has no matching event")
    if consent.erased_at is not None and (len(erasures) != 1 or format_time(erasures[0].at) != format_time(consent.erased_at)):
        problems.append("the record's erasure time has no matching event")
    if consent.erased_at is None and erasures:
        problems.append("the chain records an erasure the record does not")
    return ChainReport(ok=not problems, length=report.length, head_hash=report.head_hash, problems=tuple(problems))


def consent_evidence_view(*, consent: ConsentRecord, viewer: User, reason: str, ip: str | None = None,
                          now: datetime | None = None, max_side: int = 160) -> list[EvidenceThumbnail]:
    """Thumbnails of a record's kept frames for an admin; the view is logged before anything is shown."""
    from PIL import Image

    if not viewer.has_perm("charcha.view_evidence"):
        raise ConsentError("You may not view consent evidence.", code="permission_denied", http_status=403)
    reason = reason.strip()
    if len(reason) < 5:
        raise ConsentError("Say why you need to see the evidence (it is written to the audit log).",
                           code="reason_required")
    now = _now(now)
    frames: list[tuple[CaptureFrame, bytes]] = []
    if consent.erased_at is None:
        try:
            frames = challenge_frames_load(challenge=consent.challenge, kept_only=True)
        except (ChallengeError, CryptoError):
            frames = []
    EvidenceView.objects.create(record=consent, viewer_id=viewer.pk, viewed_at=now, reason=reason[:2000],
                                frames_shown=len(frames), ip=ip or None)
    thumbs = []
    for row, data in frames:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((max_side, max_side))
            out = io.BytesIO()
            image.convert("RGB").save(out, format="JPEG", quality=80)
        thumbs.append(EvidenceThumbnail(index=row.index, capture_ms=row.capture_ms, sha256=row.sha256,
                                        data_uri="data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()))
    return thumbs


# ------------------------------------------------------------------------------------------ sweeps
def retention_sweep(*, now: datetime | None = None) -> dict[str, int]:
    """Periodic: end and erase consents past retention, finish interrupted erasures, expire challenges."""
    now = _now(now)
    ended = 0
    for consent in ConsentRecord.objects.filter(withdrawn_at__isnull=True, retention_until__lte=now):
        try:
            _consent_end(consent=consent, end_reason=ConsentRecord.EndReason.RETENTION,
                         event_kind=ConsentEvent.Kind.RETENTION, by=None, data={}, now=now)
            ended += 1
        except ConsentError:
            continue  # ended by someone else meanwhile
    resumed = 0
    for consent in ConsentRecord.objects.filter(withdrawn_at__isnull=False, erased_at__isnull=True):
        consent_erase(consent=consent, reason=consent.end_reason, now=now)
        resumed += 1
    stale = list(Challenge.objects.filter(state=Challenge.State.OPEN, expires_at__lte=now).values_list("pk", flat=True))
    expired = _expire(challenge_ids=stale, now=now) if stale else 0
    # A challenge decided inline whose web process died mid-decision: a verify job decides it now.
    orphans = list(Challenge.objects.filter(state=Challenge.State.VERIFYING, job__isnull=True,
                                            finished_at__lt=now - timedelta(minutes=1)))
    for challenge in orphans:
        with transaction.atomic():
            if Challenge.objects.filter(pk=challenge.pk, state=Challenge.State.VERIFYING, job__isnull=True).exists():
                _verify_job_create(challenge=challenge, user_id=challenge.user_id)
    # Replay digests only need to outlive any challenge that could reuse them by a wide margin.
    digests, _ = SeenFrameDigest.objects.filter(seen_at__lt=now - timedelta(days=30)).delete()
    return {"consents_ended": ended, "erasures_resumed": resumed, "challenges_expired": expired,
            "digests_pruned": digests, "decisions_resumed": len(orphans)}


def frame_bytes_for_training(*, consent: ConsentRecord) -> list[tuple[int, bytes]]:
    """For the personalize app: the decrypted JPEGs of a live consent's training frames (the stills)."""
    if consent.withdrawn_at is not None or consent.erased_at is not None:
        raise ConsentError("This consent has ended; its pictures may not be used.", code="consent_ended",
                           http_status=403)
    stills = {int(t["index"]) for t in consent.evidence.get("training_frames", [])}
    return [(row.index, data) for row, data in challenge_frames_load(challenge=consent.challenge, kept_only=True)
            if row.index in stills]


def frame_runs_for_training(*, consent: ConsentRecord) -> list[tuple[str, list[tuple[int, bytes]]]]:
    """For the personalize app: each kept run of consecutive frames (notice v2 on) as (action, JPEGs)."""
    if consent.withdrawn_at is not None or consent.erased_at is not None:
        raise ConsentError("This consent has ended; its pictures may not be used.", code="consent_ended",
                           http_status=403)
    runs = consent.evidence.get("training_runs") or []
    if not runs:
        return []
    loaded = {row.index: data for row, data in challenge_frames_load(challenge=consent.challenge, kept_only=True)}
    return [(str(run["action"]), [(i, loaded[i]) for i in range(int(run["first"]), int(run["last"]) + 1)
                                  if i in loaded]) for run in runs]


def consent_embedding(*, consent: ConsentRecord) -> np.ndarray | None:
    template = IdentityTemplate.objects.filter(consent=consent).first()
    if template is None:
        return None
    key = user_data_key(user_id=consent.user_id, create=False)
    if key is None:
        return None
    raw = decrypt_blob(key, bytes(template.ciphertext), context=f"embedding:{consent.user_id}:{consent.pk}")
    return np.frombuffer(raw, dtype=np.float32).copy()



# ------------------------------------------------------------------------------------------ precheck
# Before Start, the capture page asks several times a second whether the person is ready: one face,
# centred in the oval, close enough, in enough light. Stateless: the picture is decoded, measured and
# dropped; nothing is stored or logged. Thresholds follow the page's oval (centred at 50 % / 47 % of
# the preview, 42 % of its width).
PRECHECK_SIDE = 320
PRECHECK_CENTRE = (0.5, 0.47)
PRECHECK_MAX_OFFSET = (0.16, 0.18)      # of the frame's width / height, from the oval's centre
PRECHECK_FACE_WIDTH = (0.16, 0.62)      # the face box's width as a fraction of the frame's width
PRECHECK_MIN_BRIGHTNESS = 70.0          # mean luma (0-255) of the face, or of the frame with no face
PRECHECK_MAX_BRIGHTNESS = 235.0


@dataclass(frozen=True)
class FramePrecheck:
    faces: int
    centred: bool
    close_enough: bool
    too_close: bool
    bright_enough: bool
    hint: str

    @property
    def ready(self) -> bool:
        return self.faces == 1 and self.centred and self.close_enough and not self.too_close and self.bright_enough

    def as_dict(self) -> dict[str, Any]:
        return {"ready": self.ready, "faces": self.faces, "centred": self.centred, "close_enough": self.close_enough,
                "too_close": self.too_close, "bright_enough": self.bright_enough, "hint": self.hint}


_precheck_lock = threading.Lock()   # mediapipe graphs are not safe to call from two threads at once
_precheck_loading = threading.Lock()


@cache
def _precheck_detector_once() -> Any:
    from charcha.vision.faces import FaceCounter

    return FaceCounter(full_range=True)


def _precheck_detector() -> Any:
    # One detector per process, even when the warm-up thread and a first request race to build it.
    with _precheck_loading:
        return _precheck_detector_once()


def precheck_warm_up() -> None:
    """Load the face detector in the background (~1-2 s) while the person reads the notice."""
    threading.Thread(target=_precheck_detector, name="charcha-precheck-warm-up", daemon=True).start()


def frame_precheck(*, jpeg: bytes) -> FramePrecheck:
    """Is the person in the picture ready for the challenge? Measures one JPEG and keeps nothing."""
    import cv2

    if len(jpeg) > settings.CHARCHA_FRAME_MAX_BYTES:
        raise ChallengeError("A frame is larger than we accept.", code="frame_too_large")
    if not jpeg.startswith(JPEG_MAGIC):
        raise ChallengeError("Frames must be JPEG images.", code="frame_not_jpeg")
    bgr = cv2.imdecode(np.frombuffer(jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None or min(bgr.shape[:2]) < 32:
        raise ChallengeError("A frame is not a picture we can check.", code="frame_invalid")
    scale = PRECHECK_SIDE / max(bgr.shape[:2])
    if scale < 1:
        bgr = cv2.resize(bgr, (round(bgr.shape[1] * scale), round(bgr.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    detector = _precheck_detector()
    with _precheck_lock:
        boxes = detector.detect(rgb)
    height, width = rgb.shape[:2]
    luma = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    if len(boxes) != 1:
        brightness = float(luma.mean())
        centred = close = False
        too_close = False
    else:
        box = boxes[0]
        x0, y0 = max(0, int(box.x)), max(0, int(box.y))
        x1, y1 = min(width, int(box.x + box.width)), min(height, int(box.y + box.height))
        brightness = float(luma[y0:y1, x0:x1].mean()) if x1 > x0 and y1 > y0 else float(luma.mean())
        dx = abs((box.x + box.width / 2) / width - PRECHECK_CENTRE[0])
        dy = abs((box.y + box.height / 2) / height - PRECHECK_CENTRE[1])
        centred = dx <= PRECHECK_MAX_OFFSET[0] and dy <= PRECHECK_MAX_OFFSET[1]
        close = box.width / width >= PRECHECK_FACE_WIDTH[0]
        too_close = box.width / width > PRECHECK_FACE_WIDTH[1]
    bright = PRECHECK_MIN_BRIGHTNESS <= brightness <= PRECHECK_MAX_BRIGHTNESS
    if not boxes:
        hint = ("It's too dark to see your face: turn on a light in front of you." if brightness < PRECHECK_MIN_BRIGHTNESS
                else "We can't see a face yet: look at the camera, with your face inside the oval.")
    elif len(boxes) > 1:
        hint = "We can see more than one face: make sure only you are in view."
    elif not close:
        hint = "Come a little closer, so your face fills the oval."
    elif too_close:
        hint = "Move back a little, so your whole face fits in the oval."
    elif not centred:
        hint = "Move so your face is in the middle of the oval."
    elif not bright:
        hint = ("It's too dark: turn on a light in front of you, or face a window." if brightness < PRECHECK_MIN_BRIGHTNESS
                else "It's too bright: move away from the light shining into the camera.")
    else:
        hint = "Ready: you're in the oval, close enough and well lit. Press Start when you are."
    return FramePrecheck(faces=len(boxes), centred=centred, close_enough=close, too_close=too_close,
                         bright_enough=bright, hint=hint)


# ------------------------------------------------------------------------------------------ kept pictures
PICTURE_DELETED = "picture_deleted"   # consent event kind: the person deleted one kept picture


def consent_pictures(*, consent: ConsentRecord) -> list[CaptureFrame]:
    """The pictures Encore keeps under a live consent (training stills and runs), in capture order."""
    if consent.erased_at is not None:
        return []
    return list(CaptureFrame.objects.filter(challenge_id=consent.challenge_id, kept=True).order_by("index"))


def consent_picture_bytes(*, consent: ConsentRecord, index: int) -> bytes:
    """One kept picture, decrypted, for its owner's eyes only (the view sends it with no-store)."""
    frame = CaptureFrame.objects.filter(challenge_id=consent.challenge_id, kept=True, index=index).first()
    key = user_data_key(user_id=consent.user_id, create=False) if frame is not None else None
    if frame is None or key is None or consent.erased_at is not None:
        raise ConsentError("This picture is not kept (any more).", code="picture_not_found", http_status=404)
    with default_storage.open(frame.path, "rb") as fh:
        blob = fh.read()
    return decrypt_blob(key, blob, context=_frame_context(user_id=consent.user_id, challenge_id=consent.challenge_id,
                                                          index=frame.index))


def consent_picture_delete(*, consent: ConsentRecord, index: int, by: User,
                           now: datetime | None = None) -> None:
    """The person deletes one kept picture: the row and file go, and the consent record says so.

    Adapters already trained keep what they learnt; the page says that deleting the adapter or
    withdrawing removes that too.
    """
    if by.pk != consent.user_id:
        raise ConsentError("Only the person who consented can delete these pictures.", code="not_yours",
                           http_status=403)
    now = _now(now)
    with transaction.atomic():
        frame = (CaptureFrame.objects.select_for_update()
                 .filter(challenge_id=consent.challenge_id, kept=True, index=index).first())
        if frame is None or consent.erased_at is not None:
            raise ConsentError("This picture is not kept (any more).", code="picture_not_found", http_status=404)
        path, digest = frame.path, frame.sha256
        frame.delete()
        consent_event_append(consent=consent, kind=PICTURE_DELETED, actor=_actor(by),
                             data={"frame_index": index, "frame_sha256": digest}, at=now)
    _delete_files([path])
