"""Versioned consent notices: the exact text a user reads before the camera starts.

Each version is a file ``notices/v<N>.txt`` whose UTF-8 bytes are what the page shows and what the
ConsentRecord's SHA-256 is taken over. A published notice must never change: a user's consent
refers to the words they read. ``PUBLISHED`` pins each version's hash so that an edit to a published
file fails loudly (tests, and at run time) instead of silently re-meaning old consents; a change
of wording is a new file with the next version number.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mediakit.errors import EncoreError

NOTICE_DIR = Path(__file__).resolve().parent / "notices"

# version -> SHA-256 of the file's bytes, pinned when the version was published.
PUBLISHED: dict[int, str] = {
    1: "0378dbfc788750d63105e9705369692d493d6034272451fdc3ef5720c38a853f",
    # v2: a pass also keeps a few seconds of the challenge as short runs of consecutive frames.
    2: "e3fd67dddd1108d72fef6979175a8a6ee77ff5c7c6e3d929b7d48db7e9ce541a",
}
CURRENT_VERSION = max(PUBLISHED)


class NoticeError(EncoreError):
    code = "notice_invalid"


@dataclass(frozen=True)
class Notice:
    version: int
    text: str
    sha256: str

    @property
    def title(self) -> str:
        return self.text.split("\n", 1)[0].strip()

    @property
    def sections(self) -> list[tuple[str, str]]:
        """(heading, paragraph) pairs: the file is a title line, then heading/paragraph blocks."""
        blocks = [b.strip() for b in self.text.split("\n\n")[1:] if b.strip()]
        out: list[tuple[str, str]] = []
        for block in blocks:
            heading, _, body = block.partition("\n")
            out.append((heading.strip(), body.strip()))
        return out


@cache
def notice_get(version: int) -> Notice:
    pinned = PUBLISHED.get(version)
    if pinned is None:
        raise NoticeError(f"There is no consent notice version {version}.", code="notice_unknown")
    raw = (NOTICE_DIR / f"v{version}.txt").read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != pinned:
        # Refuse to show or accept a notice whose words differ from what was published.
        raise NoticeError(f"Consent notice version {version} was changed after publication.",
                          code="notice_tampered")
    return Notice(version=version, text=raw.decode("utf-8"), sha256=digest)


def notice_current() -> Notice:
    return notice_get(CURRENT_VERSION)
