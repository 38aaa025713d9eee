"""Refusals in plain words for the upload forms: an engine's EncoreError carries a stable code and
a precise sentence ("Files of type 'png_pipe' are not accepted here."); a person choosing a file
needs to hear what was wrong with *their* file and what to do instead. Codes not listed here fall
back to the error's own message (never the code)."""

from __future__ import annotations

from mediakit.errors import EncoreError

KINDS = {
    "video": ("a video", "MP4, MOV, MKV, WebM or AVI"),
    "song": ("a song", "MP3, WAV, FLAC, OGG or M4A"),
}

UPLOAD_WORDS: dict[str, str] = {
    "media_missing": "Choose {a_kind} file first.",
    "media_empty": "“{name}” is empty. Choose the file again, or another one.",
    "media_type_not_allowed": "“{name}” isn't {a_kind}. Choose {a_kind} file: {formats}.",
    "media_no_video": "“{name}” has no picture. Choose a video file ({formats}), not a sound or a photo.",
    "media_no_audio": "“{name}” has no sound. Choose a song file ({formats}).",
    "media_codec_not_allowed": "“{name}” is coded in a way we can't play. Export it again as {formats}.",
    "media_unreadable": "We couldn't read “{name}”. It may be damaged: export it again and retry.",
    "media_invalid": "We couldn't read “{name}”. It may be damaged: export it again and retry.",
    "media_truncated": "“{name}” is cut short or damaged. Export it again and retry.",
    "media_too_large": "“{name}” is too big to upload here. {detail}",
    "media_resolution_too_large": "“{name}” is too large a picture for us. {detail}",
    "media_too_long": "“{name}” is too long. {detail}",
    "media_too_short": "“{name}” is too short. {detail}",
    "video_too_short": "“{name}” is too short to put music on: choose one of a few seconds or more.",
    "video_too_long": "“{name}” is longer than we can score. Trim it and try again.",
    "video_no_frames": "“{name}” has no pictures we could read. Export it again and retry.",
    "rate_limited": "You've uploaded a lot in a short time. Wait a little and try again.",
}


def _detail(message: str) -> str:
    """Limits as people say them: "The file lasts 400 s; the limit is 300 s." -> "The limit is 5 minutes"."""
    if "the limit is" in message:
        limit = message.split("the limit is", 1)[1].strip().rstrip(".")
        if limit.endswith(" s") and limit[:-2].isdigit():
            seconds = int(limit[:-2])
            limit = f"{seconds // 60} minutes" if seconds >= 120 and seconds % 60 == 0 else f"{seconds} seconds"
        return f"The limit is {limit}."
    return ""


def upload_error(exc: EncoreError, *, kind: str, name: str = "") -> str:
    """One sentence for the field's error, naming the person's file."""
    a_kind, formats = KINDS.get(kind, ("a", "a common format"))
    words = UPLOAD_WORDS.get(exc.code)
    if words is None or ("{name}" in words and not name):
        return exc.message
    return words.format(name=name, a_kind=a_kind, formats=formats, detail=_detail(exc.message)).strip()
