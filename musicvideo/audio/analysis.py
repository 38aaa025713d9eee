"""One song in, one analysis out: rhythm, sections, emotion and lyrics, with progress.

The audio is decoded once, at 16 kHz mono (Whisper's rate, so recognition reads the same array
as the music features): a 15-minute song is 58 MB and no stage makes a second copy of it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from mediakit.audio import decode_audio
from mediakit.errors import EncoreError
from mediakit.progress import ProgressFn, null_progress, scaled
from musicvideo.audio import correction
from musicvideo.audio.emotion import EmotionAnalyzer, EmotionCurve, SectionEmotion, TimedText
from musicvideo.audio.features import ANALYSIS_SR, compute_features, loudness_db
from musicvideo.audio.lyrics import LyricLine, Lyrics, WhisperConfig, Word, lyrics_from_text, transcribe_words
from musicvideo.audio.rhythm import active_span, analyze_rhythm
from musicvideo.audio.structure import analyze_structure

MIN_DURATION_S = 0.5
SILENCE_DB = -60.0          # a whole song quieter than this (RMS, dBFS) is treated as silence
WAVEFORM_POINTS = 1200


class AudioError(EncoreError):
    code = "audio_invalid"


@dataclass(frozen=True)
class AnalysisOptions:
    lyrics_text: str | None = None
    lrc_text: str | None = None
    transcribe: bool = True                       # Whisper; also the clock for aligning given lyrics
    whisper: WhisperConfig = field(default_factory=WhisperConfig)
    beats_per_bar: int = 4
    max_duration_s: float = 15 * 60.0


@dataclass(frozen=True)
class AnalyzedSection:
    start_s: float
    end_s: float
    label: str
    name: str
    valence: float
    arousal: float
    mood: str
    key: str
    tempo_bpm: float
    loudness_db: float
    lyric_sentiment: float | None


@dataclass(frozen=True)
class Analysis:
    duration_s: float
    sample_rate: int
    tempo_bpm: float
    beats_per_bar: int
    key: str
    beats_s: list[float]
    downbeats_s: list[float]
    sections: list[AnalyzedSection]
    emotion_times_s: list[float]
    valence: list[float]
    arousal: list[float]
    words: list[Word]
    lines: list[LyricLine]
    lyrics_source: str
    lyrics_matched_fraction: float | None
    waveform: list[float]                          # peak |amplitude| per bucket, 0..1, for drawing
    warnings: list[str]
    timings_s: dict[str, float]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Analysis:
        values = dict(data)
        values["sections"] = [AnalyzedSection(**s) for s in data["sections"]]
        values["words"] = [Word(**w) for w in data["words"]]
        values["lines"] = [LyricLine(**ln) for ln in data["lines"]]
        return cls(**values)


def analyze_file(path: str | os.PathLike[str], *, options: AnalysisOptions | None = None,
                 progress: ProgressFn = null_progress) -> Analysis:
    """Decode ``path`` (one copy, 16 kHz mono) and analyse it."""
    opts = options or AnalysisOptions()
    progress("decode", 0.0, "Decoding the song")
    started = time.perf_counter()
    samples = decode_audio(path, sample_rate=ANALYSIS_SR, mono=True, max_duration_s=opts.max_duration_s)
    decode_s = time.perf_counter() - started
    result = analyze_samples(samples, options=opts, progress=scaled(progress, 0.05, 1.0))
    result.timings_s["decode"] = round(decode_s, 3)
    return result


def analyze_samples(samples: np.ndarray, *, options: AnalysisOptions | None = None,
                    progress: ProgressFn = null_progress) -> Analysis:
    """Analyse mono float32 samples at 16 kHz. Raises AudioError for silence or a too-short clip."""
    opts = options or AnalysisOptions()
    if samples.ndim != 1:
        raise ValueError("analyze_samples expects mono samples")
    duration = len(samples) / ANALYSIS_SR
    if duration < MIN_DURATION_S:
        raise AudioError(f"The song lasts {duration:.2f} s; at least {MIN_DURATION_S} s is needed.",
                         code="audio_too_short")
    timings: dict[str, float] = {}
    # Stage weights on the progress bar, roughly their share of the run time.
    listen = opts.transcribe
    bounds = _stage_bounds({"features": 3.0, "rhythm": 0.6, "structure": 0.2,
                            "lyrics": 12.0 if listen else 0.1, "emotion": 0.6})

    # Music and silence alike are measured only where the song sounds: silence before or after it
    # must move beats, bars and sections by exactly its own length and nothing else.
    first, stop = active_span(samples)
    if stop - first < MIN_DURATION_S * ANALYSIS_SR:
        raise AudioError("The song is silent: there is nothing to cut a video to.", code="audio_silent")
    offset_s, music_end_s = first / ANALYSIS_SR, stop / ANALYSIS_SR
    with _timed(timings, "features"):
        features = compute_features(samples[first:stop], ANALYSIS_SR, offset_s=offset_s,
                                    progress=scaled(progress, *bounds["features"]))
    overall_db = float(loudness_db(np.sqrt(np.mean(features.rms.astype(np.float64) ** 2))))
    if overall_db < SILENCE_DB:
        raise AudioError("The song is silent: there is nothing to cut a video to.", code="audio_silent")

    progress("rhythm", bounds["rhythm"][0], "Finding the beat")
    with _timed(timings, "rhythm"):
        rhythm = analyze_rhythm(features, duration_s=music_end_s, beats_per_bar=opts.beats_per_bar)
    progress("rhythm", bounds["rhythm"][1], f"{rhythm.tempo_bpm:.0f} BPM, {len(rhythm.beats_s)} beats")

    with _timed(timings, "structure"):
        sections = analyze_structure(features, rhythm.downbeats_s, duration_s=music_end_s)
        # The first section covers any silence before the music, the last any silence after it.
        sections[-1] = replace(sections[-1], end_s=round(duration, 3))
    progress("structure", bounds["structure"][1], f"{len(sections)} sections")

    progress("lyrics", bounds["lyrics"][0], "Listening for words" if listen else "Placing the lyrics")
    with _timed(timings, "lyrics"):
        recognised: list[Word] = []
        if listen:
            recognised = transcribe_words(samples, config=opts.whisper, progress=scaled(progress, *bounds["lyrics"]))
        lyrics = lyrics_from_text(opts.lyrics_text, opts.lrc_text, recognised=recognised, duration_s=duration)
        if not listen and not (opts.lyrics_text or opts.lrc_text):
            lyrics = Lyrics(words=[], lines=[], source="none", warnings=[])

    progress("emotion", bounds["emotion"][0], "Reading the mood")
    with _timed(timings, "emotion"):
        analyzer = EmotionAnalyzer(features, rhythm.beats_s)
        spans = [TimedText(text=ln.text, start_s=ln.start_s, end_s=max(ln.end_s, ln.start_s + 0.1))
                 for ln in lyrics.lines]
        moods: list[SectionEmotion] = [analyzer.section(s.start_s, s.end_s, spans) for s in sections]
        curve: EmotionCurve = analyzer.curve(duration, spans)
        key = analyzer.cues(0.0, duration).key
    progress("emotion", 1.0, "Analysis complete")

    warnings = list(dict.fromkeys([*rhythm.warnings, *lyrics.warnings]))
    return Analysis(
        duration_s=round(duration, 3), sample_rate=ANALYSIS_SR, tempo_bpm=rhythm.tempo_bpm,
        beats_per_bar=rhythm.beats_per_bar, key=key,
        beats_s=[float(b) for b in rhythm.beats_s], downbeats_s=[float(b) for b in rhythm.downbeats_s],
        sections=[AnalyzedSection(start_s=s.start_s, end_s=s.end_s, label=s.label, name=s.name, valence=m.valence,
                                  arousal=m.arousal, mood=m.label, key=m.cues.key, tempo_bpm=m.cues.tempo_bpm,
                                  loudness_db=m.cues.loudness_db, lyric_sentiment=m.lyric_sentiment)
                  for s, m in zip(sections, moods, strict=True)],
        emotion_times_s=[float(t) for t in curve.times_s], valence=[float(v) for v in curve.valence],
        arousal=[float(a) for a in curve.arousal], words=lyrics.words, lines=lyrics.lines,
        lyrics_source=lyrics.source, lyrics_matched_fraction=lyrics.matched_fraction,
        waveform=waveform_peaks(samples), warnings=warnings, timings_s=timings)


def waveform_peaks(samples: np.ndarray, points: int = WAVEFORM_POINTS) -> list[float]:
    """Peak |amplitude| per bucket, scaled so the loudest bucket is 1 (slices: no copy of the song)."""
    n = len(samples)
    if n == 0:
        return []
    points = min(points, n)
    edges = np.linspace(0, n, points + 1).astype(int)
    peaks = np.array([float(np.max(np.abs(samples[edges[i]:max(edges[i + 1], edges[i] + 1)])))
                      for i in range(points)])
    top = float(peaks.max())
    return [round(float(p), 3) for p in (peaks / top if top > 0 else peaks)]


def _stage_bounds(weights: dict[str, float]) -> dict[str, tuple[float, float]]:
    total = sum(weights.values())
    out: dict[str, tuple[float, float]] = {}
    acc = 0.0
    for name, w in weights.items():
        out[name] = (acc / total, (acc + w) / total)
        acc += w
    return out


@contextmanager
def _timed(timings: dict[str, float], name: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round(time.perf_counter() - started, 3)


def corrected_analysis(analysis: Analysis, *, bar_shift: int, tempo: correction.TempoLevel) -> Analysis:
    """``analysis`` with the user's correction (``correction.correct_rhythm``) applied to its tempo,
    beats, bars and sections."""
    data = analysis.to_dict()
    found = correction.Rhythm(tempo_bpm=analysis.tempo_bpm, beats_s=data["beats_s"],
                              downbeats_s=data["downbeats_s"], sections=data["sections"])
    rhythm = correction.correct_rhythm(found, beats_per_bar=analysis.beats_per_bar, bar_shift=bar_shift,
                                       tempo=tempo)
    data.update(tempo_bpm=rhythm.tempo_bpm, beats_s=rhythm.beats_s, downbeats_s=rhythm.downbeats_s,
                sections=rhythm.sections)
    return Analysis.from_dict(data)
