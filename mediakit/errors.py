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


# Every code mediakit (and the upload plumbing in config/uploads.py) raises, and what it tells a person.
ERROR_CODES: dict[str, str] = {
    "error": "Something could not be done.",
    "media_codec_not_allowed": "The file's audio or video coding is not one we accept.",
    "media_empty": "The file is empty.",
    "media_invalid": "The file is not valid media.",
    "media_missing": "No file was sent.",
    "media_no_audio": "The file has no sound.",
    "media_no_video": "The file has no picture.",
    "media_resolution_too_large": "The video's picture is larger than we accept.",
    "media_too_complex": "The file needs more memory to read than we allow.",
    "media_too_large": "The file is larger than we accept.",
    "media_too_long": "The file is longer than we accept.",
    "media_too_short": "The file is too short.",
    "media_truncated": "The file is damaged or cut short.",
    "media_type_not_allowed": "This kind of file is not accepted here.",
    "media_unreadable": "This file is not audio or video we can read.",
    "provenance_failed": "The provenance manifest could not be written or read.",
    "provenance_no_certificate": "No signing certificate is configured.",
    "provenance_unsupported": "This kind of file cannot carry a provenance manifest.",
    "transient": "A service was briefly unavailable.",
}
