"""Beats, bars and sections of real recordings hold when only the file around the music changes.

Nobody annotated these excerpts (tests/fixtures/music/README.md), so each is compared with itself:
silence added before or after the music, or a lower level, must move every beat, downbeat and
section boundary by exactly the silence added, or not at all.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import librosa
import mir_eval
import numpy as np
import pytest

from mediakit.audio import decode_audio, write_wav
from musicvideo.audio.analysis import Analysis, AnalysisOptions, analyze_samples
from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.audio.rhythm import (
    LEVEL_CLOSE,
    _frame_rms,
    _song_tempo,
    active_span,
    analyze_rhythm,
    estimate_period,
    level_margin,
    noise_floor,
    short_floor,
)
from musicvideo.testing.noise import NoiseKind, with_noise_floor
from musicvideo.testing.tempo import warp_samples, warp_time

MUSIC = Path(__file__).resolve().parents[2] / "fixtures" / "music"
EXCERPTS = ["asc-time-to-strike-60s.ogg", "wesnoth-northerners-30s.ogg"]
NO_LYRICS = AnalysisOptions(transcribe=False)


def load(name: str) -> np.ndarray:
    return decode_audio(MUSIC / name, sample_rate=ANALYSIS_SR)


def padded(samples: np.ndarray, lead_s: float, tail_s: float) -> np.ndarray:
    return np.concatenate([np.zeros(int(round(lead_s * ANALYSIS_SR)), dtype=np.float32), samples,
                           np.zeros(int(round(tail_s * ANALYSIS_SR)), dtype=np.float32)])


def boundaries(analysis: Analysis) -> list[float]:
    return [s.start_s for s in analysis.sections[1:]]


@pytest.fixture(scope="module", params=EXCERPTS)
def excerpt(request: pytest.FixtureRequest) -> tuple[np.ndarray, Analysis]:
    samples = load(request.param)
    return samples, analyze_samples(samples, options=NO_LYRICS)


def test_the_excerpts_have_a_pulse_bars_and_sections(excerpt: tuple[np.ndarray, Analysis]) -> None:
    _, analysis = excerpt
    assert analysis.warnings == []
    assert 60 <= analysis.tempo_bpm <= 180
    assert len(analysis.downbeats_s) >= 8
    assert len(analysis.sections) >= 2


@pytest.mark.parametrize(("name", "bpm", "margin"), [
    ("etr-freezingpoint-60s.ogg", 180.0, 0.977),       # its 90 BPM level nearly ties: the close call is said
    ("asc-time-to-strike-60s.ogg", 120.0, 0.84),
    ("wesnoth-northerners-30s.ogg", 131.0, 0.738),
])
def test_a_beat_level_that_nearly_ties_with_another_is_said_to_be_a_close_call(name: str, bpm: float,
                                                                               margin: float) -> None:
    samples = load(name)
    first, stop = active_span(samples)
    features = compute_features(samples[first:stop], offset_s=first / ANALYSIS_SR)
    period, _, lags_ac = _song_tempo(features.onset_env, features.frame_rate)
    assert 60 * features.frame_rate / period == pytest.approx(bpm, abs=0.2)
    assert level_margin(lags_ac, features.frame_rate, period) == pytest.approx(margin, abs=0.005)
    rhythm = analyze_rhythm(features, duration_s=len(samples) / ANALYSIS_SR)
    assert ("unclear_tempo" in rhythm.warnings) is (margin >= LEVEL_CLOSE)


@pytest.mark.parametrize(("lead_s", "tail_s"), [(0.5, 0.0), (0.013, 0.0), (1.37, 0.4), (2.0, 2.0), (0.0, 1.1)])
def test_silence_around_the_music_moves_nothing_but_the_shift(excerpt: tuple[np.ndarray, Analysis],
                                                              lead_s: float, tail_s: float) -> None:
    samples, reference = excerpt
    shift = round(lead_s * ANALYSIS_SR) / ANALYSIS_SR
    moved = analyze_samples(padded(samples, lead_s, tail_s), options=NO_LYRICS)
    # Times are rounded to the millisecond on both sides: 1 ms is rounding, not movement.
    np.testing.assert_allclose(moved.beats_s, np.asarray(reference.beats_s) + shift, atol=0.0011)
    np.testing.assert_allclose(moved.downbeats_s, np.asarray(reference.downbeats_s) + shift, atol=0.0011)
    np.testing.assert_allclose(boundaries(moved), np.asarray(boundaries(reference)) + shift, atol=0.0011)
    assert [s.label for s in moved.sections] == [s.label for s in reference.sections]
    assert moved.tempo_bpm == reference.tempo_bpm
    # No beat in the silence: the first is where the music's first beat was, the last inside the music.
    assert moved.beats_s[0] >= shift
    assert moved.beats_s[-1] <= shift + len(samples) / ANALYSIS_SR
    assert moved.sections[0].start_s == 0.0
    assert moved.sections[-1].end_s == pytest.approx(moved.duration_s, abs=0.001)


@pytest.mark.parametrize(("noise", "lead_s", "tail_s", "gain"),
                         [("hiss", 0.6, 0.0, 1.0), ("rumble", 1.3, 0.9, 1.0), ("hum", 0.25, 2.0, 1.0),
                          ("hum", 1.5, 2.0, 0.5), ("hum", 0.25, 2.0, 0.5), ("hum", 0.25, 0.0, 0.5),
                          ("hum", 0.6, 0.0, 0.5)])
def test_steady_noise_around_the_music_moves_nothing_but_the_shift(excerpt: tuple[np.ndarray, Analysis], noise: NoiseKind,
                                                                   lead_s: float, tail_s: float, gain: float) -> None:
    # Before noise was told from music, -70 dBFS of hiss before a song counted as music: beats in
    # the hiss, the music's start read as its strongest onset (a real track's beat F 0.82). At half
    # the level, the hum is too close to the music for the opening rule (``_steady_edge``); a
    # 0.25 s lead of it is read against the floor found at the end (``_same_floor``).
    samples, reference = excerpt
    shift = round(lead_s * ANALYSIS_SR) / ANALYSIS_SR
    music = (samples * gain).astype(np.float32)
    moved = analyze_samples(with_noise_floor(music, ANALYSIS_SR, lead_s, tail_s, noise), options=NO_LYRICS)
    beats, downbeats = np.asarray(reference.beats_s) + shift, np.asarray(reference.downbeats_s) + shift
    # The music starts a few samples later than in the clean copy (where it rises above the noise),
    # so frames may fall one 16 ms step apart; nothing moves further.
    np.testing.assert_allclose(moved.beats_s, beats, atol=0.017)
    np.testing.assert_allclose(moved.downbeats_s, downbeats, atol=0.017)
    np.testing.assert_allclose(boundaries(moved), np.asarray(boundaries(reference)) + shift, atol=0.017)
    assert [s.label for s in moved.sections] == [s.label for s in reference.sections]
    assert moved.tempo_bpm == pytest.approx(reference.tempo_bpm, rel=0.001)
    assert moved.beats_s[0] >= shift


def test_noise_is_told_from_silence_fades_and_reverb() -> None:
    samples = load(EXCERPTS[0])
    first, stop = active_span(samples)
    # Digital silence, and music from the first sample: no noise floor, the span as before.
    assert noise_floor(padded(samples, 1.0, 0.0)) == 0.0 and noise_floor(samples) == 0.0
    # A fade-in from the first sample and a reverb tail are music, though quiet: they move.
    ramp = np.linspace(0.0, 1.0, 3 * ANALYSIS_SR, dtype=np.float32) ** 4
    faded = samples.copy()
    faded[:ramp.size] *= ramp
    assert noise_floor(faded) == 0.0 and noise_floor(faded[::-1].copy()) == 0.0
    # Steady hiss: its own sample peak, and the music starts where it rises 6 dB above it.
    hissy = with_noise_floor(samples, ANALYSIS_SR, 0.6, 0.6, "hiss")
    peak = float(np.max(np.abs(hissy[:round(0.5 * ANALYSIS_SR)])))
    assert noise_floor(hissy) == pytest.approx(peak, rel=0.25)
    start, end = active_span(hissy)
    offset = round(0.6 * ANALYSIS_SR)
    assert 0 <= start - (first + offset) < 0.01 * ANALYSIS_SR
    assert 0 <= (stop + offset) - end < 0.05 * ANALYSIS_SR
    assert np.abs(hissy[start]) > 2 * noise_floor(hissy) * 0.99


def test_a_floor_close_to_the_music_and_a_fade_into_it_are_found_at_the_ends() -> None:
    # At half the excerpt's level, -62 dBFS hum is 44 dB under its loud level: not quiet enough for
    # the opening rule, so 2 s of it after the song counted as music (the last bars and the timbre
    # statistics took it in). A long flat floor at either end is noise, wherever the music fades.
    samples = (load(EXCERPTS[0]) * 0.5).astype(np.float32)
    first, stop = active_span(samples)
    lead = round(1.5 * ANALYSIS_SR)
    hummy = with_noise_floor(samples, ANALYSIS_SR, 1.5, 2.0, "hum")
    start, end = active_span(hummy)
    assert 0 <= start - (first + lead) < 0.01 * ANALYSIS_SR
    assert 0 <= (stop + lead) - end < 0.05 * ANALYSIS_SR
    # A fade-out sinking into the hum ends where it falls to 6 dB above the hum's peak, not at the file's end.
    ramp = np.linspace(1.0, 0.0, 4 * ANALYSIS_SR, dtype=np.float32) ** 3
    faded = samples.copy()
    faded[stop - ramp.size:stop] *= ramp
    faded[stop:] = 0.0
    fade_end = with_noise_floor(faded, ANALYSIS_SR, 1.5, 2.0, "hum")
    tail = noise_floor(fade_end[::-1].copy())
    _, end = active_span(fade_end)
    assert tail > 0.0
    assert np.max(np.abs(fade_end[end:])) <= 2 * tail * 1.01
    assert lead + stop - ramp.size < end < lead + stop
    # A quiet steady intro that is music, 30 dB under the loud level, is not taken for a floor.
    intro = np.sin(2 * np.pi * 220 * np.arange(2 * ANALYSIS_SR) / ANALYSIS_SR).astype(np.float32) * 0.01
    assert noise_floor(np.concatenate([intro, samples])) == 0.0
    # A short quiet floor is noise only where the music rises out of it (``short_floor``): 0.5 s of
    # the same tone 46 dB under the loud level, then the music fading in over 3 s, is all music.
    loud = float(np.percentile(_frame_rms(samples), 95))
    pad = intro[:ANALYSIS_SR // 2] / 0.01 * loud * np.sqrt(2) * 10 ** (-46 / 20)
    fading = samples.copy()
    fading[:3 * ANALYSIS_SR] *= np.linspace(0.0, 1.0, 3 * ANALYSIS_SR, dtype=np.float32) ** 4
    assert short_floor(np.concatenate([pad, fading]).astype(np.float32)) == 0.0
    assert short_floor(np.concatenate([pad, samples]).astype(np.float32)) > 0.0


def test_a_quieter_copy_has_the_same_beats_and_bars(excerpt: tuple[np.ndarray, Analysis]) -> None:
    samples, reference = excerpt
    quieter = analyze_samples((samples * 10 ** (-6 / 20)).astype(np.float32), options=NO_LYRICS)
    assert mir_eval.beat.f_measure(np.asarray(reference.beats_s), np.asarray(quieter.beats_s)) == 1.0
    assert mir_eval.beat.f_measure(np.asarray(reference.downbeats_s), np.asarray(quieter.downbeats_s)) == 1.0


@pytest.mark.parametrize("cut_s", [0.77, 2.3])
def test_an_excerpt_cut_mid_bar_has_the_same_beats_and_bars(excerpt: tuple[np.ndarray, Analysis],
                                                            cut_s: float) -> None:
    # People upload excerpts: the song's start cut off, mid-beat and mid-bar. The bars are the
    # music's, not the file's: the excerpt's first downbeat is where the song's next one was.
    samples, reference = excerpt
    cut = round(cut_s * ANALYSIS_SR)
    got = analyze_samples(samples[cut:], options=NO_LYRICS)
    beats, downbeats = (np.asarray(times) - cut / ANALYSIS_SR for times in (reference.beats_s, reference.downbeats_s))
    assert mir_eval.beat.f_measure(beats[beats >= 0], np.asarray(got.beats_s)) == 1.0
    assert mir_eval.beat.f_measure(downbeats[downbeats >= 0], np.asarray(got.downbeats_s)) == 1.0
    assert got.tempo_bpm == pytest.approx(reference.tempo_bpm, rel=0.002)


@pytest.mark.parametrize(("lead", "tail"), [(6, 0), (0, 6), (40, 40)])
def test_music_cut_on_its_beats_has_one_beat_at_its_start_and_none_at_its_end(lead: int, tail: int) -> None:
    # A loop or a sequencer's export starts on a beat and ends on one; a copy may open or close a
    # few samples earlier or later (an MP3 copy of a game loop, 6 samples), and the grid point at
    # each end fell inside the music in one copy and outside in the other: one beat more or less.
    samples = load(EXCERPTS[0])
    beats = np.asarray(analyze_samples(samples, options=NO_LYRICS).beats_s)
    start, stop = (int(round(beats[k] * ANALYSIS_SR)) for k in (8, len(beats) - 10))
    exact = analyze_samples(samples[start:stop], options=NO_LYRICS)
    loose = analyze_samples(samples[start - lead:stop + tail], options=NO_LYRICS)
    period = 60.0 / exact.tempo_bpm
    # The cut's own grid, fitted to its onsets (``refine_grid``), starts within a 16 ms frame of it.
    assert exact.beats_s[0] == pytest.approx(0.0, abs=0.016)
    # A 15 s cut fits its own grid: within a 16 ms frame of the whole excerpt's.
    assert exact.beats_s[-1] == pytest.approx(stop / ANALYSIS_SR - start / ANALYSIS_SR - period, abs=0.016)
    assert len(loose.beats_s) == len(exact.beats_s) == len(beats) - 18
    # The first beat is placed where the music starts; every other one moves with the samples added,
    # within half a 16 ms frame (each cut's grid is fitted to its own onsets).
    np.testing.assert_allclose(loose.beats_s[1:], np.asarray(exact.beats_s[1:]) + lead / ANALYSIS_SR, atol=0.008)


def test_active_span_finds_the_music_inside_digital_silence() -> None:
    samples = load(EXCERPTS[0])
    first, stop = active_span(samples)
    assert active_span(padded(samples, 1.25, 0.5)) == (first + 20000, stop + 20000)
    assert active_span(np.zeros(1000, dtype=np.float32)) == (0, 0)


def test_both_trackers_follow_a_real_pulse() -> None:
    samples = load(EXCERPTS[0])
    first, stop = active_span(samples)
    features = compute_features(samples[first:stop], offset_s=first / ANALYSIS_SR)
    duration = len(samples) / ANALYSIS_SR
    dp = analyze_rhythm(features, duration_s=duration, tracker="dp")
    dbn = analyze_rhythm(features, duration_s=duration, tracker="dbn")
    # Two independent decoders of one onset curve agree on where this song's beats are.
    assert mir_eval.beat.f_measure(dp.beats_s, dbn.beats_s) >= 0.9
    assert dp.tempo_bpm == pytest.approx(dbn.tempo_bpm, rel=0.03)


def ffmpeg_copy(samples: np.ndarray, tmp_path: Path, args: list[str], suffix: str) -> np.ndarray:
    """The excerpt written, changed by FFmpeg as people's files are changed, and decoded again."""
    source = write_wav(tmp_path / "excerpt.wav", samples, ANALYSIS_SR)
    target = tmp_path / f"changed.{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(source), *args, str(target)], check=True)
    return decode_audio(target, sample_rate=ANALYSIS_SR)


