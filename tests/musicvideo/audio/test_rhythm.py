"""Beats and downbeats against the synthetic songs' known grid (mir_eval, 70 ms window)."""

from __future__ import annotations

import itertools

import librosa
import mir_eval
import numpy as np
import pytest

from musicvideo.audio.features import ANALYSIS_SR, Features, compute_features, onset_flux
from musicvideo.audio.rhythm import (
    BAR_VOTE_MARGIN,
    TEMPOGRAM_BLOCK,
    TEMPOGRAM_WIN,
    _downbeat_phase,
    analyze_rhythm,
    bar_positions,
    beat_period,
    estimate_tempo,
    mean_tempogram,
    refine_grid,
    song_tempo,
    steady_grid,
    tempo_path,
    track_beats_dp,
)
from musicvideo.testing.synthetic import make_song, pop_song
from tests.musicvideo.audio.util import at_16k


# 150 BPM: read at 75 while the tempo prior was 0.8 octave wide below 120 BPM (TEMPO_PRIOR_OCTAVES_SLOWER);
# 70: read at 140 at 0.6.
@pytest.mark.parametrize(("tempo", "lead_in"), [(70.0, 0.2), (90.0, 0.37), (120.0, 0.0), (140.0, 1.1), (150.0, 0.6)])
def test_beats_and_downbeats_match_the_grid(tempo: float, lead_in: float) -> None:
    song = make_song(pop_song(tempo_bpm=tempo, repeats=1, vocals=False, lead_in_s=lead_in))
    samples = at_16k(song)
    rhythm = analyze_rhythm(compute_features(samples), duration_s=len(samples) / ANALYSIS_SR)
    # mir_eval's f_measure uses a +-70 ms window; trim_beats drops the first 5 s by convention,
    # so we score every beat ourselves as well with the same window.
    assert mir_eval.beat.f_measure(song.beats_s, rhythm.beats_s, f_measure_threshold=0.07) >= 0.95
    assert mir_eval.beat.f_measure(song.downbeats_s, rhythm.downbeats_s, f_measure_threshold=0.07) >= 0.95
    assert rhythm.tempo_bpm == pytest.approx(tempo, abs=1.0)
    # At 70 BPM its double scores 0.96 of it (LEVEL_CLOSE 0.95): read right, and said to be a close call.
    assert rhythm.warnings == (["unclear_tempo"] if tempo == 70.0 else [])
    assert rhythm.pulse_clarity > 5.0


def test_noise_has_no_clear_beat_and_gets_an_even_grid() -> None:
    rng = np.random.default_rng(0)
    samples = (0.1 * rng.standard_normal(ANALYSIS_SR * 10)).astype(np.float32)
    rhythm = analyze_rhythm(compute_features(samples), duration_s=10.0)
    assert rhythm.warnings == ["no_clear_beat"]
    assert rhythm.tempo_bpm == 120.0
    assert rhythm.beats_s.tolist() == [round(0.5 * k, 3) for k in range(20)]
    assert rhythm.downbeats_s.tolist() == [0.0, 2.0, 4.0, 6.0, 8.0]


def test_beat_period_ignores_frame_quantisation() -> None:
    # Beats of a steady 120 BPM song, each rounded to the 16 ms frame grid.
    beats = np.round(np.arange(64) * 0.5 / 0.016) * 0.016
    assert 60.0 / beat_period(beats) == pytest.approx(120.0, abs=0.2)


@pytest.mark.parametrize("tempo", [90.0, 140.0])
def test_dbn_tracker_matches_the_grid(tempo: float) -> None:
    song = make_song(pop_song(tempo_bpm=tempo, repeats=1, vocals=False, lead_in_s=0.4))
    samples = at_16k(song)
    rhythm = analyze_rhythm(compute_features(samples), duration_s=len(samples) / ANALYSIS_SR, tracker="dbn")
    assert mir_eval.beat.f_measure(song.beats_s, rhythm.beats_s, f_measure_threshold=0.07) >= 0.95
    assert rhythm.tempo_bpm == pytest.approx(tempo, abs=1.0)


