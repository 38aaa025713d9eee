"""Refusals the soundtrack engine can raise, each with a stable code (see mediakit.errors)."""

from __future__ import annotations

from mediakit.errors import EncoreError


class SoundtrackError(EncoreError):
    code = "soundtrack_failed"

