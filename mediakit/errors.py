"""The one error shape every engine raises: a stable code plus a sentence a person can act on."""

from __future__ import annotations


class EncoreError(Exception):
    """A refusal or failure with a stable, machine-readable code.

    Jobs record ``code`` and ``message`` on the Job row; APIs answer with both. Anything that is not
    an EncoreError is treated as a bug (code ``internal_error``).
    """

    code: str = "error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "detail": self.message}


class MediaError(EncoreError):
    code = "media_invalid"


class TransientError(EncoreError):
    """Worth retrying: the cause is outside the input (a busy service, a lost connection)."""

    code = "transient"
