"""CHARCHA's refusals: each has a stable code and the HTTP status the API answers with."""

from __future__ import annotations

from mediakit.errors import EncoreError


class ChallengeError(EncoreError):
    code = "challenge_invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status


class ChallengeLocked(ChallengeError):
    code = "locked_out"
    http_status = 423


class ConsentError(ChallengeError):
    code = "consent_invalid"


# Every code CHARCHA answers or records with, and what it tells a person. tests/config/test_error_codes.py
# fails when the code raises one that is not here; the API documentation lists them.
ERROR_CODES: dict[str, str] = {
    "action_unknown": "The challenge asks for an action we do not know.",
    "batch_empty": "A batch must hold at least one frame.",
    "batch_out_of_order": "Frame batches must arrive in order.",
    "batch_too_large": "Too many frames in one batch.",
    "capture_after_expiry": "A frame was taken after the challenge expired.",
    "capture_after_receipt": "A frame claims to be taken after it reached us.",
    "capture_before_issue": "A frame claims to be taken before the challenge began.",
    "capture_not_monotonic": "Capture times must increase from frame to frame.",
    "capture_times_invalid": "Capture times must be a list of milliseconds.",
    "capture_too_dense": "Frames arrive faster than a camera can take them.",
    "capture_too_late": "Frames reached us too long after they were taken.",
    "challenge_active": "Another challenge was started at the same moment. Use one tab.",
    "challenge_expired": "This challenge has expired. Start a new one.",
    "challenge_invalid": "This challenge request is not valid.",
    "challenge_not_found": "There is no such challenge.",
    "challenge_not_open": "This challenge is no longer open; each challenge can be used once.",
    "challenge_superseded": "A newer challenge was started, so this one has ended.",
    "challenge_too_short": "A challenge needs more steps.",
    "challenge_verifying": "Your last challenge is still being checked. Wait for its result.",
    "ciphertext_invalid": "The stored data is not in a format we can decrypt.",
    "consent_already_active": "You already have an active consent. Withdraw it before recording a new one.",
    "consent_already_ended": "This consent has already ended.",
    "consent_busy": "The consent record is busy; try again.",
    "consent_ended": "This consent has ended; its pictures may not be used.",
    "consent_invalid": "This consent record is not valid.",
    "consent_not_found": "There is no such consent record.",
    "consent_required": "This needs your live consent first.",
    "crypto_error": "Stored data could not be decrypted.",
    "data_key_invalid": "A data key is not valid.",
    "frame_invalid": "A frame is not a picture we can check.",
    "frame_not_jpeg": "Frames must be JPEG images.",
    "frame_replayed": "These pictures were already sent in another challenge.",
    "frame_size_invalid": "A frame's size is outside what we accept.",
    "frame_too_large": "A frame is larger than we accept.",
    "frames_empty": "No camera frames were given to check.",
    "frames_erased": "The pictures of this challenge have been erased.",
    "frames_mismatch": "Each frame needs exactly one capture time.",
    "identity_backend_faulty": "The face identity model gives wrong results on this server.",
    "identity_backend_unavailable": "The face identity model is not installed on this server.",
    "identity_backend_unknown": "The configured face identity backend is unknown.",
    "kek_invalid": "A key-encryption key is not valid.",
    "kek_missing": "The active key-encryption key is not configured.",
    "liveness_input_invalid": "The camera frames cannot be checked.",
    "locked_out": "Too many failed attempts; try again later.",
    "nonce_mismatch": "This request does not belong to this challenge.",
    "nonce_missing": "The challenge nonce is missing.",
    "not_yours": "Only the person who consented can withdraw this consent.",
    "notice_invalid": "The consent notice is not valid.",
    "notice_mismatch": "The notice you agreed to is not the one we published. Reload the page.",
    "notice_outdated": "The consent notice has changed. Reload the page and read the new one.",
    "notice_tampered": "A consent notice was changed after publication.",
    "notice_unknown": "There is no such consent notice version.",
    "observations_invalid": "The stored analysis of some pictures could not be read.",
    "permission_denied": "You may not do this.",
    "picture_not_found": "This picture is not kept (any more).",
    "reason_required": "Say why the consent is revoked.",
    "retention_invalid": "The retention period is outside what is allowed.",
    "seq_invalid": "The batch number is missing or not a number.",
    "steps_empty": "The challenge has no steps to check against.",
    "steps_invalid": "The configured challenge steps are not valid.",
    "too_many_frames": "This challenge has received as many frames as it accepts.",
}