def test_block_wise_tempogram_is_the_whole_song_tempogram() -> None:
    # Blocks must see exactly the windows of the whole-song tempogram: padding each block on its
    # own once turned a real track's 89 BPM into 134.
    song = make_song(pop_song(tempo_bpm=96.0, repeats=1, vocals=False))
    env = compute_features(at_16k(song)).onset_env
    whole = librosa.feature.tempogram(onset_envelope=env, win_length=TEMPOGRAM_WIN).mean(axis=1)
    assert len(env) > 2 * TEMPOGRAM_BLOCK
    np.testing.assert_allclose(mean_tempogram(env), whole, rtol=1e-9, atol=1e-12)


def tresillo_envelope(row_frames: int, bars: int) -> np.ndarray:
    """Onsets of a 3-3-2 figure over eight rows a bar with hi-hats on every other row (a real
    tracker module's pattern): lags of 3 and 5 rows correlate, but the beat is 4 rows."""
    bar = 8 * row_frames
    env = np.zeros(bars * bar + 1)
    for start in range(0, bars * bar, bar):
        env[start + np.array([0, 3, 6]) * row_frames] += 1.0
        env[start + np.arange(0, 8, 2) * row_frames] += 0.4
    return env


def test_tempo_is_a_level_of_the_metre_not_a_lag_that_correlates() -> None:
    # Rows of 7 frames: 4 rows a beat is 133.9 BPM; the 3-3-2 figure made the single-lag tempo
    # pick 5 rows (107 BPM), which no beat of the music falls on.
    env = tresillo_envelope(7, 60)
    assert estimate_tempo(env, 62.5) == pytest.approx(60 * 62.5 / 28, rel=0.01)


@pytest.mark.parametrize("stretch", [1.0, 1.05, 1 / 1.05])
def test_tempo_resolves_fractions_of_a_frame_and_scales_with_a_stretch(stretch: float) -> None:
    # 121 BPM is 30.99 frames a beat: a whole-frame lag would say 121.0 or 117.2 after a stretch.
    period = 60 * 62.5 / 121.0 * stretch
    times = np.arange(0, 120 * 62.5 - period, period)
    env = np.zeros(int(120 * 62.5))
    np.add.at(env, np.floor(times).astype(int), 1.0 - (times % 1))
    np.add.at(env, np.floor(times).astype(int) + 1, times % 1)
    assert estimate_tempo(env, 62.5) == pytest.approx(121.0 / stretch, rel=0.003)


def test_dp_tracker_keeps_a_fractional_period_without_drift() -> None:
    # Five minutes at 30.4 frames a beat: a tracker held at a rounded 30 would have to slip a beat
    # every 76 beats; every beat must stay within a frame of the grid (after the last click the
    # grid may go on for one more beat: the song's grid spans it to its end).
    period = 30.4
    times = np.arange(10.0, 5 * 60 * 62.5 - period, period)
    env = np.zeros(int(5 * 60 * 62.5))
    env[np.round(times).astype(int)] = 1.0
    beats = track_beats_dp(env, 62.5, period=period)
    assert len(times) <= len(beats) <= len(times) + 1
    assert np.max(np.abs(beats[: len(times)] - times)) <= 1.0


def test_dp_grid_goes_on_at_the_period_after_the_last_clear_onset() -> None:
    # A minute of clicks at 30.4 frames a beat, then 10 s of weak noise (a fading final chord):
    # the path that tracked the noise drifted 8 frames off the period in 20 beats, differently in
    # every copy of the file; now the beats there are the period's grid.
    period = 30.4
    clicks = np.arange(10.0, 60 * 62.5, period)
    env = np.zeros(int(70 * 62.5))
    env[np.round(clicks).astype(int)] = 1.0
    env[int(60 * 62.5):] = np.random.default_rng(3).uniform(0.0, 0.1, len(env) - int(60 * 62.5))
    beats = track_beats_dp(env, 62.5, period=period)
    after = beats[beats > clicks[-1] + 1]
    assert len(after) == 20
    assert np.max(np.abs(after - (clicks[-1] + period * np.arange(1, 21)))) <= 1.0