def test_an_mp3_copy_has_the_same_beats_and_a_stretched_copy_a_stretched_tempo(
        excerpt: tuple[np.ndarray, Analysis], tmp_path: Path) -> None:
    samples, reference = excerpt
    beats = np.asarray(reference.beats_s)
    mp3 = analyze_samples(ffmpeg_copy(samples, tmp_path, ["-c:a", "libmp3lame", "-b:a", "128k"], "mp3"),
                          options=NO_LYRICS)
    # The MP3 encoder's delay moves the music by a few ms; the beats must not move further.
    assert mir_eval.beat.f_measure(beats, np.asarray(mp3.beats_s), f_measure_threshold=0.07) == 1.0
    stretched = analyze_samples(ffmpeg_copy(samples, tmp_path, ["-af", f"atempo={1 / 1.05:.6f}"], "wav"),
                                options=NO_LYRICS)
    # Same metrical level, tempo scaled. Both excerpts keep a steady tempo, so their beats are one
    # grid, and the stretched copy's the same grid stretched: before the grid, the first bars of
    # one excerpt took another phase (beat F 0.93).
    assert stretched.tempo_bpm == pytest.approx(reference.tempo_bpm / 1.05, rel=0.002)
    stretched_beats = np.asarray(stretched.beats_s)
    assert mir_eval.beat.f_measure(beats * 1.05, stretched_beats, f_measure_threshold=0.07) == 1.0
    assert mir_eval.beat.f_measure(np.asarray(reference.downbeats_s) * 1.05, np.asarray(stretched.downbeats_s),
                                   f_measure_threshold=0.07) == 1.0


