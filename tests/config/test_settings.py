"""Settings read from the environment refuse what they cannot understand."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def start(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=120)


@pytest.mark.parametrize("value", ["flase", "2", "maybe", "enabled"])
def test_a_boolean_that_is_neither_true_nor_false_stops_the_start(value: str) -> None:
    result = start(MUSICVIDEO_TRANSCRIBE=value)
    assert result.returncode != 0
    assert f"MUSICVIDEO_TRANSCRIBE={value!r} is neither true nor false" in result.stderr


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("Yes", True), (" on ", True), ("true", True),
                                                 ("0", False), ("no", False), ("OFF", False), ("False", False),
                                                 ("", True)])
def test_clear_booleans_are_read(value: str, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import env_bool

    monkeypatch.setenv("ENCORE_SOME_SWITCH", value)
    assert env_bool("ENCORE_SOME_SWITCH", True) is expected