def clicks_at(periods: list[tuple[float, float]], *, start: float = 10.0) -> np.ndarray:
    """Click frames: (seconds, period in frames) pieces one after another."""
    times = [start]
    for seconds, period in periods:
        end = times[-1] + seconds * 62.5
        while times[-1] + period < end:
            times.append(times[-1] + period)
    return np.array(times)


def test_the_tempo_path_is_the_song_period_where_the_tempo_holds() -> None:
    times = clicks_at([(180.0, 30.4)])
    env = np.zeros(int(times[-1]) + 200)
    env[np.round(times).astype(int)] = 1.0
    assert np.all(tempo_path(env, 30.4) == 30.4)


def test_the_tempo_path_and_the_beats_follow_a_tempo_change() -> None:
    # 90 s at 120 BPM, then 90 s 8 % faster.
    times = clicks_at([(90.0, 31.25), (90.0, 28.94)])
    change = int(10 + 90 * 62.5)
    env = np.zeros(int(times[-1]) + 200)
    env[np.round(times).astype(int)] = 1.0
    # Eighth notes between the beats, as loud as the beats are: the period alone must keep the phase.
    env[np.round((times[:-1] + times[1:]) / 2).astype(int)] = 0.8
    periods = tempo_path(env, 30.0)
    # Within a 1 % step of the truth everywhere but the 6 s around the change (one window).
    frames = np.arange(len(env))
    truth = np.where(frames < change, 31.25, 28.94)
    away = np.abs(frames - change) > 3 * 62.5
    assert np.max(np.abs(periods[away] / truth[away] - 1)) < 0.01
    beats = track_beats_dp(env, 62.5, period=30.0, periods=periods)
    inside = beats[(beats >= times[0] - 1) & (beats <= times[-1] + 1)]
    assert len(inside) == len(times)
    assert np.max(np.abs(inside - times)) <= 1.0


def sixteenths_on_a_sine(sweep: float, *, seconds: float = 180.0) -> np.ndarray:
    """A 120 BPM onset curve whose tempo swings by ``sweep`` as a sine over 60 s, with sixteenth notes."""
    starts = [0.0]
    while starts[-1] < seconds:
        starts.append(starts[-1] + 0.5 / (1 + sweep * np.sin(2 * np.pi * starts[-1] / 60.0)))
    env = np.zeros(int(seconds * 62.5) + 1)
    for a, b in itertools.pairwise(starts[:-1]):
        for k, level in enumerate((1.0, 0.6, 0.9, 0.6)):
            env[int(round((a + (b - a) * k / 4) * 62.5))] += level
    return env


@pytest.mark.parametrize("sweep", [0.04, 0.06, 0.08])
def test_a_swinging_tempo_keeps_its_metrical_level(sweep: float) -> None:
    # On the whole song's mean tempogram the three-beat lag smears with the swing and the sixteenths
    # win at double tempo (231, 229 and 233 BPM here); on the tempo path's clock the beat wins.
    period, periods = song_tempo(sixteenths_on_a_sine(sweep), 62.5)
    assert 60 * 62.5 / period == pytest.approx(115, rel=0.03)
    assert np.ptp(periods) / period > sweep


def test_a_steady_tempo_is_read_once() -> None:
    period, periods = song_tempo(sixteenths_on_a_sine(0.0), 62.5)
    assert 60 * 62.5 / period == pytest.approx(120.0, abs=0.02)
    assert np.all(periods == period)


def tracked(period: float, count: int, *, seed: int) -> np.ndarray:
    """Beats as the tracker gives them on a steady song: whole frames, a frame or so of jitter."""
    exact = 7.3 + period * np.arange(count)
    return np.round(exact + np.random.default_rng(seed).uniform(-1.0, 1.0, count)).astype(int)


