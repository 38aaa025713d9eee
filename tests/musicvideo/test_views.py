"""The song page's words for what the analysis found."""

from __future__ import annotations

import ast
from pathlib import Path

from musicvideo.views import WARNING_TEXT

AUDIO = Path(__file__).resolve().parents[2] / "musicvideo" / "audio"


def raised_warnings() -> set[str]:
    """Every ``warnings.append("...")`` in the analysis engine."""
    found: set[str] = set()
    for path in AUDIO.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "append"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "warnings"
                    and node.args and isinstance(node.args[0], ast.Constant)):
                found.add(str(node.args[0].value))
    return found


def test_every_analysis_warning_has_a_sentence_on_the_song_page() -> None:
    raised = raised_warnings()
    assert {"no_clear_beat", "unclear_bar", "lyrics_mismatch", "no_vocals_heard"} <= raised
    assert raised <= set(WARNING_TEXT)
