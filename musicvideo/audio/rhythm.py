"""Tempo, beats and downbeats (bar starts), stable on real recordings.

Pipeline, each step chosen by measurement on real tracks (``bench/song_robustness.py``):

1. Only the sounding part of the song is analysed (``active_span``): leading and trailing digital
   silence is cut before the features are computed, so 0.5 s of silence in front of a song gives
   exactly the same beats, shifted, and no beat ever lands in that silence.
2. One tempo for the whole song (``estimate_tempo``): librosa's mean autocorrelation tempogram with
   its log-normal prior, computed block by block over exactly the windows of the whole-song
   tempogram. An earlier block-wise version padded each block on its own and jumped to a 3:2
   tempo on a real track when half a second of silence moved the blocks.
3. Beats from librosa's dynamic-programming tracker (Ellis 2007) held at that tempo
   (``track_beats_dp``). A beat-pointer dynamic Bayesian network decoded with Viterbi (Whiteley,
   Cemgil & Godsill 2006, in the beat-only form madmom uses; ``track_beats_dbn``) was measured
   beside it on the same onset curve: it kept fewer beats under MP3 and time-stretch on the real
   tracks (bench/song_robustness.py), so it stays an option, not the default. Learned trackers
   whose weights ship in their wheel could not be installed on Python 3.11 (BeatNet pins numba
   0.54 or imports madmom and pyaudio, which have no wheels; madmom's models are CC BY-NC-SA).
4. Downbeats pick, among the ``beats_per_bar`` phases, the one where chords change and the kick drum
   lands most (Goto 2001; Papadopoulos & Peeters 2011), voted over the song's bars with the first bar
   left out: where music starts after silence everything "changes", and that step must not decide
   the bar.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import librosa
import numpy as np

from musicvideo.audio.features import Features, onset_envelope, segment_aggregate

FALLBACK_BPM = 120.0
# Onset strength on the tracked beats over its mean: white noise scores 1.4-1.7 (the tracker still
# finds "beats" on random peaks), the synthetic songs 11-26, a click track 28.
MIN_PULSE_CLARITY = 2.0
# Samples quieter than this, relative to the song's peak, count as silence at its ends: -60 dB is
# below any fade a listener hears yet above MP3 and dither noise in a digital-silence lead-in.
SILENCE_REL_DB = -60.0
SCAN_BLOCK = 1 << 16
TEMPOGRAM_WIN = 384                         # librosa's default: 6 s of onset curve per window here
TEMPOGRAM_BLOCK = 2048                      # frames per block: 6 MB of tempogram at a time
# Width of the log-normal tempo prior (librosa's default). 0.5 was measured on the bench's tracks:
# the tracker tune stretched by 1.05 kept its level (stretch beat F min 0.28 -> 0.62) but a 80/160 BPM
# track moved to a 3:2 level (120), and its stretch F fell from 0.99 to 0.88: not taken.
TEMPO_PRIOR_OCTAVES = 1.0
DBN_TEMPO_SPAN = 0.15                       # the tracker may drift this far from the global tempo
DBN_TRANSITION_LAMBDA = 100.0               # madmom's default: tempo changes between beats are rare
DBN_OBSERVATION_LAMBDA = 16                 # the first 1/16 of a beat period is "on the beat"

Tracker = Literal["dp", "dbn"]


@dataclass(frozen=True)
class Rhythm:
    tempo_bpm: float
    beats_s: np.ndarray          # beat times in seconds, increasing
    downbeats_s: np.ndarray      # bar starts, a subset of beats_s
    beats_per_bar: int
    pulse_clarity: float         # onset strength on beats / overall; ~1 means no audible pulse
    warnings: list[str] = field(default_factory=list)

    @property
    def beat_period_s(self) -> float:
        return 60.0 / self.tempo_bpm


def active_span(samples: np.ndarray, *, rel_db: float = SILENCE_REL_DB) -> tuple[int, int]:
    """First and one-past-last sample louder than ``rel_db`` below the peak; (0, 0) for silence.

    Scanned in blocks: a whole-song ``abs`` and index array would be several copies of the audio.
    """
    n = samples.size
    if n == 0:
        return 0, 0
    peak = max(float(np.max(np.abs(samples[i:i + SCAN_BLOCK]))) for i in range(0, n, SCAN_BLOCK))
    if peak <= 0.0:
        return 0, 0
    threshold = peak * 10 ** (rel_db / 20)
    first = next(i + int(np.argmax(np.abs(samples[i:i + SCAN_BLOCK]) > threshold))
                 for i in range(0, n, SCAN_BLOCK) if np.any(np.abs(samples[i:i + SCAN_BLOCK]) > threshold))
    last_block = next(i for i in range(((n - 1) // SCAN_BLOCK) * SCAN_BLOCK, -1, -SCAN_BLOCK)
                      if np.any(np.abs(samples[i:i + SCAN_BLOCK]) > threshold))
    loud = np.flatnonzero(np.abs(samples[last_block:last_block + SCAN_BLOCK]) > threshold)
    return first, last_block + int(loud[-1]) + 1


def analyze_rhythm(features: Features, *, duration_s: float, beats_per_bar: int = 4,
                   start_bpm: float = FALLBACK_BPM, tracker: Tracker = "dp") -> Rhythm:
    """Track beats over the song; always returns a grid that spans it (see ``warnings``).

    ``features`` may cover only the sounding part of the song (``features.offset_s`` says where it
    starts); every time returned is on the song's clock.
    """
    env = onset_envelope(features)
    warnings: list[str] = []
    beat_frames = np.empty(0, dtype=int)
    bpm = start_bpm
    if env.size > 8 and float(env.max()) > 1e-3:
        bpm = estimate_tempo(env, features.frame_rate, sample_rate=features.sample_rate, hop=features.hop)
        if tracker == "dbn":
            beat_frames = track_beats_dbn(env, features.frame_rate, bpm=bpm)
        else:
            beat_frames = track_beats_dp(env, features, bpm=bpm)
    clarity = _pulse_clarity(env, beat_frames)
    end_s = min(duration_s, features.offset_s + features.n_frames / features.frame_rate)
    if len(beat_frames) < 4 or clarity < MIN_PULSE_CLARITY:
        # No pulse to follow (silence, noise, speech, a click): cut on an even grid instead of
        # on random flux peaks, and say so.
        warnings.append("no_clear_beat")
        period = 60.0 / start_bpm
        beats_s = np.arange(features.offset_s, max(end_s - 1e-6, features.offset_s), period)
        if beats_s.size == 0:
            beats_s = np.array([features.offset_s])
        tempo = start_bpm
    else:
        beats_s = features.offset_s + beat_frames / features.frame_rate
        beats_s = beats_s[beats_s < end_s]
        tempo = 60.0 / beat_period(beats_s)
    local_frames = features.time_to_frame(beats_s)
    # An even fallback grid has no bars to find: it starts a bar where the music starts.
    phase = (_downbeat_phase(features, local_frames, beats_per_bar)
             if len(beats_s) >= 3 * beats_per_bar and not warnings else 0)
    downbeats = beats_s[phase::beats_per_bar]
    return Rhythm(tempo_bpm=round(tempo, 2), beats_s=np.round(beats_s, 3), downbeats_s=np.round(downbeats, 3),
                  beats_per_bar=beats_per_bar, pulse_clarity=round(clarity, 3), warnings=warnings)


def estimate_tempo(env: np.ndarray, frame_rate: float, *, sample_rate: int = 16000, hop: int = 256,
                   start_bpm: float = FALLBACK_BPM) -> float:
    """librosa's global tempo (mean autocorrelation tempogram x log-normal prior), computed in blocks.

    The whole-song tempogram holds 384 float64 lags per frame (1.3 GB of peak memory on a 15-minute
    song). Its mean is built here block by block from exactly the same windows: the onset curve is
    padded once at the song's ends as librosa pads it, and each block's windows are taken from that
    curve with no padding of their own. An earlier version padded every block separately, which
    added edge windows that are not in the song every 16 s and moved the tempo of a real track to
    its 3:2 neighbour (134 instead of 89 BPM) when half a second of silence shifted the blocks.
    On the real tracks of bench/song_robustness.py it keeps its metrical level under shift, gain
    and MP3, and under a 1.05 time-stretch on 7 of 8 tracks; a single autocorrelation of the whole
    curve with the same prior flipped level on 2 of 8 under the stretch.
    """
    win = TEMPOGRAM_WIN
    padded = np.pad(np.asarray(env, dtype=np.float64), win // 2, mode="linear_ramp", end_values=(0, 0))
    n = len(env)
    total = np.zeros(win)
    for start in range(0, n, TEMPOGRAM_BLOCK):
        stop = min(start + TEMPOGRAM_BLOCK, n)
        # Window k of the padded curve is centred on frame k of the song.
        part = padded[start:stop + win - 1]
        gram = librosa.feature.tempogram(onset_envelope=part, sr=sample_rate, hop_length=hop, win_length=win,
                                         center=False)
        total += gram[:, : stop - start].sum(axis=1)
    mean = (total / max(n, 1))[:, None]
    tempo = librosa.feature.tempo(tg=mean, sr=sample_rate, hop_length=hop, start_bpm=start_bpm,
                                  std_bpm=TEMPO_PRIOR_OCTAVES)
    return float(np.atleast_1d(tempo)[0])


def track_beats_dp(env: np.ndarray, features: Features, *, bpm: float) -> np.ndarray:
    """librosa's dynamic-programming tracker at a fixed tempo; beat frames."""
    _, frames = librosa.beat.beat_track(onset_envelope=env, sr=features.sample_rate, hop_length=features.hop,
                                        bpm=bpm, tightness=100, trim=False, units="frames")
    return np.asarray(frames, dtype=int)


