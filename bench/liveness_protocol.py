"""Protocol attacks on CHARCHA's challenge API, through the real services and a real database.

    .venv/bin/python bench/liveness_protocol.py [--attempts 150] [--seed 0] [--json]

Three attack types, each ``attempts`` times with seeded randomness (``bench/liveness.py`` imports
``run_protocol_attacks`` and prints them with the vision attacks):

- ``nonce_replay``: requests bound to another challenge: frames or a finish carrying a previous
  challenge's nonce, another user's challenge with its stolen nonce, a guessed nonce, the exact
  frames of an earlier challenge replayed under the new nonce, and reuse of a finished challenge.
- ``tampered_capture_times``: batches whose capture times go backwards, repeat, come before the
  challenge began, lie after their own arrival, were held back longer than the allowed lag (to
  move a late move into its window), arrive faster than a camera, or come after expiry.
- ``concurrent_double_completion``: two threads finish the same challenge at the same instant and
  each then runs verification of whatever job exists, with a verifier that always says "pass"
  (the worst case for this attack): more than one pass, or more than one verification, is an
  accepted attack.

"accepted" counts attacks the server let through. Each attempt also makes the honest request
next to the attack (the right nonce, plausible times, one completion): ``controls_accepted``
shows the server was not simply refusing everything. Django is set up here with SQLite in a
temporary directory (WAL, immediate transactions, so threads contend like web workers do),
unless the caller configured Django already.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

ATTACK_TYPES = ("nonce_replay", "tampered_capture_times", "concurrent_double_completion")


def setup_django(workdir: Path) -> None:
    """Configure Django on a fresh SQLite file and media folder under ``workdir`` and migrate."""
    import django
    from django.conf import settings

    if settings.configured:
        return
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["ENCORE_VAR_DIR"] = str(workdir)
    os.environ["ENCORE_MEDIA_ROOT"] = str(workdir / "media")
    os.environ["CELERY_BROKER_URL"] = "filesystem://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"  # verification is driven by the bench itself
    os.environ.setdefault("DJANGO_DEBUG", "1")
    # Importing settings before setup() lets the database options be set before any connection.
    options = settings.DATABASES["default"].setdefault("OPTIONS", {})
    options["transaction_mode"] = "IMMEDIATE"
    options["init_command"] = "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL"
    django.setup()
    from django.core.management import call_command

    (workdir / "celery" / "queue").mkdir(parents=True, exist_ok=True)
    (workdir / "celery" / "control").mkdir(parents=True, exist_ok=True)
    call_command("migrate", verbosity=0, interactive=False)


def jpeg(rng: np.random.Generator, size: tuple[int, int] = (96, 72)) -> bytes:
    return _jpeg_of(rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8), quality=70)


@dataclass
class Tally:
    attempts: int = 0
    accepted: int = 0
    controls: int = 0
    controls_accepted: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"attempts": self.attempts, "accepted": self.accepted, "controls": self.controls,
                "controls_accepted": self.controls_accepted}


def _accepted(call: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
    """Whether the server accepted the request (an EncoreError is a refusal)."""
    from mediakit.errors import EncoreError

    try:
        call(*args, **kwargs)
    except EncoreError:
        return False
    return True


class Protocol:
    """The services with a clock the bench moves (no sleeping through 3-minute expiries)."""

    def __init__(self, seed: int) -> None:
        from charcha.notices import notice_current

        self.rng = random.Random(seed)
        self.np_rng = np.random.default_rng(seed)
        self.notice = notice_current()
        self.clock = datetime.now().astimezone()
        self.users = 0

    def tick(self, seconds: float) -> datetime:
        self.clock += timedelta(seconds=seconds)
        return self.clock

    def user(self) -> Any:
        from django.contrib.auth.models import User

        self.users += 1
        return User.objects.create_user(username=f"bench-{self.users}-{secrets.token_hex(3)}")

    def issue(self, user: Any) -> Any:
        from charcha.services import challenge_issue

        return challenge_issue(user=user, notice_version=self.notice.version, notice_sha256=self.notice.sha256,
                               now=self.tick(1.0))

    def frames(self, n: int) -> list[bytes]:
        return [jpeg(self.np_rng) for _ in range(n)]

    def send(self, user: Any, issued: Any, seq: int, times: Sequence[int], frames: Sequence[bytes], *,
             received_ms: int, nonce: str | None = None, challenge_id: Any = None) -> Any:
        from charcha.services import challenge_frames_add

        challenge = issued.challenge
        return challenge_frames_add(
            user=user, challenge_id=challenge_id or challenge.pk, nonce=issued.nonce if nonce is None else nonce,
            seq=seq, capture_ms=list(times), frames=list(frames),
            now=challenge.issued_at + timedelta(milliseconds=received_ms))


def _honest_times(start_ms: int, n: int) -> list[int]:
    return [start_ms + i * 67 for i in range(n)]


def nonce_replay(p: Protocol, attempts: int) -> Tally:
    from charcha.services import challenge_finish

    tally = Tally()
    user, victim = p.user(), p.user()
    for _ in range(attempts):
        variant = p.rng.choice(["foreign_nonce_frames", "foreign_nonce_finish", "stolen_cross_user",
                                "guessed_nonce", "replayed_frames", "reuse_finished"])
        tally.attempts += 1
        tally.controls += 1
        if variant == "reuse_finished":
            owner = p.user()  # its challenge stays "verifying": no worker runs here
            done = p.issue(owner)
            tally.controls_accepted += _accepted(p.send, owner, done, 0, _honest_times(0, 3), p.frames(3),
                                                 received_ms=250)
            challenge_finish(user=owner, challenge_id=done.challenge.pk, nonce=done.nonce,
                             now=done.challenge.issued_at + timedelta(milliseconds=400))
            if p.rng.random() < 0.5:
                tally.accepted += _accepted(p.send, owner, done, 1, _honest_times(500, 2), p.frames(2),
                                            received_ms=700)
            else:
                tally.accepted += _accepted(challenge_finish, user=owner, challenge_id=done.challenge.pk,
                                            nonce=done.nonce, now=done.challenge.issued_at + timedelta(seconds=1))
            continue
        old = p.issue(user)
        old_frames = p.frames(3)
        p.send(user, old, 0, _honest_times(0, 3), old_frames, received_ms=200)
        new = p.issue(user)  # supersedes the old one
        tally.controls_accepted += _accepted(p.send, user, new, 0, _honest_times(0, 3), p.frames(3), received_ms=240)
        if variant == "foreign_nonce_frames":
            accepted = _accepted(p.send, user, new, 1, _honest_times(300, 2), p.frames(2), received_ms=450,
                                 nonce=old.nonce)
        elif variant == "foreign_nonce_finish":
            accepted = _accepted(challenge_finish, user=user, challenge_id=new.challenge.pk, nonce=old.nonce,
                                 now=new.challenge.issued_at + timedelta(seconds=1))
        elif variant == "stolen_cross_user":
            # Another account replays this user's live challenge id and nonce.
            accepted = _accepted(p.send, victim, new, 1, _honest_times(300, 2), p.frames(2), received_ms=450)
        elif variant == "guessed_nonce":
            accepted = _accepted(p.send, user, new, 1, _honest_times(300, 2), p.frames(2), received_ms=450,
                                 nonce=secrets.token_urlsafe(32))
        else:  # replayed_frames: the old challenge's exact pictures under the new, valid nonce
            accepted = _accepted(p.send, user, new, 1, _honest_times(300, 3), old_frames, received_ms=480)
        tally.accepted += accepted
        if accepted and variant == "foreign_nonce_finish":
            user = p.user()  # the accepted finish left this user's challenge waiting for a verdict
    return tally


def tampered_capture_times(p: Protocol, attempts: int) -> Tally:
    tally = Tally()
    user = p.user()
    for _ in range(attempts):
        issued = p.issue(user)
        start = p.rng.randint(2_000, 8_000)
        # An honest batch first (the control): the attack must also respect what was accepted.
        first = _honest_times(start - 1_000, 15)
        tally.controls += 1
        tally.controls_accepted += _accepted(p.send, user, issued, 0, first, p.frames(15),
                                             received_ms=first[-1] + p.rng.randint(30, 400))
        times = _honest_times(first[-1] + 67, 15)
        received = times[-1] + p.rng.randint(30, 400)
        variant = p.rng.choice(["backwards", "repeated", "before_issue", "after_receipt", "held_back",
                                "burst", "before_previous_batch", "after_expiry"])
        if variant == "backwards":
            k = p.rng.randint(1, len(times) - 1)
            times[k - 1], times[k] = times[k], times[k - 1]
        elif variant == "repeated":
            k = p.rng.randint(1, len(times) - 1)
            times[k] = times[k - 1]
        elif variant == "before_issue":
            times = sorted(t - start - p.rng.randint(1_000, 3_000) for t in times)
        elif variant == "after_receipt":
            # Claims frames newer than their arrival by more than the clock slack (250 ms): a smaller
            # shift is indistinguishable from clock granularity and gains nothing.
            shift = received - times[-1] + p.rng.randint(251, 5_000)
            times = [t + shift for t in times]
        elif variant == "held_back":
            # Frames of a move made late, re-timed into an earlier window: they arrive too long after.
            received = times[-1] + p.rng.randint(4_001, 20_000)
        elif variant == "burst":
            base = times[0]
            times = [base + i * p.rng.randint(1, 19) for i in range(len(times))]
        elif variant == "before_previous_batch":
            times = [t - p.rng.randint(1_100, 2_000) for t in times]
        else:  # after_expiry
            times = _honest_times(180_000 + p.rng.randint(1, 30_000), 15)
            received = times[-1] + 100
        tally.attempts += 1
        tally.accepted += _accepted(p.send, user, issued, 1, times, p.frames(len(times)), received_ms=received)
    return tally


class AlwaysPass:
    """A verifier that passes everything: the worst case for a double completion."""

    def verify(self, frames: Sequence[Any], steps: Sequence[Any], *, progress: Any = None) -> Any:
        from charcha.vision import StepResult, Verdict

        return Verdict(passed=True, reason="passed", message="passed",
                       steps=tuple(StepResult(s.action, True, s.start_s + 0.3, 2.0) for s in steps),
                       training_frame_indices=(0, len(frames) - 1),
                       embedding=np.zeros(128, dtype=np.float32), frame_count=len(frames))


def _complete_and_verify(user: Any, issued: Any, finish_at: datetime, barrier: threading.Barrier,
                         finishes: list[bool]) -> None:
    """One of two racing completions: finish, then verify whatever job exists (as a worker would)."""
    from django.db import OperationalError, connection

    from charcha.models import Challenge
    from charcha.services import challenge_finish, challenge_verify_run
    from jobs.context import JobContext
    from jobs.models import Job
    from mediakit.errors import EncoreError

    try:
        barrier.wait()
        try:
            challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, now=finish_at)
            finishes.append(True)
        except (EncoreError, OperationalError):
            finishes.append(False)
        job_id = Challenge.objects.filter(pk=issued.challenge.pk).values_list("job_id", flat=True).first()
        if job_id is not None:
            with contextlib.suppress(EncoreError, OperationalError):
                challenge_verify_run(ctx=JobContext(job=Job.objects.get(pk=job_id)), verifier=AlwaysPass())
    finally:
        connection.close()


def concurrent_double_completion(p: Protocol, attempts: int) -> Tally:
    from charcha.models import ConsentRecord

    tally = Tally()
    for _ in range(attempts):
        user = p.user()
        issued = p.issue(user)
        times = _honest_times(0, 8)
        p.send(user, issued, 0, times, p.frames(8), received_ms=times[-1] + 80)
        finish_at = issued.challenge.issued_at + timedelta(seconds=p.rng.uniform(1, 20))
        barrier = threading.Barrier(2)
        finishes: list[bool] = []
        threads = [threading.Thread(target=_complete_and_verify, args=(user, issued, finish_at, barrier, finishes))
                   for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        passes = ConsentRecord.objects.filter(challenge_id=issued.challenge.pk).count()
        tally.attempts += 1
        tally.accepted += int(passes > 1 or sum(finishes) > 1)
        tally.controls += 1
        tally.controls_accepted += int(passes == 1 and sum(finishes) == 1)
    return tally


def verify_job_latency(repeats: int, seed: int, size: tuple[int, int] = (640, 480)) -> dict[str, float]:
    """What a user waits for after the last frame: the verify job (read and decrypt the stored
    frames, decode the JPEGs, run the real engine, record the verdict and the consent).

    Each repeat is a genuine attempt at the server's own random steps, sent in one-second batches
    of JPEGs on the bench clock; the first (unmeasured) run loads the models.
    """
    workdir = Path(tempfile.mkdtemp(prefix="charcha-latency-"))
    setup_django(workdir)
    from charcha.models import Challenge
    from charcha.services import challenge_finish, challenge_verify_run
    from charcha.testing.attacks import genuine_attempt
    from charcha.vision import ChallengeStep
    from jobs.context import JobContext
    from jobs.models import Job

    p = Protocol(seed)
    walls: list[float] = []
    frames: list[int] = []
    passed = 0
    for k in range(repeats + 1):
        user = p.user()
        issued = p.issue(user)
        steps = [ChallengeStep(s["action"], s["start_s"], s["end_s"]) for s in issued.challenge.steps]
        attempt = genuine_attempt(seed + 20_000 + k, size=size, steps=steps)
        for seq, first in enumerate(range(0, len(attempt.frames), 15)):
            batch = attempt.frames[first:first + 15]
            times = [round(f.t_s * 1000) for f in batch]
            p.send(user, issued, seq, times, [_jpeg_of(f.image) for f in batch], received_ms=times[-1] + 80)
        finish_at = issued.challenge.issued_at + timedelta(seconds=attempt.frames[-1].t_s + 0.2)
        challenge = challenge_finish(user=user, challenge_id=issued.challenge.pk, nonce=issued.nonce, now=finish_at)
        assert challenge.job_id is not None
        job = Job.objects.get(pk=challenge.job_id)
        started = time.perf_counter()
        challenge_verify_run(ctx=JobContext(job=job))
        wall = time.perf_counter() - started
        if k == 0:
            continue
        walls.append(wall)
        frames.append(len(attempt.frames))
        passed += Challenge.objects.get(pk=challenge.pk).state == Challenge.State.PASSED
    return {"verify_job_s": float(np.median(walls)), "verify_job_max_s": float(np.max(walls)),
            "verify_job_frames": float(np.median(frames)), "verify_job_passed": float(passed),
            "verify_job_runs": float(len(walls))}


def _jpeg_of(image: np.ndarray, *, quality: int = 80) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)  # 80: what the page sends (jpeg_quality 0.8)
    return out.getvalue()


def run_protocol_attacks(attempts: int, seed: int) -> dict[str, dict[str, int]]:
    """Run each protocol attack ``attempts`` times; per type: attempts, accepted, and the honest controls."""
    workdir = Path(tempfile.mkdtemp(prefix="charcha-protocol-"))
    setup_django(workdir)
    p = Protocol(seed)
    return {
        "nonce_replay": nonce_replay(p, attempts).as_dict(),
        "tampered_capture_times": tampered_capture_times(p, attempts).as_dict(),
        "concurrent_double_completion": concurrent_double_completion(p, attempts).as_dict(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="end with one JSON line of figures")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = run_protocol_attacks(args.attempts, args.seed)
    wall = time.perf_counter() - started
    print(f"{'attack':32} {'attempts':>8} {'accepted':>8} {'APCER':>7} {'honest ok':>10}")
    figures: dict[str, Any] = {}
    for name, r in results.items():
        apcer = 100.0 * r["accepted"] / max(1, r["attempts"])
        print(f"{name:32} {r['attempts']:8d} {r['accepted']:8d} {apcer:6.1f}% "
              f"{r['controls_accepted']:>5d}/{r['controls']:<4d}")
        figures[f"{name}_attempts"] = r["attempts"]
        figures[f"{name}_accepted"] = r["accepted"]
        figures[f"{name}_apcer_pct"] = round(apcer, 2)
        figures[f"{name}_controls_accepted_pct"] = round(100.0 * r["controls_accepted"] / max(1, r["controls"]), 2)
    figures["wall_s"] = round(wall, 2)
    print(f"wall time {wall:.1f} s (2 shared cores: noisy)")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
