"""Emotion: quadrant labels on clearly calm-major and fast-minor material; the documented mapping."""

from __future__ import annotations

import numpy as np
import pytest

from musicvideo.audio.emotion import (
    Cues,
    EmotionAnalyzer,
    emotion_from_cues,
    estimate_key,
    lyric_sentiment,
    quadrant_label,
    triad_balance,
)
from musicvideo.audio.features import ANALYSIS_SR, compute_features
from musicvideo.audio.rhythm import analyze_rhythm
from tests.musicvideo import songs
from tests.musicvideo.audio.util import at_16k


def analyse(song_name: str) -> tuple[EmotionAnalyzer, float]:
    samples = at_16k(getattr(songs, song_name)())
    duration = len(samples) / ANALYSIS_SR
    features = compute_features(samples)
    return EmotionAnalyzer(features, analyze_rhythm(features, duration_s=duration).beats_s), duration


def test_calm_major_is_serene() -> None:
    analyzer, duration = analyse("calm")
    mood = analyzer.section(0.0, duration)
    assert mood.label == "serene"
    assert mood.cues.key == "C major"
    assert mood.cues.mode == 1.0
    assert mood.valence > 0.3 and mood.arousal < -0.4
    curve = analyzer.curve(duration)
    assert len(curve.times_s) == int(np.ceil(duration))
    assert all(quadrant_label(v, a) == "serene" for v, a in zip(curve.valence, curve.arousal, strict=True))


def test_fast_minor_is_tense() -> None:
    analyzer, duration = analyse("fast")
    mood = analyzer.section(0.0, duration)
    assert mood.label == "tense"
    assert mood.cues.key == "A minor"
    assert mood.cues.mode == -1.0
    assert mood.valence < -0.3 and mood.arousal > 0.4
    assert mood.cues.tempo_bpm == pytest.approx(156.0, abs=1.0)


def test_quadrants() -> None:
    assert [quadrant_label(v, a) for v, a in [(0.5, 0.5), (0.5, -0.5), (-0.5, -0.5), (-0.5, 0.5)]] == [
        "euphoric", "serene", "melancholy", "tense"]


def test_mapping_from_cues_is_the_documented_one() -> None:
    neutral = Cues(tempo_bpm=100.0, loudness_db=-21.0, brightness_hz=1750.0, onset_rate=3.5, mode=0.0, key="C major")
    assert emotion_from_cues(neutral) == (0.0, 0.0)
    loud_fast = Cues(tempo_bpm=140.0, loudness_db=-10.0, brightness_hz=2600.0, onset_rate=6.0, mode=1.0, key="C major")
    assert emotion_from_cues(loud_fast) == (1.0, 1.0)
    # Lyrics move valence only, by LYRIC_WEIGHT.
    assert emotion_from_cues(neutral, lyric=1.0) == (0.35, 0.0)
    assert emotion_from_cues(neutral, lyric=-1.0) == (-0.35, 0.0)


def test_lyric_sentiment_sign() -> None:
    assert lyric_sentiment("we are dancing in the sun, love is shining on us all") > 0.5
    assert lyric_sentiment("I am lost and broken, crying alone in the dark") < -0.5
    assert lyric_sentiment("") == 0.0


def test_triads_decide_mode_where_overtones_fool_key_profiles() -> None:
    # A minor triad whose root carries a loud fifth harmonic (C#): the profiles alone lean major.
    chroma = np.zeros((12, 4))
    chroma[[9, 0, 4], :] = 1.0
    chroma[1, :] = 0.3
    assert triad_balance(chroma) == -1.0
    assert estimate_key(chroma.mean(axis=1), mode=-1.0) == ("A minor", -1.0)
