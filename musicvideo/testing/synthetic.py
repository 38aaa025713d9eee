"""Synthetic songs with known truth: beat grid, bar starts, section boundaries and word onsets.

Used by the tests and by ``bench/song.py``: a real song's annotations would have to be shipped and
licensed, while a generated one carries exact ground truth. Drums mark the beat grid, each section
has its own chord progression and timbre, and espeak-ng speaks the lyrics one word per slot so
each word's onset time is known to the sample.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

SAMPLE_RATE = 22050

_PITCH_CLASSES = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "F": 5, "F#": 6, "Gb": 6,
                  "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11}


@dataclass(frozen=True)
class SectionSpec:
    name: str
    bars: int
    chords: tuple[str, ...]          # one chord per bar, cycled
    timbre: str = "pad"              # pad | saw | organ | pluck
    drums: str = "full"              # full | light | sparse
    level_db: float = -14.0          # RMS level of the instruments in this section
    lyrics: tuple[str, ...] = ()     # lines; one line starts every two bars


@dataclass(frozen=True)
class SongSpec:
    tempo_bpm: float
    sections: tuple[SectionSpec, ...]
    beats_per_bar: int = 4
    seed: int = 0
    vocal_level_db: float = -13.0
    lead_in_s: float = 0.0           # silence before the first beat (tests a non-zero phase)


@dataclass(frozen=True)
class TruthWord:
    text: str
    start_s: float
    end_s: float


@dataclass
class SyntheticSong:
    samples: np.ndarray
    sample_rate: int
    spec: SongSpec
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    section_starts_s: np.ndarray
    section_names: list[str]
    words: list[TruthWord] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.sample_rate

    @property
    def lyrics_text(self) -> str:
        return "\n".join(self.lines)

    def lrc_text(self) -> str:
        """The lyrics as an .lrc file whose line times are the first word's true onset."""
        out: list[str] = []
        i = 0
        for line in self.lines:
            start = self.words[i].start_s
            minutes, seconds = divmod(start, 60.0)
            out.append(f"[{int(minutes):02d}:{seconds:05.2f}]{line}")
            i += len(line.split())
        return "\n".join(out)


def make_song(spec: SongSpec, *, vocals: bool = True) -> SyntheticSong:
    """Render ``spec`` to mono float32 at 22.05 kHz with its ground truth."""
    sr = SAMPLE_RATE
    rng = np.random.default_rng(spec.seed)
    beat = 60.0 / spec.tempo_bpm
    bar = beat * spec.beats_per_bar
    total_bars = sum(s.bars for s in spec.sections)
    tail_s = 1.5
    n = int((spec.lead_in_s + total_bars * bar + tail_s) * sr)
    music = np.zeros(n, dtype=np.float32)
    voice = np.zeros(n, dtype=np.float32)

    beats: list[float] = []
    downbeats: list[float] = []
    section_starts: list[float] = []
    words: list[TruthWord] = []
    lines: list[str] = []
    t_bar = spec.lead_in_s
    for section in spec.sections:
        section_starts.append(t_bar)
        layer = np.zeros(n, dtype=np.float32)
        for b in range(section.bars):
            chord = section.chords[b % len(section.chords)]
            t0 = t_bar + b * bar
            downbeats.append(t0)
            for k in range(spec.beats_per_bar):
                beats.append(t0 + k * beat)
            _add_chord(layer, sr, t0, bar, beat, chord, section.timbre)
            _add_drums(layer, sr, t0, beat, spec.beats_per_bar, section.drums, rng)
        _set_level(layer, section.level_db, start=int(t_bar * sr), stop=int((t_bar + section.bars * bar) * sr))
        music += layer
        if vocals and section.lyrics:
            step = 1 if beat >= 0.45 else 2    # espeak words last ~0.35 s: keep them from overlapping
            for li, line in enumerate(section.lyrics):
                line_bar = 2 * li
                if line_bar >= section.bars:
                    break
                lines.append(line)
                for wi, word in enumerate(line.split()):
                    t = t_bar + line_bar * bar + wi * step * beat
                    clip = speak(word, voice_seed=spec.seed)
                    start = int(round(t * sr))
                    stop = min(start + len(clip), n)
                    voice[start:stop] += clip[: stop - start]
                    words.append(TruthWord(text=word, start_s=t, end_s=t + len(clip) / sr))
        t_bar += section.bars * bar

    if words:
        voiced = np.abs(voice) > 0
        _set_level(voice, spec.vocal_level_db, mask=voiced)
    mix = music + voice
    peak = float(np.max(np.abs(mix))) or 1.0
    if peak > 0.99:
        mix *= 0.99 / peak
    return SyntheticSong(samples=mix.astype(np.float32), sample_rate=sr, spec=spec,
                         beats_s=np.asarray(beats), downbeats_s=np.asarray(downbeats),
                         section_starts_s=np.asarray(section_starts),
                         section_names=[s.name for s in spec.sections], words=words, lines=lines)


