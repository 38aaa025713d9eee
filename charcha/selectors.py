"""Read-side helpers: what pages and the API show about challenges and consents."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db.models import QuerySet

from charcha.models import Challenge, ConsentRecord
from charcha.services import Cue, challenge_lockout_until
from charcha.wording import PROMPTS, outcome_for
from jobs.selectors import job_summary

VISION_REASONS = ("no_face", "multiple_faces", "identity_changed", "action_missed", "wrong_order",
                  "too_few_frames", "timing_invalid", "face_too_small", "light_mismatch", "light_flat",
                  "unrequested_action")


def cue_public(cue: Cue) -> dict[str, Any]:
    """A cue as the page reads it: the light now, and the step now (only once it has begun)."""
    return {"t_ms": cue.t_ms, "phase": cue.phase, "light": {"rgb": list(cue.rgb), "index": cue.light_index},
            "step": None if cue.step_index is None else {
                "index": cue.step_index, "count": cue.step_count, "action": cue.action,
                "prompt": PROMPTS[cue.action or ""], "ms_left": cue.ms_left},
            "step_count": cue.step_count, "done": cue.done}


def challenge_status(*, challenge: Challenge) -> dict[str, Any]:
    """A challenge as its owner may see it: state, a reason category in words, never a score."""
    outcome = outcome_for(challenge.state, challenge.reason)
    locked_until = challenge_lockout_until(user=challenge.user) if challenge.state == Challenge.State.FAILED else None
    job = challenge.job
    consent = ConsentRecord.objects.filter(challenge=challenge).only("pk").first()
    return {
        "id": str(challenge.pk),
        "state": challenge.state,
        "reason": challenge.reason,
        "title": outcome.title,
        # The engine's own sentence names the move that was missed; other states use the category's.
        "message": (challenge.verdict.get("message") or outcome.message)
        if challenge.state == Challenge.State.FAILED and challenge.reason in VISION_REASONS else outcome.message,
        "retry_allowed": outcome.retry_allowed and locked_until is None,
        "locked_until": locked_until.isoformat() if locked_until else None,
        "frames_received": challenge.frame_count,
        "consent_id": str(consent.pk) if consent else None,
        "job": job_summary(job),
    }


def consent_records_of(*, user: User) -> QuerySet[ConsentRecord]:
    return ConsentRecord.objects.filter(user_id=user.pk).order_by("-granted_at")
