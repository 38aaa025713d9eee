"""Lyrics: Whisper word times, alignment of given lyrics and .lrc, and what happens when they don't fit."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from musicvideo.audio.lyrics import (
    LyricsError,
    Word,
    align_tokens,
    lyrics_from_text,
    normalize_token,
    parse_lrc,
    parse_lyrics,
)
from musicvideo.testing.synthetic import SyntheticSong
from tests.musicvideo import songs


def start_errors(words: list[Word], song: SyntheticSong) -> tuple[int, np.ndarray]:
    """Matched word count and start-time errors of ``words`` against the song's truth."""
    pairs = align_tokens([normalize_token(w.text) for w in song.words], [normalize_token(w.text) for w in words])
    return len(pairs), np.array([words[j].start_s - song.words[i].start_s for i, j in pairs])


def recognised() -> list[Word]:
    analysis = songs.pop_analysis()
    assert analysis.lyrics_source == "whisper"
    return analysis.words


def test_whisper_word_starts() -> None:
    song = songs.pop()
    matched, errors = start_errors(recognised(), song)
    assert matched / len(song.words) >= 0.7
    assert float(np.median(np.abs(errors))) <= 0.15


def test_given_lyrics_are_aligned_not_transcribed() -> None:
    song = songs.pop()
    lyrics = lyrics_from_text(song.lyrics_text, None, recognised=recognised(), duration_s=song.duration_s)
    assert lyrics.source == "given"
    # The user's words, every one of them, in their order and spelling.
    assert [w.text for w in lyrics.words] == [w.text for w in song.words]
    assert [ln.text for ln in lyrics.lines] == song.lines
    errors = np.array([w.start_s - t.start_s for w, t in zip(lyrics.words, song.words, strict=True)])
    assert float(np.median(np.abs(errors))) <= 0.15
    assert lyrics.matched_fraction is not None and lyrics.matched_fraction >= 0.7
    assert lyrics.warnings == []
    starts = [w.start_s for w in lyrics.words]
    assert starts == sorted(starts)


def test_lrc_line_times_anchor_the_lines() -> None:
    song = songs.pop()
    lyrics = lyrics_from_text(None, song.lrc_text(), recognised=recognised(), duration_s=song.duration_s)
    assert lyrics.source == "lrc"
    first_words = [lyrics.words[ln.first_word] for ln in lyrics.lines]
    truth_first = [song.words[ln.first_word] for ln in lyrics.lines]
    assert [w.start_s for w in first_words] == [round(t.start_s, 2) for t in truth_first]
    assert {w.source for w in first_words} == {"anchored"}
    errors = np.array([w.start_s - t.start_s for w, t in zip(lyrics.words, song.words, strict=True)])
    assert float(np.median(np.abs(errors))) <= 0.15


def test_lyrics_that_do_not_match_are_kept_spread_and_flagged() -> None:
    song = songs.pop()
    text = "purple elephants juggle quietly\nbeneath seventeen bicycles"
    lyrics = lyrics_from_text(text, None, recognised=recognised(), duration_s=song.duration_s)
    assert lyrics.warnings == ["lyrics_mismatch"]
    assert [w.text for w in lyrics.words] == text.split()
    assert {w.source for w in lyrics.words} == {"spread"}
    heard = recognised()
    assert lyrics.words[0].start_s == heard[0].start_s
    assert all(a.start_s < b.start_s for a, b in zip(lyrics.words, lyrics.words[1:], strict=False))
    assert lyrics.words[-1].end_s <= heard[-1].end_s


def test_instrumental_has_no_words(caplog: pytest.LogCaptureFixture) -> None:
    from musicvideo.audio.analysis import analyze_file

    caplog.set_level(logging.INFO)
    analysis = analyze_file(songs.instrumental_wav())
    # Whisper ran (and found nothing) without a log line: on a terminal those break into the progress bar.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("faster_whisper")] == []
    assert analysis.words == []
    assert analysis.lyrics_source == "none"
    assert "no_vocals" in analysis.warnings


def test_given_lyrics_on_an_instrumental_are_spread_over_the_song() -> None:
    lyrics = lyrics_from_text("one two three\nfour five", None, recognised=[], duration_s=50.0)
    assert lyrics.warnings == ["lyrics_mismatch", "no_vocals_heard"]
    assert lyrics.words[0].start_s == 0.0
    assert [ln.text for ln in lyrics.lines] == ["one two three", "four five"]
    assert lyrics.words[-1].end_s <= 50.0


def test_parse_lyrics_drops_section_markers_and_blank_lines() -> None:
    assert parse_lyrics("[Chorus]\n  Hello   world \n\n(ooh) yeah\n!!!\n") == [["Hello", "world"], ["(ooh)", "yeah"]]


def test_parse_lrc() -> None:
    text = "[ar:Someone]\n[ti:Song]\n[00:12.50]first line\n[01:02.5][00:05]twice sung\n[00:20.00]\nno stamp"
    assert parse_lrc(text) == [(5.0, ["twice", "sung"]), (12.5, ["first", "line"]), (62.5, ["twice", "sung"])]
    with pytest.raises(LyricsError) as info:
        parse_lrc("just words\nno times")
    assert info.value.code == "lrc_invalid"


def test_align_tokens_exact_then_fuzzy_but_short_words_exactly() -> None:
    given = ["we", "are", "dancing", "in", "the", "sun", "hold", "my", "hand"]
    heard = ["we", "are", "fencing", "in", "a", "ten", "by", "hand"]
    assert align_tokens(given, heard) == [(0, 0), (1, 1), (2, 2), (3, 3), (8, 7)]
