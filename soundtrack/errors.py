"""Every code the soundtrack app and its engine raise, and what it tells a person.
tests/config/test_error_codes.py fails when the code raises one that is not listed here; the API
documentation shows them. Upload refusals (media_*) are mediakit's."""

from __future__ import annotations

ERROR_CODES: dict[str, str] = {
    "bad_option": "An option is out of range: a genre we do not know, or an energy outside 1 to 5.",
    "musicgen_unavailable": "MusicGen is not set up on this server.",
    "not_found": "No such video or soundtrack.",
    "soundtrack_failed": "The music could not be made.",
    "synth_failed": "The synthesizer produced no music.",
    "synth_unavailable": "The synthesizer is not installed on this worker.",
    "video_no_frames": "The video has no frames to score.",
    "video_too_long": "The video is longer than we score.",
    "video_too_short": "The video is too short to put music on.",
}
