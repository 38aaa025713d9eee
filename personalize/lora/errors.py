"""The engine's one error type. Codes are listed, with their messages, in ``personalize/errors.py``."""

from __future__ import annotations

from mediakit.errors import EncoreError


class LoraError(EncoreError):
    code = "lora_error"
    # The API answers with this status when a refusal reaches it (config/api.py reads the attribute).
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, http_status: int | None = None) -> None:
        super().__init__(message, code=code)
        if http_status is not None:
            self.http_status = http_status