def test_a_steady_song_gets_one_exact_grid_across_a_passage_on_the_off_beat() -> None:
    # 400 beats at 30.87 frames (121.5 BPM at 62.5 frames/s), the tracker given as 30.9; beats
    # 150-179 slid half a beat onto the off-beat, as the tracker does through a syncopated break
    # (7.5 % of the beats, under the 10 % a steady song may have off its grid).
    period = 30.87
    beats = tracked(period, 400, seed=5)
    beats[150:180] = np.round(beats[150:180] + period / 2).astype(int)
    exact = 7.3 + period * np.arange(400)
    grid = steady_grid(beats, 30.9, n_frames=int(exact[-1]) + 20)
    assert grid is not None
    assert len(grid) == 400
    # Least squares over 370 beats: well inside a tenth of a frame everywhere, off-beat passage
    # included, where the tracked beats were 15 frames away.
    assert np.max(np.abs(grid - exact)) < 0.1
    # The grid goes on to the end of the curve, as the tracker's does after its last clear onset:
    # 100 frames after the last beat hold three more.
    longer = steady_grid(beats, 30.9, n_frames=int(exact[-1]) + 100)
    assert longer is not None
    np.testing.assert_allclose(longer[400:], exact[-1] + period * np.arange(1, 4), atol=0.1)


def test_a_steady_grid_is_fitted_to_the_onsets_not_to_a_tracker_held_at_a_slightly_wrong_period() -> None:
    # 700 beats at 29.76 frames (126 BPM); the tracker was held at a period read 0.057 % short
    # (29.743), as on a phase-vocoder copy, so its beats lie on that period, within a frame of jitter.
    # Fitted to them, the grid drifts 0.4 of a beat by the end; fitted to the onsets, it does not.
    period, held = 29.76, 29.743
    exact = 7.3 + period * np.arange(700)
    beats = np.round(7.3 + held * np.arange(700) + np.random.default_rng(3).uniform(-1.0, 1.0, 700)).astype(int)
    frames = np.arange(int(exact[-1]) + 20, dtype=np.float64)
    score = onset_bumps(frames, exact, period)
    without = steady_grid(beats, held, n_frames=len(frames))
    assert without is not None and np.abs(without[-1] - exact[-1]) > 0.35 * period
    grid = steady_grid(beats, held, n_frames=len(frames), score=score)
    assert grid is not None and len(grid) == 700
    # The phase is searched in hundredths of a beat (0.3 frame, 5 ms).
    assert np.max(np.abs(grid - exact)) < 0.3
    # Refining moves the grid only within its span: a grid already on the onsets stays there, and
    # one a whole beat off is not pulled onto the next beat.
    start, step = refine_grid(7.3, period, 0, 699, score)
    assert (start, step) == pytest.approx((7.3, period), abs=0.05)
    start, step = refine_grid(7.3 + period / 2, period, 0, 699, score)
    assert abs(start - (7.3 + period / 2)) <= 0.25 * period + 1e-9


def onset_bumps(frames: np.ndarray, at: np.ndarray, period: float) -> np.ndarray:
    """A tracker's score with a unit bump at each of ``at``, 1/12 of a beat wide, as ``beat_score`` spreads onsets."""
    return np.exp(-0.5 * ((frames[:, None] - at[None, :]) * 12 / period) ** 2).sum(axis=1)


