"""The consent stage of `manage.py demo`: a recorded genuine attempt goes through the live path.

The committed clip (a real photograph animated with the 2.5-D landmark warp, see
tools/make_liveness_clips.py) stands in for a webcam. Its frames are sent in one-second batches
on the server's clock, as the browser would send them, and the worker's verdict decides.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from PIL import Image

from charcha.models import Challenge, ConsentRecord
from charcha.notices import notice_current
from charcha.services import (
    challenge_finish,
    challenge_frames_add,
    challenge_issue,
    consent_active,
    consent_verify,
    consent_withdraw,
)
from charcha.testing.fixtures import load_clip, steps_to_json

CLIP = "genuine_a"


def consent_stage(user: User, out_dir: Path) -> dict[str, Any]:
    from jobs.management.commands.demo import wait_for_job

    facts: dict[str, Any] = {}
    previous = consent_active(user=user)
    if previous is not None:
        # A consent can be recorded only while none is active: the last demo's is withdrawn first.
        consent_withdraw(consent=previous, by=user)
        facts["previous_consent_withdrawn"] = str(previous.pk)
    clip = load_clip(CLIP)
    notice = notice_current()
    # Fixed steps are honoured only under DEBUG or tests (the development commands run with DEBUG).
    issued = challenge_issue(user=user, notice_version=notice.version, notice_sha256=notice.sha256, ip="127.0.0.1",
                             user_agent="encore-demo", fixed_steps=steps_to_json(clip.steps))
    challenge = issued.challenge
    print(f"Challenge {challenge.pk}: " + ", ".join(s["action"] for s in challenge.steps)
          + f" — streaming {len(clip.frames)} frames in real time")
    start = time.monotonic()
    batch = int(settings.CHARCHA_CAPTURE_FPS)
    for seq, first in enumerate(range(0, len(clip.frames), batch)):
        frames = clip.frames[first:first + batch]
        # Send each batch just after its last frame was "captured", on the server's clock.
        time.sleep(max(0.0, frames[-1].t_s + 0.05 - (time.monotonic() - start)))
        challenge = challenge_frames_add(user=user, challenge_id=challenge.pk, nonce=issued.nonce, seq=seq,
                                         capture_ms=[round(f.t_s * 1000) for f in frames],
                                         frames=[_jpeg(f.image) for f in frames])
    challenge = challenge_finish(user=user, challenge_id=challenge.pk, nonce=issued.nonce)
    assert challenge.job is not None
    job = wait_for_job(challenge.job, "Consent check")
    challenge = Challenge.objects.get(pk=challenge.pk)
    consent = ConsentRecord.objects.filter(challenge=challenge).first()
    facts.update(challenge=str(challenge.pk), verdict=challenge.state, reason=challenge.reason or "passed",
                 verify_job=str(job.pk))
    if consent is not None:
        report = consent_verify(consent=consent)
        facts.update(consent=str(consent.pk), consent_chain_ok=report.ok, retention_until=consent.retention_until,
                     page="/consent/")
    return facts


def _jpeg(image: Any) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()