def beat_activation(env: np.ndarray, frame_rate: float) -> np.ndarray:
    """Onset curve as a 0..1 "beat here" probability for the DBN.

    Each frame is divided by the 90th percentile of the surrounding 8 s, so a quiet verse's
    hi-hats weigh as much as a loud chorus's, and the level of the recording does not matter.
    """
    x = np.asarray(env, dtype=np.float64)
    width = max(int(8.0 * frame_rate), 3)
    step = max(width // 8, 1)
    # Percentile on a coarse grid, interpolated: a sliding percentile per frame costs seconds.
    centres = np.arange(0, len(x), step)
    levels = np.array([np.percentile(x[max(c - width // 2, 0):c + width // 2 + 1], 90) for c in centres])
    level = np.interp(np.arange(len(x)), centres, levels)
    return np.clip(x / np.maximum(level, 1e-6) * 0.5, 1e-4, 0.95)


def track_beats_dbn(env: np.ndarray, frame_rate: float, *, bpm: float,
                    span: float = DBN_TEMPO_SPAN) -> np.ndarray:
    """Viterbi path through a beat-pointer state space; beat frames.

    States are (beat period in frames, position inside the beat). The position advances one
    frame at a time; at the end of a beat the period may change, with probability falling as
    exp(-lambda * |ratio - 1|). The first 1/16 of every beat observes the activation, the rest its
    complement. Back-pointers are kept only where a beat starts (one per period per frame), since
    every other state has a single predecessor: memory stays small even for a 15-minute song.
    """
    act = beat_activation(env, frame_rate)
    n_frames = len(act)
    period = 60.0 * frame_rate / bpm
    lo = max(int(np.floor(period * (1 - span))), 2)
    hi = max(int(np.ceil(period * (1 + span))), lo)
    intervals = np.arange(lo, hi + 1)
    starts = np.concatenate([[0], np.cumsum(intervals)[:-1]])
    ends = starts + intervals - 1
    n_states = int(intervals.sum())
    position = np.concatenate([np.arange(k) for k in intervals])
    on_beat = position < np.maximum(intervals.repeat(intervals) / DBN_OBSERVATION_LAMBDA, 1)
    ratio = intervals[None, :] / intervals[:, None]
    trans = -DBN_TRANSITION_LAMBDA * np.abs(ratio - 1.0)
    trans -= np.log(np.exp(trans).sum(axis=1, keepdims=True))           # rows: from period i
    log_on = np.log(act)
    log_off = np.log((1.0 - act) / (DBN_OBSERVATION_LAMBDA - 1))
    delta = np.full(n_states, -np.log(n_states)) + np.where(on_beat, log_on[0], log_off[0])
    back = np.empty((n_frames, len(intervals)), dtype=np.int16)
    new = np.empty_like(delta)
    for t in range(1, n_frames):
        new[1:] = delta[:-1]
        cand = delta[ends][:, None] + trans                                 # (from, to)
        best = np.argmax(cand, axis=0)
        back[t] = best
        new[starts] = cand[best, np.arange(len(intervals))]
        new += np.where(on_beat, log_on[t], log_off[t])
        delta, new = new, delta
        delta -= delta.max()                                                # keep log values bounded
    # Back-track: a state at position p came from p-1 of the same period; a beat start came from
    # the end of the period stored in ``back``.
    block = np.repeat(np.arange(len(intervals)), intervals)
    state = int(np.argmax(delta))
    beats: list[int] = []
    for t in range(n_frames - 1, -1, -1):
        k = int(block[state])
        if state == starts[k]:
            beats.append(t)
            if t > 0:
                state = int(ends[back[t, k]])
        else:
            state -= 1
    return np.array(beats[::-1], dtype=int)


def beat_period(beats_s: np.ndarray) -> float:
    """Typical seconds per beat, robust to the 16 ms quantisation of single intervals."""
    # Spans of 8 beats: each beat is quantised to a 16 ms frame, so single intervals would put
    # the tempo of a steady 120 BPM song anywhere between 116 and 124.
    span = min(8, len(beats_s) - 1)
    return float(np.median((beats_s[span:] - beats_s[:-span]) / span))


def _pulse_clarity(env: np.ndarray, beat_frames: np.ndarray) -> float:
    if len(beat_frames) == 0 or env.size == 0:
        return 0.0
    mean = float(env.mean())
    if mean <= 1e-9:
        return 0.0
    # Best value within one frame either side: tracker output is quantised to the frame grid.
    padded = np.pad(env, 1)
    frames = np.clip(beat_frames, 0, env.size - 1)
    on_beat = np.maximum.reduce([padded[frames], padded[frames + 1], padded[frames + 2]])
    return float(np.mean(on_beat) / mean)


def _downbeat_phase(features: Features, beat_frames: np.ndarray, beats_per_bar: int) -> int:
    """Which beat of every ``beats_per_bar`` starts the bar."""
    edges = np.append(beat_frames, features.n_frames)
    chroma = segment_aggregate(features.chroma, edges, median=True)          # (12, n_beats)
    norm = chroma / np.maximum(np.linalg.norm(chroma, axis=0, keepdims=True), 1e-9)
    # Harmonic change entering beat b: compare the two beats before it with the two from it on.
    before = (np.roll(norm, 1, axis=1) + np.roll(norm, 2, axis=1))
    after = norm + np.roll(norm, -1, axis=1)
    cos = np.sum(before * after, axis=0) / np.maximum(
        np.linalg.norm(before, axis=0) * np.linalg.norm(after, axis=0), 1e-9)
    change = 1.0 - cos
    padded = np.pad(features.low_onset, 2)
    kick = np.max(np.stack([padded[beat_frames + k] for k in range(5)]), axis=0)
    # The first bar is left out of the vote (where the music starts every cue jumps, and the roll
    # above wraps around), and so is the last beat (a final chord's release).
    keep = slice(beats_per_bar, len(beat_frames) - 1)
    change, kick = change[keep], kick[keep]
    # Each cue is capped at its 95th percentile: one huge step (a drum fill, a tutti entry) must
    # not outvote a steady pattern of bar-line changes.
    change = np.minimum(change, np.percentile(change, 95))
    kick = np.minimum(kick, np.percentile(kick, 95))
    score = change / max(float(change.mean()), 1e-9) + kick / max(float(kick.mean()), 1e-9)
    # score[j] belongs to beat j + beats_per_bar, which has the same phase as beat j.
    phase_scores = [float(np.mean(score[p::beats_per_bar])) for p in range(beats_per_bar)]
    return int(np.argmax(phase_scores))
