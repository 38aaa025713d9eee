"""``manage.py analyze_song FILE``: the same analysis as the song page, printed with a progress bar."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from tests.musicvideo import songs


def test_prints_sections_lines_and_storyboard(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    lyrics = songs.path("short-lyrics.txt")
    lyrics.write_text(songs.short().lyrics_text)
    call_command("analyze_song", str(songs.short_wav()), "--lyrics", str(lyrics), stdout=out)
    text = out.getvalue()
    header = re.match(r"Duration 25\.5 s · tempo (\d+\.\d) BPM · key ", text)
    assert header is not None
    # The song is at 120 BPM; its steady grid, fitted through 47 beats whose last dozen (an outro
    # without drums) sit a frame late, reads 119.9.
    assert float(header.group(1)) == pytest.approx(120.0, abs=0.15)
    assert re.search(r"\nLyrics: given, 22 words \(\d+% of yours matched\)\n", text)
    assert "  walking down the empty street" in text
    assert "\nStoryboard: " in text and "prompts by template" in text
    assert text.count("The person ") >= 3 and "sks person" not in text
    # The progress bar goes to stderr (tqdm), ending at 100 %.
    assert "100%" in capsys.readouterr().err


def test_json_output(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("analyze_song", str(songs.short_wav()), "--no-whisper", "--json", "--style", "anime", stdout=out)
    data = json.loads(out.getvalue())
    assert data["tempo_bpm"] == pytest.approx(120.0, abs=0.5)
    assert data["lyrics_source"] == "none" and data["words"] == []
    assert data["storyboard"] and all("anime key visual" in s["prompt"] for s in data["storyboard"])


def test_bad_file_is_a_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "song.mp3"
    text.write_text("not a song")
    with pytest.raises(CommandError, match=r"\(media_unreadable\)"):
        call_command("analyze_song", str(text))
    with pytest.raises(CommandError, match="No such file"):
        call_command("analyze_song", str(tmp_path / "missing.wav"))
    bad_lrc = tmp_path / "bad.lrc"
    bad_lrc.write_text("no stamps")
    with pytest.raises(CommandError, match=r"\(lrc_invalid\)"):
        call_command("analyze_song", str(songs.short_wav()), "--lrc", str(bad_lrc))


def test_bars_and_beat_as_the_user_says() -> None:
    def run(*extra: str) -> dict:
        out = io.StringIO()
        call_command("analyze_song", str(songs.short_wav()), "--no-whisper", "--json", *extra, stdout=out)
        return json.loads(out.getvalue())

    found, moved = run(), run("--bar-shift", "2", "--tempo", "half")
    assert moved["tempo_bpm"] == pytest.approx(found["tempo_bpm"] / 2, abs=0.01)
    first = found["beats_s"].index(found["downbeats_s"][0])
    assert moved["beats_s"] == found["beats_s"][first % 2::2]
    assert moved["downbeats_s"][0] == moved["beats_s"][first // 2 + 2]
    # The storyboard is cut on the beats as corrected.
    starts = {s["start_s"] for s in moved["storyboard"]}
    assert starts <= {0.0, *moved["beats_s"]}
    with pytest.raises(CommandError, match="invalid choice: 4"):
        call_command("analyze_song", str(songs.short_wav()), "--bar-shift", "4")