# --- presets -------------------------------------------------------------------------------------

_VERSE_LINES = ("walking down the empty street", "city lights are fading slow",
                "every window holds a dream", "I keep moving on my own")
_CHORUS_LINES = ("we are dancing in the sun", "hold my hand and feel alive",
                 "love is shining on us all", "happy hearts will never die")
_BRIDGE_LINES = ("shadows falling all around", "still I find my way back home")


def pop_song(*, tempo_bpm: float = 120.0, repeats: int = 2, vocals: bool = True, seed: int = 7,
             lead_in_s: float = 0.0) -> SongSpec:
    """Intro, (verse, chorus) x repeats, bridge, chorus, outro: verses and choruses differ in both
    harmony and timbre, so they are separable by chroma and by MFCC alike."""
    verse = SectionSpec("verse", 8, ("Am", "F", "C", "G"), timbre="pluck", drums="light", level_db=-17.0,
                        lyrics=_VERSE_LINES if vocals else ())
    chorus = SectionSpec("chorus", 8, ("D", "A", "Bm", "G"), timbre="saw", drums="full", level_db=-12.0,
                         lyrics=_CHORUS_LINES if vocals else ())
    sections: list[SectionSpec] = [SectionSpec("intro", 4, ("Dm", "Dm", "Em", "Em"), timbre="pad",
                                               drums="sparse", level_db=-20.0)]
    for _ in range(repeats):
        sections += [verse, chorus]
    sections += [SectionSpec("bridge", 8, ("Bb", "Eb", "Bb", "F"), timbre="organ", drums="light", level_db=-16.0,
                             lyrics=_BRIDGE_LINES if vocals else ()),
                 chorus,
                 SectionSpec("outro", 4, ("Dm", "Dm", "Em", "Em"), timbre="pad", drums="sparse", level_db=-20.0)]
    return SongSpec(tempo_bpm=tempo_bpm, sections=tuple(sections), seed=seed, lead_in_s=lead_in_s)


def calm_major(*, bars: int = 16, seed: int = 1) -> SongSpec:
    """Slow, quiet, soft major-key material: the serene quadrant (high valence, low arousal)."""
    return SongSpec(tempo_bpm=72.0, seed=seed, sections=(
        SectionSpec("calm", bars, ("C", "F", "G", "C"), timbre="pad", drums="sparse", level_db=-24.0),))


def fast_minor(*, bars: int = 32, seed: int = 2) -> SongSpec:
    """Fast, loud, bright minor-key material: the tense quadrant (low valence, high arousal)."""
    return SongSpec(tempo_bpm=156.0, seed=seed, sections=(
        SectionSpec("fast", bars, ("Am", "Dm", "E", "Am"), timbre="saw", drums="full", level_db=-9.0),))


def song_of_length(duration_s: float, *, tempo_bpm: float = 120.0, vocals: bool = True, seed: int = 3) -> SongSpec:
    """A pop song whose verse/chorus repeats fill about ``duration_s`` (bench material)."""
    bar = 4 * 60.0 / tempo_bpm
    fixed_bars = 4 + 8 + 8 + 4
    repeats = max(1, int(round((duration_s / bar - fixed_bars) / 16)))
    return pop_song(tempo_bpm=tempo_bpm, repeats=repeats, vocals=vocals, seed=seed)


# --- instruments ---------------------------------------------------------------------------------

def _chord_notes(chord: str) -> list[int]:
    """MIDI notes of a triad in octave 4 plus its root two octaves lower for the bass."""
    minor = chord.endswith("m")
    root_name = chord[:-1] if minor else chord
    root = 60 + _PITCH_CLASSES[root_name]
    third = 3 if minor else 4
    return [root - 24, root, root + third, root + 7]


def _midi_hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def _tone(freq: float, n: int, sr: int, timbre: str) -> np.ndarray:
    t = np.arange(n) / sr
    harmonics = {"pad": [(1, 1.0), (2, 0.15)],
                 "saw": [(k, 1.0 / k) for k in range(1, 12)],
                 "organ": [(k, 1.0 / k) for k in range(1, 10, 2)],
                 "pluck": [(k, 0.7 ** k) for k in range(1, 7)]}[timbre]
    out = np.zeros(n)
    for k, amp in harmonics:
        if freq * k < sr / 2:
            out += amp * np.sin(2 * np.pi * freq * k * t)
    return out


def _envelope(n: int, sr: int, timbre: str) -> np.ndarray:
    t = np.arange(n) / sr
    if timbre == "pluck":
        return np.exp(-t * 6.0)
    attack = {"pad": 0.25, "saw": 0.01, "organ": 0.02}[timbre]
    env = np.minimum(1.0, t / attack)
    release = min(int(0.05 * sr), n)
    env[n - release:] *= np.linspace(1.0, 0.0, release)
    return env


