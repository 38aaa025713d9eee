"""The whole engine on files: progress, bad input, serialisation, and memory on a 15-minute song."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from mediakit.audio import write_wav
from musicvideo.audio.analysis import Analysis, AnalysisOptions, AudioError, analyze_file, analyze_samples
from musicvideo.audio.features import ANALYSIS_SR
from musicvideo.storyboard import build_storyboard
from musicvideo.testing.synthetic import make_song, pop_song
from tests.musicvideo import songs

NO_WHISPER = AnalysisOptions(transcribe=False)


def test_pop_song_end_to_end() -> None:
    analysis = songs.pop_analysis()
    song = songs.pop()
    assert analysis.duration_s == pytest.approx(song.duration_s, abs=0.05)
    assert analysis.tempo_bpm == pytest.approx(120.0, abs=0.5)
    assert [s.name for s in analysis.sections] == ["intro", "verse", "chorus", "verse", "chorus", "bridge",
                                                   "chorus", "outro"]
    assert {s.mood for s in analysis.sections[1:-1]} == {"euphoric"}
    assert analysis.warnings == []
    assert len(analysis.waveform) == 1200 and max(analysis.waveform) == 1.0
    assert len(analysis.emotion_times_s) == len(analysis.valence) == len(analysis.arousal) == 114
    assert set(analysis.timings_s) == {"decode", "features", "rhythm", "structure", "lyrics", "emotion"}


def test_progress_is_monotonic_and_ends_at_one(tmp_path: Path) -> None:
    calls: list[tuple[str, float]] = []
    analyze_file(songs.instrumental_wav(), options=NO_WHISPER,
                 progress=lambda stage, fraction, message="": calls.append((stage, fraction)))
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    assert calls[0][0] == "decode"
    # Every stage says when it starts, so a progress bar never sits on the previous stage's name.
    assert list(dict.fromkeys(s for s, _ in calls)) == ["decode", "features", "rhythm", "structure", "lyrics",
                                                        "emotion"]


def test_to_dict_round_trip() -> None:
    analysis = songs.pop_analysis()
    assert Analysis.from_dict(analysis.to_dict()) == analysis


def test_silence_is_a_clear_error(tmp_path: Path) -> None:
    path = write_wav(tmp_path / "silence.wav", np.zeros(22050 * 5, dtype=np.float32), 22050)
    with pytest.raises(AudioError) as info:
        analyze_file(path)
    assert info.value.code == "audio_silent"


def test_too_short_is_a_clear_error() -> None:
    with pytest.raises(AudioError) as info:
        analyze_samples(np.ones(ANALYSIS_SR // 4, dtype=np.float32) * 0.1)
    assert info.value.code == "audio_too_short"


def test_one_second_file_gets_a_usable_analysis_and_storyboard(tmp_path: Path) -> None:
    one = songs.pop().samples[: 22050 * 8]
    path = write_wav(tmp_path / "one.wav", one[22050 * 4: 22050 * 5], 22050)
    analysis = analyze_file(path)
    assert analysis.duration_s == pytest.approx(1.0, abs=0.01)
    assert len(analysis.sections) == 1 and analysis.sections[0].start_s == 0.0
    assert analysis.sections[0].end_s == analysis.duration_s
    board = build_storyboard(analysis)
    assert len(board.scenes) >= 1
    assert board.scenes[0].start_s == 0.0 and board.scenes[-1].end_s == analysis.duration_s


def test_noise_gets_a_usable_analysis(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    path = write_wav(tmp_path / "noise.wav", (0.2 * rng.standard_normal(22050 * 20)).astype(np.float32), 22050)
    analysis = analyze_file(path)
    assert "no_clear_beat" in analysis.warnings
    assert analysis.tempo_bpm == 120.0
    assert analysis.sections and analysis.sections[-1].end_s == analysis.duration_s
    board = build_storyboard(analysis)
    assert len(board.scenes) >= 2
    assert all(s.prompt for s in board.scenes)


def test_fifteen_minute_song_holds_one_copy_of_the_audio(tmp_path: Path) -> None:
    """Peak traced memory during the analysis stays below two copies of the decoded audio.

    If any stage had made a second full copy (a resampled song, a full-length STFT, a whole-song
    abs()), the peak would pass 2x: the audio is the largest array in play.
    """
    loop = make_song(pop_song(tempo_bpm=120.0, repeats=1, vocals=False, seed=9)).samples
    # A first analysis in the process compiles librosa's numba kernels, whose Python objects
    # (~60 MiB traced) would count as the song's: warm up on the short loop first, as any earlier
    # analysis in a worker process has.
    analyze_file(write_wav(tmp_path / "warm.wav", loop, 22050), options=NO_WHISPER)
    minutes15 = np.tile(loop, int(np.ceil(900 * 22050 / len(loop))))[: 900 * 22050]
    path = write_wav(tmp_path / "long.wav", minutes15, 22050)
    del loop, minutes15
    tracemalloc.start()
    try:
        analysis = analyze_file(path, options=NO_WHISPER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_copy = 900 * ANALYSIS_SR * 4
    assert analysis.duration_s == pytest.approx(900.0, abs=0.1)
    assert peak < 2 * one_copy, f"peak {peak / 2**20:.1f} MiB, one copy {one_copy / 2**20:.1f} MiB"