def beat_period_frames(samples: np.ndarray) -> float:
    first, stop = active_span(samples)
    features = compute_features(samples[first:stop], offset_s=first / ANALYSIS_SR)
    return estimate_period(features.onset_env, features.frame_rate)


def test_a_stretched_copy_has_a_period_longer_by_exactly_the_stretch(
        excerpt: tuple[np.ndarray, Analysis], tmp_path: Path) -> None:
    samples, _ = excerpt
    stretched = ffmpeg_copy(samples, tmp_path, ["-af", f"atempo={1 / 1.05:.6f}"], "wav")
    # The period read between whole-frame lags came out 1.0527 and 1.0471 times longer on these
    # excerpts: a tracker coasting through a passage without clear onsets at such a period drifts
    # off the original's beats by a third of a beat in 25 beats.
    assert beat_period_frames(stretched) / beat_period_frames(samples) == pytest.approx(1.05, rel=5e-4)


@pytest.mark.parametrize("speed", [0.92, 1.08])
def test_beats_follow_a_real_recording_whose_tempo_moves(excerpt: tuple[np.ndarray, Analysis], speed: float) -> None:
    samples, reference = excerpt
    # The second half 8 % slower or faster: a band without a click drifts this much.
    length = len(samples) / ANALYSIS_SR
    spans = [(0.0, length / 2, 1.0), (length / 2, length, speed)]
    moved = analyze_samples(warp_samples(samples, ANALYSIS_SR, spans), options=NO_LYRICS)
    truth = warp_time(spans, np.asarray(reference.beats_s))
    # With one tempo for the whole excerpt (before ``tempo_path``) beat F was 0.62-0.65 here; now
    # 1.00 on northerners and 0.948 / 0.928 on time_to_strike, whose cut opens on the excerpt's
    # loudest onset 0.3 s before its first beat: the moved copies' tracker starts there and needs
    # two or three beats to reach the beat, and every later beat is within 18 ms of the truth. (The
    # truth is the untouched excerpt's grid, fitted to its onsets: within 3 ms of the whole track's
    # beats; fitted to its tracked beats, it was 12 ms late at the start, and F read 0.948 twice.)
    assert mir_eval.beat.f_measure(truth[~np.isnan(truth)], np.asarray(moved.beats_s),
                                   f_measure_threshold=0.07) >= 0.92


