"""Valence and arousal per section and as a curve, from audio features and lyric sentiment.

The model is Russell's circumplex (Russell 1980): valence (unpleasant..pleasant) across, arousal
(calm..excited) up. The four quadrants give the labels used by the storyboard:

    valence >= 0, arousal >= 0  -> euphoric      valence < 0, arousal >= 0 -> tense
    valence >= 0, arousal <  0  -> serene        valence < 0, arousal <  0 -> melancholy

Audio cues and their direction follow the review of Gabrielsson & Lindstrom (2010, "The role of
structure in the musical expression of emotions", Handbook of Music and Emotion) and Eerola,
Friberg & Bresin (2013, Frontiers in Psychology 4:487): fast tempo, high loudness, bright timbre
and dense onsets raise arousal; major mode raises valence and minor lowers it, tempo and
brightness lean valence slightly positive. Each cue is mapped linearly from a fixed reference
range onto -1..1 (not normalised per song: a quiet ballad must stay calm however quiet it is
throughout). Lyrics move valence more than arousal in music-emotion studies (Hu & Downie 2010,
Malheiro et al. 2018), so lyric sentiment (VADER compound, Hutto & Gilbert 2014) is blended into
valence only, with weight LYRIC_WEIGHT where a section has words.

The mode cue is the balance of major over minor triads: every loud-enough frame's chroma is
matched to the 24 major/minor triad templates and the cue is (major - minor) / frames, so
I-V-vi-IV reads +0.5 (fully major after MODE_SCALE) and i-iv-V-i reads -0.5. Whole-key profiles
(Krumhansl-Kessler, Krumhansl 1990) are fooled by overtones: a bright sawtooth's 5th harmonic adds
a major third to every chord, and on such a minor progression the profiles answer "A major".
The tonic still comes from the Krumhansl-Kessler profiles, taking the major or minor candidate
that the triad balance agrees with.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import librosa
import numpy as np
from scipy.ndimage import maximum_filter1d
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from mediakit.numba_cache import load_librosa_kernels
from musicvideo.audio.features import Features, loudness_db, onset_envelope
from musicvideo.audio.rhythm import beat_period

# Reference ranges: value at -1 and at +1 of each cue.
TEMPO_RANGE = (60.0, 140.0)          # BPM
LOUDNESS_RANGE = (-32.0, -10.0)      # dBFS RMS
BRIGHTNESS_RANGE = (900.0, 2600.0)   # spectral centroid, Hz
ONSET_RANGE = (1.0, 6.0)             # onsets per second
MODE_SCALE = 0.5                     # triad balance that counts as fully major (or minor, negative)

AROUSAL_WEIGHTS = {"tempo": 0.35, "loudness": 0.30, "brightness": 0.15, "onsets": 0.20}
VALENCE_WEIGHTS = {"mode": 0.70, "tempo": 0.20, "brightness": 0.10}
LYRIC_WEIGHT = 0.35
CURVE_STEP_S = 1.0
CURVE_WINDOW_S = 8.0

LABELS = ("euphoric", "serene", "melancholy", "tense")

_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# All 24 rotations, z-scored, so a dot product with a z-scored chroma is Pearson's r.
_PROFILES = np.array([np.roll(p, k) for p in (_MAJOR, _MINOR) for k in range(12)])
_PROFILES = (_PROFILES - _PROFILES.mean(axis=1, keepdims=True)) / _PROFILES.std(axis=1, keepdims=True)
_TRIADS = np.array([[1.0 if (pc - root) % 12 in (0, third, 7) else 0.0 for pc in range(12)]
                    for third in (4, 3) for root in range(12)]) / np.sqrt(3)   # 12 major, then 12 minor
_NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")


@dataclass(frozen=True)
class Cues:
    tempo_bpm: float
    loudness_db: float
    brightness_hz: float
    onset_rate: float
    mode: float          # -1 minor .. +1 major
    key: str             # e.g. "A minor"


@dataclass(frozen=True)
class SectionEmotion:
    valence: float
    arousal: float
    label: str
    cues: Cues
    lyric_sentiment: float | None


@dataclass(frozen=True)
class EmotionCurve:
    times_s: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray


@dataclass(frozen=True)
class TimedText:
    """A span of lyrics with its time, for sentiment (a lyric line or a single word)."""

    text: str
    start_s: float
    end_s: float


def quadrant_label(valence: float, arousal: float) -> str:
    if valence >= 0:
        return "euphoric" if arousal >= 0 else "serene"
    return "tense" if arousal >= 0 else "melancholy"


def triad_balance(chroma: np.ndarray, weights: np.ndarray | None = None) -> float:
    """(major - minor) share of frames whose best-matching triad is major / minor, -1..1."""
    c = np.asarray(chroma, dtype=np.float64)
    if c.size == 0:
        return 0.0
    unit = c / np.maximum(np.linalg.norm(c, axis=0, keepdims=True), 1e-9)
    best = np.argmax(_TRIADS @ unit, axis=0)
    w = np.ones(c.shape[1]) if weights is None else np.asarray(weights, dtype=np.float64)
    total = float(w.sum())
    if total <= 0:
        return 0.0
    return float((np.sum(w[best < 12]) - np.sum(w[best >= 12])) / total)


def estimate_key(chroma_mean: np.ndarray, *, mode: float | None = None) -> tuple[str, float]:
    """Key name and mode cue (-1..1) from a 12-bin pitch-class profile.

    ``mode`` (from :func:`triad_balance`, already scaled) overrides the profiles' own major/minor
    verdict, which overtones distort.
    """
    c = np.asarray(chroma_mean, dtype=np.float64)
    if not np.any(c > 0) or np.ptp(c) < 1e-9:
        return "unknown", 0.0 if mode is None else mode
    z = (c - c.mean()) / c.std()
    major = _PROFILES[:12] @ z / 12
    minor = _PROFILES[12:] @ z / 12
    if mode is None:
        mode = float(np.clip((major.max() - minor.max()) / 0.25, -1.0, 1.0))
    if mode >= 0:
        return f"{_NOTE_NAMES[int(major.argmax())]} major", mode
    return f"{_NOTE_NAMES[int(minor.argmax())]} minor", mode


def lyric_sentiment(text: str) -> float:
    """VADER compound score, -1 (negative) .. +1 (positive); 0 for no words."""
    if not text.strip():
        return 0.0
    return float(_vader().polarity_scores(text)["compound"])


@functools.lru_cache(maxsize=1)
def _vader() -> SentimentIntensityAnalyzer:
    return SentimentIntensityAnalyzer()


def _scale(value: float, lo_hi: tuple[float, float]) -> float:
    lo, hi = lo_hi
    return float(np.clip(2 * (value - lo) / (hi - lo) - 1, -1.0, 1.0))


def emotion_from_cues(cues: Cues, lyric: float | None = None) -> tuple[float, float]:
    """(valence, arousal) in -1..1 from the cues, documented in the module docstring."""
    tempo = _scale(cues.tempo_bpm, TEMPO_RANGE)
    loud = _scale(cues.loudness_db, LOUDNESS_RANGE)
    bright = _scale(cues.brightness_hz, BRIGHTNESS_RANGE)
    onsets = _scale(cues.onset_rate, ONSET_RANGE)
    arousal = (AROUSAL_WEIGHTS["tempo"] * tempo + AROUSAL_WEIGHTS["loudness"] * loud
               + AROUSAL_WEIGHTS["brightness"] * bright + AROUSAL_WEIGHTS["onsets"] * onsets)
    valence = (VALENCE_WEIGHTS["mode"] * cues.mode + VALENCE_WEIGHTS["tempo"] * tempo
               + VALENCE_WEIGHTS["brightness"] * bright)
    if lyric is not None:
        valence = (1 - LYRIC_WEIGHT) * valence + LYRIC_WEIGHT * lyric
    return round(float(np.clip(valence, -1, 1)), 3), round(float(np.clip(arousal, -1, 1)), 3)


class EmotionAnalyzer:
    """Per-span cues over one song's features; onsets are detected once and reused."""

    def __init__(self, features: Features, beats_s: np.ndarray) -> None:
        self.features = features
        self.beats_s = np.asarray(beats_s, dtype=float)
        env = onset_envelope(features)
        if env.size and float(env.max()) > 1e-3:
            load_librosa_kernels()
            # Normalise by the loudest onset of the surrounding 3 s, not of the whole song: a hi-hat
            # under a loud chorus is as much an event as one in a quiet verse.
            local_max = maximum_filter1d(env, size=max(int(3.0 * features.frame_rate), 1))
            self.onsets_s = librosa.onset.onset_detect(onset_envelope=env / np.maximum(local_max, 1e-3),
                                                       sr=features.sample_rate, hop_length=features.hop,
                                                       units="time", normalize=False, delta=0.05)
            self.onsets_s = self.onsets_s + features.offset_s
        else:
            self.onsets_s = np.empty(0)

    def cues(self, start_s: float, end_s: float) -> Cues:
        f = self.features
        a, b = (int(x) for x in f.time_to_frame(np.array([start_s, end_s])))
        b = max(b, a + 1)
        power = f.rms[a:b].astype(np.float64) ** 2
        loud = float(loudness_db(np.sqrt(power.mean())))
        # Power-weighted centroid: quiet frames (reverb tails, gaps) would drag brightness down.
        weights = power + 1e-12
        bright = float(np.sum(f.centroid_hz[a:b] * weights) / np.sum(weights))
        span = max(end_s - start_s, 1e-3)
        onset_rate = float(np.count_nonzero((self.onsets_s >= start_s) & (self.onsets_s < end_s)) / span)
        # Quiet frames (gaps, tails) carry no chord; weight frames by power.
        mode = float(np.clip(triad_balance(f.chroma[:, a:b], weights=power) / MODE_SCALE, -1.0, 1.0))
        key, mode = estimate_key(f.chroma[:, a:b].mean(axis=1), mode=mode)
        return Cues(tempo_bpm=round(self._local_tempo(start_s, end_s), 2), loudness_db=round(loud, 2),
                    brightness_hz=round(bright, 1), onset_rate=round(onset_rate, 3), mode=round(mode, 3), key=key)

    def _local_tempo(self, start_s: float, end_s: float) -> float:
        inside = self.beats_s[(self.beats_s >= start_s) & (self.beats_s < end_s)]
        if len(inside) >= 3:
            return 60.0 / beat_period(inside)
        if len(self.beats_s) >= 2:
            return 60.0 / beat_period(self.beats_s)
        return 100.0

    def section(self, start_s: float, end_s: float, lyrics: Sequence[TimedText] = ()) -> SectionEmotion:
        cues = self.cues(start_s, end_s)
        text = " ".join(t.text for t in lyrics if t.start_s < end_s and t.end_s > start_s)
        lyric = lyric_sentiment(text) if len(text.split()) >= 3 else None
        valence, arousal = emotion_from_cues(cues, lyric)
        return SectionEmotion(valence=valence, arousal=arousal, label=quadrant_label(valence, arousal), cues=cues,
                              lyric_sentiment=None if lyric is None else round(lyric, 3))

    def curve(self, duration_s: float, lyrics: Sequence[TimedText] = ()) -> EmotionCurve:
        """Valence and arousal every CURVE_STEP_S over a centred CURVE_WINDOW_S window."""
        times = np.arange(0.0, max(duration_s, CURVE_STEP_S), CURVE_STEP_S)
        line_scores = [(t.start_s, t.end_s, lyric_sentiment(t.text)) for t in lyrics if t.text.strip()]
        val = np.empty(len(times))
        aro = np.empty(len(times))
        half = CURVE_WINDOW_S / 2
        for i, t in enumerate(times):
            lo, hi = max(t - half, 0.0), min(t + half, duration_s)
            near = [s for a, b, s in line_scores if a < hi and b > lo]
            lyric = float(np.mean(near)) if near else None
            val[i], aro[i] = emotion_from_cues(self.cues(lo, max(hi, lo + 0.1)), lyric)
        return EmotionCurve(times_s=np.round(times, 3), valence=val, arousal=aro)
