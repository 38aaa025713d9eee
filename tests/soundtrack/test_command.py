"""`manage.py soundtrack VIDEO`: the engine from the command line, with a progress bar and clear refusals."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from soundtrack.testing.synthetic import SyntheticVideo
from tests.media import write_audio, write_png


def test_command_scores_a_video(beat_clip: SyntheticVideo, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = StringIO()
    call_command("soundtrack", str(beat_clip.path), "--out", str(tmp_path / "o"), "--genre", "electronic",
                 "--seed", "2", "--json", stdout=out)
    lines = out.getvalue().splitlines()
    tempo = re.match(r"Electronic, ([0-9.]+) BPM in [A-G][b#]? [a-z]+ \(bright and lively video\)$", lines[0])
    assert tempo is not None and abs(float(tempo.group(1)) - 100.0) <= 0.5, lines[0]
    assert "cuts on a downbeat: 1/1" in lines[1]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == ["music.mid", "music.wav", "soundtrack.mp4"]
    summary = json.loads(lines[-1])
    assert summary["options"] == {"genre": "electronic", "energy": 3, "seed": 2, "mix": "replace"}
    # The progress bar goes to the terminal's error stream and ends full, on the last stage.
    bar = capsys.readouterr().err
    assert "100%" in bar and "done: 100 BPM" in bar


@pytest.mark.parametrize(("maker", "code"), [
    (lambda d: write_png(d / "still.mp4"), "media_type_not_allowed"),
    (lambda d: write_audio(d / "sound.mp4", "aac", "mp4"), "media_no_video"),
])
def test_command_refuses_bad_input_with_its_code(maker, code: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError) as err:
        call_command("soundtrack", str(maker(tmp_path)), "--out", str(tmp_path / "o"))
    assert str(err.value).endswith(f"({code})")
    assert not (tmp_path / "o").exists()


def test_command_refuses_a_video_over_the_limit(beat_clip: SyntheticVideo, tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    settings.VIDEO_MAX_DURATION_S = 2.0
    with pytest.raises(CommandError) as err:
        call_command("soundtrack", str(beat_clip.path), "--out", str(tmp_path / "o"))
    assert str(err.value) == "The file lasts 5 s; the limit is 2 s. (media_too_long)"


def test_command_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="No such file"):
        call_command("soundtrack", str(tmp_path / "nope.mp4"))
