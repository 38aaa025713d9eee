"""Refusals the soundtrack engine can raise, each with a stable code (see mediakit.errors)."""

from __future__ import annotations

from mediakit.errors import EncoreError


class SoundtrackError(EncoreError):
    code = "soundtrack_failed"


# The codes the engine itself uses; the upload validator (mediakit.validate) adds its own media_* codes.
ERROR_CODES = (
    "video_no_frames",      # the stream decodes to nothing (a 0-second video)
    "video_too_short",      # too short to put music on
    "video_too_long",       # over the configured limit
    "synth_unavailable",    # FluidSynth or the soundfont is missing on this machine
    "synth_failed",         # FluidSynth ran but produced no audio
    "musicgen_unavailable",  # MusicGen asked for but not configured or no GPU
    "bad_option",           # an unknown genre preset or an energy level out of range
)