def _add_chord(out: np.ndarray, sr: int, t0: float, bar: float, beat: float, chord: str, timbre: str) -> None:
    start = int(round(t0 * sr))
    notes = _chord_notes(chord)
    if timbre == "pluck":
        # Plucked chords restrike on every beat, so the verse has a rhythmic harmonic layer.
        hits = [(start + int(round(k * beat * sr)), int(beat * sr)) for k in range(int(round(bar / beat)))]
    else:
        hits = [(start, int(bar * sr))]
    for hit, length in hits:
        length = min(length, len(out) - hit)
        if length <= 0:
            continue
        env = _envelope(length, sr, timbre)
        for i, note in enumerate(notes):
            gain = 0.9 if i == 0 else 0.5
            out[hit:hit + length] += (gain * env * _tone(_midi_hz(note), length, sr, timbre)).astype(np.float32)


def _add_drums(out: np.ndarray, sr: int, t0: float, beat: float, beats_per_bar: int, style: str,
               rng: np.random.Generator) -> None:
    for k in range(beats_per_bar):
        t = t0 + k * beat
        if style == "sparse":
            if k == 0:
                _place(out, sr, t, _kick(sr, 1.0))
            _place(out, sr, t, _hat(sr, rng, 0.25))
            continue
        if k % 2 == 0:
            _place(out, sr, t, _kick(sr, 1.2 if k == 0 else 1.0))
        else:
            _place(out, sr, t, _snare(sr, rng, 0.8 if style == "full" else 0.5))
        _place(out, sr, t, _hat(sr, rng, 0.35))
        if style == "full":
            _place(out, sr, t + beat / 2, _hat(sr, rng, 0.25))


def _place(out: np.ndarray, sr: int, t: float, clip: np.ndarray) -> None:
    start = int(round(t * sr))
    stop = min(start + len(clip), len(out))
    if stop > start:
        out[start:stop] += clip[: stop - start]


@functools.lru_cache(maxsize=4)
def _kick(sr: int, gain: float) -> np.ndarray:
    n = int(0.3 * sr)
    t = np.arange(n) / sr
    freq = 50 + 100 * np.exp(-t * 30)
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (gain * 1.6 * np.sin(phase) * np.exp(-t * 12)).astype(np.float32)


def _snare(sr: int, rng: np.random.Generator, gain: float) -> np.ndarray:
    n = int(0.18 * sr)
    t = np.arange(n) / sr
    noise = rng.standard_normal(n) * np.exp(-t * 25)
    body = np.sin(2 * np.pi * 185 * t) * np.exp(-t * 30)
    return (gain * (0.6 * noise + 0.8 * body)).astype(np.float32)


def _hat(sr: int, rng: np.random.Generator, gain: float) -> np.ndarray:
    n = int(0.05 * sr)
    t = np.arange(n) / sr
    noise = np.diff(rng.standard_normal(n + 1))      # differencing tilts the noise towards the highs
    return (gain * 0.5 * noise * np.exp(-t * 80)).astype(np.float32)


def _set_level(x: np.ndarray, level_db: float, *, start: int = 0, stop: int | None = None,
               mask: np.ndarray | None = None) -> None:
    region = x[start:stop]
    sel = region[mask[start:stop]] if mask is not None else region
    rms = float(np.sqrt(np.mean(np.square(sel, dtype=np.float64)))) if sel.size else 0.0
    if rms > 0:
        region *= np.float32(10 ** (level_db / 20) / rms)


# --- voice ---------------------------------------------------------------------------------------

def espeak_available() -> bool:
    return shutil.which("espeak-ng") is not None


@functools.lru_cache(maxsize=1024)
def speak(word: str, *, voice_seed: int = 0, words_per_minute: int = 190) -> np.ndarray:
    """One word spoken by espeak-ng at 22.05 kHz, trimmed so that sample 0 is the word's onset."""
    pitch = 40 + (voice_seed * 7) % 30
    raw = subprocess.run(["espeak-ng", "-v", "en-us", "-s", str(words_per_minute), "-p", str(pitch), "--stdout", word],
                         check=True, capture_output=True).stdout
    pcm = _wav_pcm(raw)
    return _trim(pcm.astype(np.float32) / 32768.0)


def _wav_pcm(raw: bytes) -> np.ndarray:
    # espeak-ng writes a streaming WAV header whose size fields may be 0xFFFFFFFF: find "data" ourselves.
    idx = raw.find(b"data")
    if idx < 0:
        raise RuntimeError("espeak-ng returned no audio")
    return np.frombuffer(raw[idx + 8:len(raw) - (len(raw) - idx - 8) % 2], dtype="<i2")


def _trim(x: np.ndarray, *, threshold_db: float = -40.0) -> np.ndarray:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak == 0:
        return x
    idx = np.flatnonzero(np.abs(x) > peak * 10 ** (threshold_db / 20))
    return x[idx[0]:idx[-1] + 1].copy()


def words_text(words: Sequence[TruthWord]) -> str:
    return " ".join(w.text for w in words)
