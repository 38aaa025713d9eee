"""Synthetic test songs with known truth, generated once per test process and cached.

Used by the engine tests, the Django tests and the browser test alike (a conftest fixture would
not reach tests/e2e/). Whisper analyses are cached too: recognition is the slow part.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from mediakit.audio import write_wav
from musicvideo.audio.analysis import Analysis, analyze_file
from musicvideo.testing.synthetic import (
    SectionSpec,
    SongSpec,
    SyntheticSong,
    calm_major,
    fast_minor,
    make_song,
    pop_song,
)

_DIR = Path(tempfile.mkdtemp(prefix="encore-test-songs-"))
atexit.register(shutil.rmtree, _DIR, ignore_errors=True)


def _write(name: str, song: SyntheticSong) -> Path:
    return write_wav(_DIR / f"{name}.wav", song.samples, song.sample_rate)


@functools.cache
def pop() -> SyntheticSong:
    """Intro, verse, chorus, verse, chorus, bridge, chorus, outro at 120 BPM with sung words (113.5 s)."""
    return make_song(pop_song(tempo_bpm=120.0))


@functools.cache
def pop_wav() -> Path:
    return _write("pop", pop())


@functools.cache
def pop_analysis() -> Analysis:
    """The pop song through the whole engine with Whisper (once per process)."""
    return analyze_file(pop_wav())


@functools.cache
def short() -> SyntheticSong:
    """A 24-second song with words, for the web tests: intro, verse, chorus."""
    verse = SectionSpec("verse", 4, ("Am", "F", "C", "G"), timbre="pluck", drums="light", level_db=-17.0,
                        lyrics=("walking down the empty street", "city lights are fading slow"))
    chorus = SectionSpec("chorus", 4, ("D", "A", "Bm", "G"), timbre="saw", drums="full", level_db=-12.0,
                         lyrics=("we are dancing in the sun", "hold my hand and feel alive"))
    intro = SectionSpec("intro", 4, ("Dm", "Dm", "Em", "Em"), timbre="pad", drums="sparse", level_db=-20.0)
    return make_song(SongSpec(tempo_bpm=120.0, sections=(intro, verse, chorus), seed=11))


@functools.cache
def short_wav() -> Path:
    return _write("short", short())


@functools.cache
def instrumental() -> SyntheticSong:
    return make_song(pop_song(tempo_bpm=100.0, repeats=1, vocals=False, seed=5))


@functools.cache
def instrumental_wav() -> Path:
    return _write("instrumental", instrumental())


@functools.cache
def calm() -> SyntheticSong:
    return make_song(calm_major())


@functools.cache
def fast() -> SyntheticSong:
    return make_song(fast_minor())


def path(name: str) -> Path:
    """A fresh path in the shared song folder (for a test's own files)."""
    return _DIR / name