def slid_song(on: float, off: float, *, by: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A steady song (400 beats at 30.87 frames) whose tracked beats sat ``by`` of a beat off for 120
    beats (half: on the off-beat, as through a passage whose attacks a time-stretch smeared; a
    quarter: on a sixteenth heard as much as the beat, as a sequenced piece's tracker holds it); and
    the tracker's score, a bump of height ``on`` on every beat and ``off`` at every point ``by`` after
    it. Returns (tracked, exact, score)."""
    period = 30.87
    beats = tracked(period, 400, seed=7)
    beats[40:160] = np.round(beats[40:160] + by * period).astype(int)
    exact = 7.3 + period * np.arange(400)
    frames = np.arange(int(exact[-1]) + 20, dtype=np.float64)
    score = on * onset_bumps(frames, exact, period) + off * onset_bumps(frames, exact + by * period, period)
    return beats, exact, score


@pytest.mark.parametrize("by", [0.5, -0.25])
def test_a_steady_song_whose_beats_slid_for_a_long_passage_gets_the_grid_its_onsets_favour(by: float) -> None:
    beats, exact, score = slid_song(on=1.0, off=0.8, by=by)
    n_frames = len(score)
    # 30 % of the beats are off the beat grid: too many for the beat grid alone (a quarter beat
    # off: for the half-beat grid too, so the quarter-beat grid is read).
    assert steady_grid(beats, 30.9, n_frames=n_frames) is None
    grid = steady_grid(beats, 30.9, n_frames=n_frames, score=score)
    assert grid is not None and len(grid) == 400
    # Within half a frame everywhere (least squares over beats each jittered by up to 1.5 frames),
    # where the slid beats were 8-15 frames away.
    assert np.max(np.abs(grid - exact)) < 0.5
    # The onsets decide which half (or quarter) is the beat, not the count of tracked beats on each:
    # with the slid points heard more, the same tracked beats give the grid through them.
    _, _, swapped = slid_song(on=0.8, off=1.0, by=by)
    off_grid = steady_grid(beats, 30.9, n_frames=n_frames, score=swapped)
    assert off_grid is not None and len(off_grid) == 400
    assert np.max(np.abs(off_grid - (exact + by * 30.87))) < 0.5
    # Where the two are heard alike (within HALF_BEAT_MARGIN) and there is no kick drum, nothing
    # decides: the tracked beats stand.
    _, _, even = slid_song(on=1.0, off=0.97, by=by)
    assert steady_grid(beats, 30.9, n_frames=n_frames, score=even) is None


def kick_at(frames: np.ndarray, at: np.ndarray) -> np.ndarray:
    """A low-band flux (``Features.low_onset``) with one unit step at each of ``at``."""
    kick = np.zeros(len(frames))
    kick[np.round(at).astype(int)] = 1.0
    return kick


def test_a_slid_steady_song_whose_halves_are_heard_alike_gets_the_half_its_kick_drum_is_on() -> None:
    beats, exact, even = slid_song(on=1.0, off=0.97)
    frames = np.arange(len(even), dtype=np.float64)
    half = 30.87 / 2
    # The onsets tie (within HALF_BEAT_MARGIN), as on a track whose eighths are as loud as its
    # beats: the kick drum says where the beat is.
    grid = steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=kick_at(frames, exact))
    assert grid is not None and len(grid) == 400
    assert np.max(np.abs(grid - exact)) < 0.5
    off_grid = steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=kick_at(frames, exact + half))
    assert off_grid is not None and len(off_grid) == 400
    assert np.max(np.abs(off_grid - (exact + half))) < 0.5
    # A kick on every half beat, or a kick that leans less than KICK_HALF_MARGIN: nothing decides.
    both = kick_at(frames, np.concatenate([exact, exact + half]))
    assert steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=both) is None
    # Every beat and three of every four off-beats: 1.33 times as much kick on the beats.
    lean = kick_at(frames, np.concatenate([exact, (exact + half)[np.arange(400) % 4 != 0]]))
    assert steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=lean) is None
    # Where the onsets decide, they do, whatever the kick: the off-beats heard more win.
    _, _, swapped = slid_song(on=0.8, off=1.0)
    by_onsets = steady_grid(beats, 30.9, n_frames=len(even), score=swapped, kick=kick_at(frames, exact))
    assert by_onsets is not None and np.max(np.abs(by_onsets - (exact + half))) < 0.5

def test_a_song_slid_a_quarter_beat_whose_quarters_are_heard_alike_gets_the_one_its_kick_drum_is_on() -> None:
    beats, exact, even = slid_song(on=1.0, off=0.98, by=-0.25)
    frames = np.arange(len(even), dtype=np.float64)
    kicked = steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=kick_at(frames, exact))
    assert kicked is not None and len(kicked) == 400 and np.max(np.abs(kicked - exact)) < 0.5
    # The kick decides between the quarters the onsets left in the running only: a kick on the
    # off-beats too, at 0.7, would tie with the beat's over all four (1.43 : 1, under KICK_HALF_MARGIN).
    with_off_beats = kick_at(frames, exact) + 0.7 * kick_at(frames, exact + 30.87 / 2)
    kicked = steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=with_off_beats)
    assert kicked is not None and np.max(np.abs(kicked - exact)) < 0.5
    both = kick_at(frames, np.concatenate([exact, exact - 30.87 / 4]))
    assert steady_grid(beats, 30.9, n_frames=len(even), score=even, kick=both) is None


def test_beats_that_drift_through_every_phase_get_no_quarter_beat_grid() -> None:
    # A tempo that moves (5 % slower for the middle 120 beats): the tracked beats pass through every
    # phase of any one grid, so under QUARTER_BEAT_SHARE of them lie on a grid of quarter beats.
    period = 30.87
    intervals = np.where((np.arange(399) >= 140) & (np.arange(399) < 260), 1.05 * period, period)
    exact = 7.3 + np.concatenate([[0.0], np.cumsum(intervals)])
    beats = np.round(exact).astype(int)
    frames = np.arange(int(exact[-1]) + 20, dtype=np.float64)
    assert steady_grid(beats, period, n_frames=len(frames), score=onset_bumps(frames, exact, period)) is None


def wandering_song(*, heard: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A steady song (400 beats at 30.87 frames) whose tracked beats 100-169 wandered up to 0.3 of a
    beat off the grid and back; and the tracker's score: a bump on every beat, except in that
    passage, where the onsets are spread evenly over the beat (``heard="nothing"``: an intro pad, a
    breakdown) or sit where the tracked beats went (``heard="wandering"``: the song moved there).
    Returns (tracked, exact, score)."""
    period = 30.87
    beats = tracked(period, 400, seed=11)
    drift = 0.3 * period * np.sin(np.pi * np.arange(70) / 70)
    beats[100:170] = np.round(beats[100:170] + drift).astype(int)
    exact = 7.3 + period * np.arange(400)
    frames = np.arange(int(exact[-1]) + 20, dtype=np.float64)
    passage = (frames >= exact[100] - period / 2) & (frames < exact[170] - period / 2)
    if heard == "nothing":
        bumps = np.concatenate([exact[:100], exact[170:],
                                (exact[100] + period / 12 * np.arange(70 * 12))])
    else:
        bumps = np.concatenate([exact[:100], exact[170:], beats[100:170].astype(np.float64)])
    score = onset_bumps(frames, bumps, period)
    if heard == "nothing":
        # As loud overall as the rest of the song: twelve bumps a beat, each a twelfth as high.
        score[passage] /= 12.0
    return beats, exact, score


def test_a_steady_song_whose_beats_wandered_where_its_onsets_hold_no_beat_gets_its_grid() -> None:
    beats, exact, score = wandering_song(heard="nothing")
    n_frames = len(score)
    # 70 of 400 beats are more than 0.12 of a beat off the grid for most of the passage: the grid
    # alone does not hold 90 % of them.
    assert steady_grid(beats, 30.9, n_frames=n_frames) is None
    grid = steady_grid(beats, 30.9, n_frames=n_frames, score=score)
    assert grid is not None and len(grid) == 400
    assert np.max(np.abs(grid - exact)) < 0.5
    # Where the onsets went with the tracked beats, the song moved: the tracked beats stand.
    beats, _, score = wandering_song(heard="wandering")
    assert steady_grid(beats, 30.9, n_frames=n_frames, score=score) is None


def quarter_slid_song(slid: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A steady song (400 beats at 30.87 frames) whose tracked beats 100 to 100 + ``slid`` sat a
    quarter beat late, where its sixteenths are heard 1.3 times as loud as its beats (as in
    frozen-bubble mainzik's faster copy); elsewhere a bump on every beat. Returns (tracked, exact, score)."""
    period = 30.87
    beats = tracked(period, 400, seed=13)
    beats[100:100 + slid] = np.round(beats[100:100 + slid] + period / 4).astype(int)
    exact = 7.3 + period * np.arange(400)
    frames = np.arange(int(exact[-1]) + 20, dtype=np.float64)
    quarter = exact[100:100 + slid] + period / 4
    score = (onset_bumps(frames, np.concatenate([exact[:100], exact[100 + slid:]]), period)
             + onset_bumps(frames, exact[100:100 + slid], period) + 1.3 * onset_bumps(frames, quarter, period))
    return beats, exact, score


def test_a_steady_song_whose_beats_held_a_quarter_beat_off_through_loud_sixteenths_gets_its_grid() -> None:
    # 46 of 400 beats (11.5 %) off the grid, where the onsets support them: more than a steady song
    # may have off its grid, but the grid still gathers 0.97 of the tracked beats' score.
    beats, exact, score = quarter_slid_song(46)
    grid = steady_grid(beats, 30.9, n_frames=len(score), score=score)
    assert grid is not None and len(grid) == 400
    assert np.max(np.abs(grid - exact)) < 0.5
    # 80 of 400 (20 %): too many for the beat grid, but every tracked beat lies on a grid of quarter
    # beats (``QUARTER_BEAT_SHARE``), and over the whole song the onsets on the beats outweigh the
    # loud sixteenths (400 bumps against 80 at 1.3): the beat grid again.
    beats, _, score = quarter_slid_song(80)
    assert steady_grid(beats, 30.9, n_frames=len(score)) is None
    grid = steady_grid(beats, 30.9, n_frames=len(score), score=score)
    assert grid is not None and len(grid) == 400
    assert np.max(np.abs(grid - exact)) < 0.5


def test_a_song_whose_tempo_moves_keeps_its_tracked_beats() -> None:
    # 200 beats at 120 BPM, then 200 at 113: no straight grid holds 90 % of them.
    first = tracked(31.25, 200, seed=1)
    second = first[-1] + tracked(33.19, 200, seed=2)[1:] - 7
    beats = np.concatenate([first, second])
    assert steady_grid(beats, 31.25, n_frames=int(beats[-1]) + 40) is None
    assert steady_grid(beats[:200], 31.25, n_frames=int(beats[199]) + 40) is not None


def test_a_steady_synthetic_song_is_tracked_as_one_grid() -> None:
    song = make_song(pop_song(tempo_bpm=120.0, repeats=1, vocals=False, lead_in_s=0.37))
    rhythm = analyze_rhythm(compute_features(at_16k(song)), duration_s=song.duration_s)
    assert rhythm.steady
    assert rhythm.tempo_bpm == pytest.approx(120.0, abs=0.05)
    # Every beat of the song within 10 ms (the 16 ms frames no longer quantise them); the grid goes
    # on through the last chord's 2 s of ringing, as the tracker's path does.
    count = len(song.beats_s)
    assert np.max(np.abs(rhythm.beats_s[:count] - song.beats_s)) <= 0.01
    assert len(rhythm.beats_s) == count + 3


def test_onset_flux_is_the_same_at_any_gain() -> None:
    rng = np.random.default_rng(1)
    mel = rng.gamma(0.5, size=(40, 500)).astype(np.float32) * np.linspace(0.01, 1, 500, dtype=np.float32)
    np.testing.assert_allclose(onset_flux(mel.copy() * 0.25), onset_flux(mel.copy()), rtol=1e-4, atol=1e-6)


def bar_features(chord_of_beat: list[int], beat_frames: np.ndarray) -> Features:
    """Features of a steady pulse whose chord on each beat is given; every beat has the same kick."""
    n = int(beat_frames[-1]) + 31
    chroma = np.zeros((12, n), dtype=np.float32)
    edges = np.append(beat_frames, n)
    for b, chord in enumerate(chord_of_beat):
        chroma[chord % 12, edges[b]:edges[b + 1]] = 1.0
        chroma[(chord + 7) % 12, edges[b]:edges[b + 1]] = 0.5
    low = np.zeros(n, dtype=np.float32)
    low[beat_frames] = 1.0
    flat = np.zeros(n, dtype=np.float32)
    return Features(sample_rate=ANALYSIS_SR, hop=256, n_frames=n, mfcc=np.zeros((20, n), dtype=np.float32),
                    chroma=chroma, rms=flat + 0.1, centroid_hz=flat + 1000.0, low_onset=low, onset_env=low)


def test_the_bar_vote_says_how_clearly_it_was_won() -> None:
    beat_frames = 10 + 31 * np.arange(64)
    # Chords change on the second beat of every four: that beat starts the bar, by far.
    phase, margin = _downbeat_phase(bar_features([b // 4 * 5 for b in range(-1, 63)], beat_frames), beat_frames, 4)
    assert phase == 1
    assert margin > 1.0
    # Chords change every two beats: the first and the third beat fit equally; a coin toss.
    _, margin = _downbeat_phase(bar_features([b // 2 * 5 for b in range(64)], beat_frames), beat_frames, 4)
    assert margin < BAR_VOTE_MARGIN


@pytest.mark.parametrize(("third_kick", "phase"), [(1.0, 1), (1.02, 1), (1.2, 3)])
def test_a_bar_vote_the_cues_cannot_decide_starts_the_bar_on_the_earliest_tied_beat(
        third_kick: float, phase: int) -> None:
    beat_frames = 10 + 31 * np.arange(64)
    # Chords change on every second beat from beat 1: beats 1 and 3 of every four fit alike. A copy
    # at another bit rate tips such a vote by a percent or two (a real 180 BPM loop's AAC copy put
    # every bar two beats later); only a clear lead may move the bar off the earliest of the two.
    features = bar_features([(b + 1) // 2 * 5 for b in range(64)], beat_frames)
    features.low_onset[beat_frames[3::4]] = third_kick
    chosen, margin = _downbeat_phase(features, beat_frames, 4)
    assert chosen == phase
    assert (margin < BAR_VOTE_MARGIN) == (third_kick < 1.2)


def test_bars_re_align_after_a_beat_the_tracker_added() -> None:
    beat_frames = 10 + 31 * np.arange(96)
    # Bars of four beats from beat 1, but one bar of five in the middle: what a beat added by the
    # tracker in a rubato passage looks like to the bar finder.
    starts = [*range(1, 46, 4), *range(50, 95, 4)]
    chords = [5 * sum(s <= b for s in starts) for b in range(96)]
    features = bar_features(chords, beat_frames)
    place, margin = bar_positions(features, beat_frames, 4)
    assert np.flatnonzero(place == 0).tolist() == starts
    assert margin > 1.0
    # One vote over the song puts half of the bars on the wrong beat.
    phase, _ = _downbeat_phase(features, beat_frames, 4)
    assert len(set(range(phase, 96, 4)) & set(starts)) == 12


def two_tempo_envelope(middle_s: float, stretch: float) -> np.ndarray:
    """60 s at 110 BPM, ``middle_s`` s at 116 BPM, 20 s at 110 again, all times x ``stretch``.

    Beats alternate strong and weak, with an eighth note between them and a low noise floor.
    """
    sections = [(110.0, 60.0), (116.0, middle_s), (110.0, 20.0)]
    frames = np.arange(int(sum(seconds for _, seconds in sections) * stretch * 62.5) + 1)
    env = 0.05 * np.random.default_rng(0).random(len(frames))
    start = 0.0
    for bpm, seconds in sections:
        period = 60.0 / bpm * stretch
        for k, beat in enumerate(start + period * np.arange(int(seconds * stretch / period))):
            env += (1.0 if k % 2 == 0 else 0.7) * np.exp(-0.5 * (frames - beat * 62.5) ** 2)
            env += 0.4 * np.exp(-0.5 * (frames - (beat + period / 2) * 62.5) ** 2)
        start += seconds * stretch
    return env


@pytest.mark.parametrize("middle_s", [64.0, 72.0, 76.0])
def test_a_song_in_two_tempi_reads_the_same_tempo_when_stretched(middle_s: float) -> None:
    # The whole-song level scores of 110 and 116 BPM nearly tie here. Read linearly between whole
    # lags, their ratio moved by 4.5 % under the stretch, and the argmax read 110 BPM in one copy and
    # 116 in the other at 72-78 s; the path's evidence decides between them now.
    original, _ = song_tempo(two_tempo_envelope(middle_s, 1.0), 62.5)
    stretched, _ = song_tempo(two_tempo_envelope(middle_s, 1.05), 62.5)
    assert stretched / original == pytest.approx(1.05, rel=0.005)
