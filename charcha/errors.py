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
