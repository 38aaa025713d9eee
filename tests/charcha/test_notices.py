"""Published notices are pinned by hash; a changed text is refused, not shown."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from charcha import notices
from charcha.notices import CURRENT_VERSION, PUBLISHED, NoticeError, notice_current, notice_get


def test_current_notice_is_the_pinned_text() -> None:
    notice = notice_current()
    raw = (notices.NOTICE_DIR / f"v{CURRENT_VERSION}.txt").read_bytes()
    assert notice.sha256 == hashlib.sha256(raw).hexdigest() == PUBLISHED[CURRENT_VERSION]
    assert notice.text == raw.decode()
    assert notice.title.startswith("Consent to capture and use your face")
    headings = [h for h, _ in notice.sections]
    assert headings == ["What happens", "What we keep", "What we use it for", "Who can see it", "How long",
                        "Withdrawing", "What we record about this consent"]


def test_an_edited_published_notice_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copy(notices.NOTICE_DIR / "v1.txt", tmp_path / "v1.txt")
    with (tmp_path / "v1.txt").open("a") as fh:
        fh.write("\nWe may also sell your pictures.\n")
    monkeypatch.setattr(notices, "NOTICE_DIR", tmp_path)
    notice_get.cache_clear()
    try:
        with pytest.raises(NoticeError) as err:
            notice_get(1)
        assert err.value.code == "notice_tampered"
    finally:
        notice_get.cache_clear()


def test_unknown_versions_are_refused() -> None:
    with pytest.raises(NoticeError) as err:
        notice_get(CURRENT_VERSION + 1)
    assert err.value.code == "notice_unknown"