def test_an_orchestral_excerpt_stretched_by_a_phase_vocoder_keeps_its_beat() -> None:
    # A librosa phase vocoder (93 ms windows at 22.05 kHz, as a Python user would stretch a file)
    # smears the attacks: the onset strength on this excerpt's beats falls from 2.71 to 1.84 times
    # its mean, under the 2.0 that tells a pulse from noise, and it was cut on the even fallback
    # grid (beat F 0.16 against the original's beats stretched). Its tempogram still repeats at the
    # beat (pulse periodicity 0.175 -> 0.101; noise reads 0.013 at most).
    path = MUSIC / "wesnoth-breaking-the-chains-110s.ogg"
    stretched = librosa.effects.time_stretch(decode_audio(path, sample_rate=22050), rate=1 / 1.05)
    copy = np.asarray(librosa.resample(stretched, orig_sr=22050, target_sr=ANALYSIS_SR), dtype=np.float32)
    reference = analyze_samples(decode_audio(path, sample_rate=ANALYSIS_SR), options=NO_LYRICS)
    result = analyze_samples(copy, options=NO_LYRICS)
    assert "no_clear_beat" not in reference.warnings and "no_clear_beat" not in result.warnings
    assert result.tempo_bpm == pytest.approx(reference.tempo_bpm / 1.05, rel=0.01)
    assert mir_eval.beat.f_measure(np.asarray(reference.beats_s) * 1.05, np.asarray(result.beats_s),
                                   f_measure_threshold=0.07) == 1.0
