"""The consent stage of `manage.py demo`: a rendered person takes a live challenge, following the cues.

A textured 3-D head built from a real photograph (charcha.testing.head3d) stands in for a person
at a webcam. It does what the capture page does, in real time on the server's clock: it asks the
cue service what to show, is lit by each colour the server reveals, acts each step only once it
is revealed, and sends its frames in half-second batches; the worker analyses each batch as it
arrives, and finishing decides (inline when every batch is analysed, else in a verify job).
"""

from __future__ import annotations

import random
import secrets
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User

from charcha.models import Challenge, ConsentRecord
from charcha.services import IssuedChallenge, consent_active, consent_verify, consent_withdraw

MAX_ATTEMPTS = 3
MACHINE_TOO_BUSY = ("timing_invalid", "too_few_frames")


def consent_stage(user: User, out_dir: Path) -> dict[str, Any]:
    from charcha.testing.attacks import photo
    from charcha.testing.live import RealClock, attempt_live
    from jobs.management.commands.demo import wait_for_job

    facts: dict[str, Any] = {}
    previous = consent_active(user=user)
    if previous is not None:
        # A consent can be recorded only while none is active: the last demo's is withdrawn first.
        consent_withdraw(consent=previous, by=user)
        facts["previous_consent_withdrawn"] = str(previous.pk)

    def announce(issued: IssuedChallenge) -> None:
        print(f"Challenge {issued.challenge.pk}: a rendered head follows the cues live "
              f"(~{issued.challenge.steps[-1]['end_s']:.0f} s; the steps are revealed one by one)")

    for attempt in range(1, MAX_ATTEMPTS + 1):
        facts.pop("verify_job", None)   # only the last attempt's
        # A fresh seed each run: the server refuses frames it has already seen in another challenge.
        run = attempt_live(user=user, clock=RealClock(), rng=random.Random(secrets.randbits(32)),
                           photo_rgb=photo("astronaut"), size=(320, 240), ip="127.0.0.1", user_agent="encore-demo",
                           on_issue=announce)
        challenge = run.challenge
        print("Revealed: " + ", ".join(f"{action} at {t:.1f} s" for t, action in run.prompts))
        if challenge.job is not None:
            job = wait_for_job(challenge.job, "Consent check")
            facts["verify_job"] = str(job.pk)
        challenge = Challenge.objects.get(pk=challenge.pk)
        # The head is rendered in real time on this machine; when it is too busy to keep up, the
        # camera drops frames and the server rightly refuses the gaps. Say so and try again.
        if challenge.reason not in MACHINE_TOO_BUSY or attempt == MAX_ATTEMPTS:
            break
        print(f"Attempt {attempt} failed ({challenge.reason}: {run.frames} frames rendered in time); trying again")
        facts[f"attempt_{attempt}"] = challenge.reason
    consent = ConsentRecord.objects.filter(challenge=challenge).first()
    timings = challenge.verdict.get("timings", {})
    facts.update(challenge=str(challenge.pk), verdict=challenge.state, reason=challenge.reason or "passed",
                 frames_sent=run.frames, decided_inline=bool(timings.get("inline")),
                 verdict_after_last_frame_ms=timings.get("after_last_frame_ms"))
    if consent is not None:
        report = consent_verify(consent=consent)
        facts.update(consent=str(consent.pk), consent_chain_ok=report.ok, retention_until=consent.retention_until,
                     page="/consent/")
    return facts
