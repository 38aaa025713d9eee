"""From a video analysis to a multi-track arrangement on a beat grid aligned with the video.

Key, mode, tempo prior and instruments come from the mood and the genre preset; sections start
at cuts (see alignment.lay_bars); each bar's density level (0 sparse .. 3 busy) follows the
motion intensity under it, shifted by the user's energy level; strong visual beats that fall on
the grid get an accent, so the music hits where the picture hits. Everything random draws from
one numpy Generator seeded by the user's take number: same video + options + seed = same notes.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from soundtrack.engine.alignment import BeatGrid, fit_beat_grid
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.presets import (
    ENERGY_LEVELS,
    GM_NAMES,
    MODES,
    NOTE_NAMES,
    PROGRAM_LOUDNESS_DB,
    PROGRESSIONS_MAJOR,
    PROGRESSIONS_MINOR,
    GenrePreset,
    mode_for,
    quadrant,
    resolve_genre,
    search_range,
    tempo_prior,
)
from soundtrack.engine.visual import VideoAnalysis

DRUM_CHANNEL = 9
KICK, SIDE_STICK, SNARE, CLAP, CLOSED_HAT, PEDAL_HAT, OPEN_HAT = 36, 37, 38, 39, 42, 44, 46
LOW_TOM, MID_TOM, HIGH_TOM, CRASH, RIDE, TAMBOURINE, SHAKER = 45, 47, 50, 49, 51, 54, 70
LOUD_ENDING_AROUSAL = 0.0     # mood arousal (-1..1) from which an ending may be loud
FLOOR_TOM = 41
ACCENT_WINDOW_S = 0.06          # a visual beat this close to an eighth-note slot gets an accent
ACCENT_MIN_STRENGTH = 0.5
ACCENT_BOOST = 16               # velocity added to the groove's strokes on the strongest visual beats
STROKES = (KICK, SNARE, CLAP, SIDE_STICK, LOW_TOM, MID_TOM, HIGH_TOM, FLOOR_TOM)


@dataclass(frozen=True)
class Note:
    start: float       # beats after beat 0 of the grid
    duration: float    # beats
    pitch: int
    velocity: int


@dataclass
class Part:
    role: str
    program: int
    channel: int
    notes: list[Note] = field(default_factory=list)
    volume: int = 100          # MIDI channel volume (CC 7), set by the mix

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL

    @property
    def instrument(self) -> str:
        return "Drum kit" if self.is_drums else GM_NAMES.get(self.program, f"GM {self.program}")

    def add(self, start: float, duration: float, pitch: int, velocity: int) -> None:
        if duration > 0:
            self.notes.append(Note(float(start), float(duration), int(pitch), int(np.clip(velocity, 1, 127))))


@dataclass(frozen=True)
class Section:
    start_beat: int
    end_beat: int
    role: str          # intro, verse, chorus, bridge, outro
    level: int         # typical density 0..3
    at_cut: bool


@dataclass(frozen=True)
class Composition:
    grid: BeatGrid
    genre: str
    tonic: int
    mode: str
    seed: int
    energy: int
    parts: list[Part]
    sections: list[Section]
    bar_chords: list[str]
    bar_levels: list[int]
    end_beat: float               # where the music stops (the video's end, in beats)

    @property
    def key(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {self.mode}"

    def instruments(self) -> dict[str, str]:
        return {p.role: p.instrument for p in self.parts}


@dataclass(frozen=True)
class Chord:
    degree: int
    pitch_classes: tuple[int, ...]   # root first
    name: str


class Harmony:
    """Diatonic chords of one key and mode."""

    def __init__(self, tonic: int, mode: str, sevenths: bool) -> None:
        self.tonic = tonic
        self.scale = MODES[mode]
        self.sevenths = sevenths

    def pc(self, degree: int) -> int:
        return (self.tonic + self.scale[degree % 7]) % 12

    def chord(self, degree: int) -> Chord:
        size = 4 if self.sevenths else 3
        pcs = tuple(self.pc(degree + 2 * i) for i in range(size))
        third = (pcs[1] - pcs[0]) % 12
        fifth = (pcs[2] - pcs[0]) % 12
        quality = "m" if third == 3 else ""
        if fifth == 6:
            quality = "dim"
        return Chord(degree=degree, pitch_classes=pcs, name=f"{NOTE_NAMES[pcs[0]]}{quality}")

    def scale_pitches(self, lo: int, hi: int) -> list[int]:
        pcs = {self.pc(d) for d in range(7)}
        return [p for p in range(lo, hi + 1) if p % 12 in pcs]


def _nearest(pitches: Sequence[int], target: float) -> int:
    return min(pitches, key=lambda p: (abs(p - target), p))


def _voicing(chord: Chord, previous: list[int] | None, lo: int = 52, hi: int = 76) -> list[int]:
    """Close voicing of the chord that moves least from the previous one (smooth voice leading)."""
    options: list[list[int]] = []
    n = len(chord.pitch_classes)
    for inv in range(n):
        pcs = chord.pitch_classes[inv:] + chord.pitch_classes[:inv]
        for base in range(lo, lo + 12):
            if base % 12 != pcs[0]:
                continue
            notes = [base]
            for pc in pcs[1:]:
                nxt = notes[-1] + ((pc - notes[-1]) % 12 or 12)
                notes.append(nxt)
            if notes[-1] <= hi:
                options.append(notes)
    if not options:
        return [60 + pc for pc in chord.pitch_classes]
    if previous is None:
        return min(options, key=lambda v: abs(float(np.mean(v)) - 62.0))
    return min(options, key=lambda v: sum(abs(a - b) for a, b in zip(sorted(v), sorted(previous), strict=False)))


# --- drums ---------------------------------------------------------------------------------------

def _drum_bar(style: str, n: int, level: int, rng: np.random.Generator) -> list[tuple[float, int, int]]:
    """(beat offset in bar, drum note, velocity) for one bar of ``n`` beats at density ``level``.

    Patterns are written per beat so that bars of any length (2, 3, 5 beats) make sense: even
    beats carry the kick, odd beats the backbeat.
    """
    hits: list[tuple[float, int, int]] = []
    if level == 0 or style == "none":
        return hits
    for b in range(n):
        strong = b % 2 == 0
        if style == "light":
            if level >= 2:
                hits += [(b, SHAKER, 50), (b + 0.5, SHAKER, 38)]
            if level >= 3 and b == 0:
                hits.append((b, KICK, 60))
            continue
        if style == "orchestral":
            if b == 0:
                hits.append((b, FLOOR_TOM, 96))
            if level >= 2 and b == 2:
                hits.append((b, LOW_TOM, 84))
            if level >= 3 and b == n - 1:
                hits += [(b + s / 4, LOW_TOM, 60 + 10 * s) for s in range(4)]
            continue
        if style == "brushes":
            hits += [(b, SHAKER, 44), (b + 0.5, SHAKER, 34)]
            if level >= 2:
                hits.append((b, KICK, 70) if strong else (b, SIDE_STICK, 72))
            if level >= 3:
                hits.append((b + 0.5, TAMBOURINE, 46))
            continue
        if style == "four_on_floor":
            hits.append((b, KICK, 100 if level >= 2 else 76))
            if level >= 2:
                hits.append((b + 0.5, OPEN_HAT, 64))
                if not strong:
                    hits.append((b, CLAP, 90))
            if level >= 3:
                hits += [(b + 0.25, CLOSED_HAT, 48), (b + 0.75, CLOSED_HAT, 44)]
            continue
        if style == "boom_bap":
            hats = [(b, CLOSED_HAT, 58), (b + 0.5, CLOSED_HAT, 42)]
            hits += hats
            if strong:
                hits.append((b, KICK, 96 if level >= 2 else 74))
                if level >= 2 and b + 1.5 < n:
                    hits.append((b + 1.5, KICK, 78))
            else:
                hits.append((b, SNARE, 92) if level >= 2 else (b, SIDE_STICK, 70))
            continue
        # pop and rock
        ride = RIDE if style == "rock" and level >= 3 else CLOSED_HAT
        if level == 1:
            hits.append((b, ride, 56))
            if b == 0:
                hits.append((b, KICK, 80))
            elif not strong:
                hits.append((b, SIDE_STICK, 56))
            continue
        hits.append((b, KICK, 100) if strong else (b, SNARE, 98))
        hits += [(b, ride, 70), (b + 0.5, ride, 52)]
        if level >= 3:
            if style == "rock":
                hits.append((b + 0.5, KICK, 72) if not strong and b + 0.5 < n else (b, CLOSED_HAT, 60))
            else:
                hits += [(b + 0.25, CLOSED_HAT, 38), (b + 0.75, CLOSED_HAT, 38)]
                if b == n - 1 and rng.random() < 0.5:
                    hits.append((b + 0.5, OPEN_HAT, 60))
        if style == "rock" and strong and level >= 2 and b + 1.5 < n:
            hits.append((b + 1.5, KICK, 80))
    return hits


def _fill(n: int, style: str) -> list[tuple[float, int, int]]:
    """A one-beat fill leading into a new section (replaces the bar's last beat)."""
    b = n - 1
    if style in ("light", "brushes", "none"):
        return [(b + 0.5, TAMBOURINE if style == "brushes" else SHAKER, 60)]
    toms = [HIGH_TOM, MID_TOM, LOW_TOM, FLOOR_TOM]
    if style == "four_on_floor":
        return [(b + s / 4, SNARE, 60 + 10 * s) for s in range(4)]
    return [(b + s / 4, toms[s], 72 + 8 * s) for s in range(4)]


# --- melody --------------------------------------------------------------------------------------

_RHYTHMS: dict[int, tuple[tuple[tuple[float, float], ...], ...]] = {
    1: (((0, 2), (2, 2)), ((0, 3), (3, 1)), ((0, 4),), ((0, 1.5), (1.5, 2.5))),
    2: (((0, 1), (1, 0.5), (1.5, 0.5), (2, 2)), ((0, 1.5), (1.5, 0.5), (2, 1), (3, 1)),
        ((0, 0.5), (0.5, 0.5), (1, 1), (2, 1.5), (3.5, 0.5)), ((0, 1), (1, 1), (2, 2))),
    3: (((0, 0.5), (0.5, 0.5), (1, 0.5), (1.5, 0.5), (2, 1), (3, 0.5), (3.5, 0.5)),
        ((0, 0.75), (0.75, 0.75), (1.5, 0.5), (2, 1), (3, 1)),
        ((0, 0.5), (0.5, 1), (1.5, 0.5), (2, 0.5), (2.5, 0.5), (3, 1))),
}


@dataclass
class _Motif:
    rhythm: tuple[tuple[float, float], ...]
    steps: list[int]


def _motif(level: int, rng: np.random.Generator) -> _Motif:
    pool = _RHYTHMS[max(1, min(level, 3))]
    rhythm = pool[int(rng.integers(len(pool)))]
    steps = [int(rng.choice([-2, -1, -1, 1, 1, 2, 3])) for _ in rhythm]
    return _Motif(rhythm=rhythm, steps=steps)


# --- the composer --------------------------------------------------------------------------------

def _levels(analysis: VideoAnalysis, grid: BeatGrid, preset: GenrePreset, energy: int, arousal: float) -> list[int]:
    """Density level per bar from the motion under it; smoothed so it does not flicker bar to bar."""
    starts = grid.bar_starts
    lengths = grid.bar_lengths()
    raw = []
    for s, n in zip(starts, lengths, strict=True):
        times = grid.time_of(np.linspace(s, s + n, 6))
        m = float(np.mean(analysis.motion_at(times)))
        raw.append(np.clip(0.85 * m + 0.05 + 0.15 * (energy - 3) + 0.1 * arousal + preset.density_bias, 0.0, 0.999))
    values = np.asarray(raw)
    smooth = values.copy()
    sections = [*grid.section_starts, grid.n_beats]
    for a, b in itertools.pairwise(sections):
        idx = [i for i, s in enumerate(starts) if a <= s < b]
        for j, i in enumerate(idx):
            window = [values[idx[k]] for k in range(max(0, j - 1), min(len(idx), j + 2))]
            smooth[i] = float(np.median(window))
    return [int(v * 4) for v in smooth]


def _sections(grid: BeatGrid, levels: list[int], end_beat: float) -> list[Section]:
    starts = [s for s in grid.section_starts if s < end_beat]
    bounds = [*starts[1:], int(np.ceil(end_beat))]
    # Long shots are split into eight-bar phrases so the arrangement still breathes.
    spans: list[tuple[int, int, bool]] = []
    for a, b in zip(starts, bounds, strict=True):
        bars = [s for s in grid.bar_starts if a <= s < b]
        chunks = [bars[i] for i in range(0, len(bars), 8)] if len(bars) > 12 else [a]
        for j, c in enumerate(chunks):
            spans.append((c, chunks[j + 1] if j + 1 < len(chunks) else b, j == 0 and a != 0))
    bar_level = {s: lv for s, lv in zip(grid.bar_starts, levels, strict=True)}
    means = [float(np.mean([bar_level[s] for s in grid.bar_starts if a <= s < b] or [0])) for a, b, _ in spans]
    top = max(means) if means else 0.0
    # Verse and chorus alternate; a section clearly calmer than the busiest one stays a verse, and
    # a quiet first or last section is an intro or an outro.
    cycle = ("verse", "chorus", "verse", "chorus", "bridge", "chorus")
    out = []
    k = 0
    for i, ((a, b, cut), mean) in enumerate(zip(spans, means, strict=True)):
        if i == 0 and len(spans) > 1 and (b - a <= 8 or mean < top - 0.5):
            role = "intro"
        elif i == len(spans) - 1 and len(spans) > 2 and mean < top - 0.5:
            role = "outro"
        else:
            role = cycle[k % len(cycle)]
            if role == "chorus" and mean < top - 0.75:
                role = "verse"
            k += 1
        out.append(Section(start_beat=a, end_beat=b, role=role, level=int(round(mean)), at_cut=cut))
    return out


def compose(analysis: VideoAnalysis, *, genre: str = "auto", energy: int = 3, seed: int = 0) -> Composition:
    if energy not in ENERGY_LEVELS:
        raise SoundtrackError(f"Energy must be one of {ENERGY_LEVELS}; got {energy}.", code="bad_option")
    mood = analysis.mood
    preset = resolve_genre(genre, mood.valence, mood.arousal)
    rng = np.random.default_rng([seed, 6])
    mode = mode_for(mood.valence, mood.arousal)
    grid = fit_beat_grid(analysis.visual_beats_s, analysis.beat_strengths, analysis.cuts_s,
                         duration_s=analysis.duration_s, tempo_range=search_range(preset),
                         prior_bpm=tempo_prior(preset, mood.arousal, energy))
    minor = MODES[mode][2] == 3
    tonic = int(rng.choice([9, 2, 4, 7, 0, 11]) if minor else rng.choice([0, 2, 4, 5, 7, 9]))
    harmony = Harmony(tonic, mode, preset.sevenths)
    end_beat = float(grid.beat_at(analysis.duration_s))
    levels = _levels(analysis, grid, preset, energy, mood.arousal)
    sections = _sections(grid, levels, end_beat)
    quad = quadrant(mood.valence, mood.arousal)

    def pick(role: str) -> int:
        options = preset.programs[role][quad]
        return int(options[int(rng.integers(len(options)))])

    parts = {
        "pad": Part("pad", pick("pad"), 0),
        "chords": Part("chords", pick("chords"), 1),
        "bass": Part("bass", pick("bass"), 2),
        "melody": Part("melody", pick("melody"), 3),
        "drums": Part("drums", 0, DRUM_CHANNEL),
    }
    pool = PROGRESSIONS_MINOR if minor else PROGRESSIONS_MAJOR
    order = rng.permutation(len(pool))
    progression = {"intro": pool[order[0]], "verse": pool[order[0]], "chorus": pool[order[1]],
                   "bridge": pool[order[2]], "outro": pool[order[0]]}
    motifs = {s.start_beat: _motif(max(s.level, 1), rng) for s in sections}

    # The last bar that starts at least 1.5 s before the end holds the tonic to the end: an ending, not a cut-off.
    bar_starts = list(grid.bar_starts)
    lengths = grid.bar_lengths()
    last_ok = [i for i, s in enumerate(bar_starts) if grid.time_of(s) <= analysis.duration_s - 1.5]
    final_bar = last_ok[-1] if len(last_ok) >= 2 else None

    bar_chords: list[str] = []
    voicing: list[int] | None = None
    melody_pitch = float(_nearest(harmony.scale_pitches(64, 84), 72))
    section_index = 0
    bar_in_section = 0
    swing = preset.swing * 0.5

    def swung(beat: float) -> float:
        frac = beat - np.floor(beat)
        return beat + swing if swing and abs(frac - 0.5) < 1e-6 else beat

    for i, (start, n) in enumerate(zip(bar_starts, lengths, strict=True)):
        if start >= end_beat:
            break
        while section_index + 1 < len(sections) and start >= sections[section_index + 1].start_beat:
            section_index += 1
            bar_in_section = 0
        section = sections[section_index]
        level = levels[i]
        is_final = final_bar is not None and i == final_bar
        prog = progression[section.role]
        degree = 0 if is_final else prog[bar_in_section % len(prog)]
        chord = harmony.chord(degree)
        bar_chords.append(chord.name)
        voicing = _voicing(chord, voicing)
        length = end_beat - start if is_final else float(n)
        vel = 58 + 12 * level
        root_bass = _nearest([p for p in range(33, 46) if p % 12 == chord.pitch_classes[0]], 39)
        fifth_bass = root_bass + 7

        # Pad: always there, softer when the rest is busy.
        for p in voicing:
            parts["pad"].add(start, length, p, 64 - 5 * level)
        # Chords.
        style = preset.chord_style
        ch = parts["chords"]
        if is_final:
            for p in voicing:
                ch.add(start, length, p, vel)
        elif level == 0:
            # Calm: a slow, soft broken chord keeps a still picture from sounding frozen.
            for k, o in enumerate(np.arange(0.0, n, 2.0)):
                ch.add(start + float(o), min(2.0, n - float(o)), voicing[k % len(voicing)] + 12, 58)
        elif style == "sustain":
            for p in voicing:
                ch.add(start, length, p, vel - 6)
        elif style == "stabs":
            step = 1.0 if level == 2 else (2.0 if level == 1 else 0.5)
            offs = np.arange(0.0 if level < 3 else 0.5, n, step if level < 3 else 1.0)
            for o in offs:
                for p in voicing:
                    ch.add(start + swung(float(o)), min(0.45, step * 0.9), p, vel - (0 if o == 0 else 8))
        elif style == "arpeggio":
            step = {1: 1.0, 2: 0.5, 3: 0.25}[level]
            tones = voicing + [v + 12 for v in voicing]
            for k, o in enumerate(np.arange(0.0, n, step)):
                ch.add(start + swung(float(o)), step * 0.95, tones[k % len(tones)], vel - 10 + (6 if k == 0 else 0))
        elif style == "strum":
            step = {1: 2.0, 2: 1.0, 3: 0.5}[level]
            for k, o in enumerate(np.arange(0.0, n, step)):
                down = k % 2 == 0 or level < 3
                strings = voicing if down else list(reversed(voicing))
                for j, p in enumerate(strings):
                    ch.add(start + swung(float(o)) + 0.02 * j, step * 0.9, p, vel - (0 if down else 12) - 2 * j)
        elif style == "power":
            power = [root_bass + 12, root_bass + 19, root_bass + 24]
            step = {1: 2.0, 2: 1.0, 3: 0.5}[level]
            for o in np.arange(0.0, n, step):
                for p in power:
                    ch.add(start + float(o), step * (0.95 if level < 3 else 0.5), p, vel + (8 if o == 0 else 0))
        # Bass.
        bass = parts["bass"]
        if is_final or level == 0:
            bass.add(start, length, root_bass, vel - 4)
        elif level == 1:
            bass.add(start, min(2.0, n), root_bass, vel)
            if n > 2:
                bass.add(start + 2, n - 2, fifth_bass if n >= 4 else root_bass, vel - 8)
        else:
            step = 1.0 if level == 2 else 0.5
            pattern = [root_bass, root_bass, fifth_bass, root_bass + 12] if level == 3 else [root_bass, root_bass,
                                                                                             fifth_bass, root_bass]
            offs = np.arange(0.0, n, step)
            if preset.drums == "four_on_floor" and level >= 2:
                offs = np.arange(0.5, n, 1.0)          # the off-beat bass of house music
            for k, o in enumerate(offs):
                bass.add(start + swung(float(o)), step * 0.9, pattern[k % len(pattern)], vel - (0 if o == 0 else 6))
        # Drums.
        if not is_final:
            next_section = section_index + 1 < len(sections) and i + 1 < len(bar_starts) \
                and bar_starts[i + 1] == sections[section_index + 1].start_beat
            hits = _drum_bar(preset.drums, n, level, rng)
            if next_section and level >= 2 and n >= 2:
                hits = [h for h in hits if h[0] < n - 1] + _fill(n, preset.drums)
            if bar_in_section == 0 and level >= 2 and preset.drums not in ("light", "none"):
                hits.append((0.0, CRASH, 96))
            for o, note, v in hits:
                if o < n:
                    parts["drums"].add(start + swung(float(o)), 0.25, note, v + 4 * (energy - 3))
        elif _loud_ending(mood.arousal, levels[i - 1] if i else level, preset.drums):
            parts["drums"].add(start, 1.0, CRASH, 90)
            parts["drums"].add(start, 1.0, KICK, 96)
        elif level >= 1 and preset.drums not in ("light", "none"):
            # A calm ending: one soft low stroke under the last chord, no cymbal.
            parts["drums"].add(start, 1.0, LOW_TOM if preset.drums == "orchestral" else KICK, 52)
        # Melody: motif for three bars, a long cadence note on the fourth; none in intros or at level 0.
        if level >= 1 and section.role != "intro" and not is_final:
            motif = motifs[section.start_beat]
            phrase_bar = bar_in_section % 4
            chord_pitches = [p for p in range(60, 88) if p % 12 in chord.pitch_classes]
            scale = harmony.scale_pitches(60, 88)
            if phrase_bar == 3 or n < 2:
                target = _nearest(chord_pitches, melody_pitch)
                parts["melody"].add(start, max(1.0, n - 1.0), target, vel + 4)
                melody_pitch = float(target)
            else:
                pitch = _nearest(chord_pitches, melody_pitch)
                sign = -1 if phrase_bar == 2 else 1
                for (o, d), step_ in zip(motif.rhythm, motif.steps, strict=True):
                    if o >= n:
                        break
                    if o in (0.0, 2.0):
                        pitch = _nearest(chord_pitches, pitch)
                    parts["melody"].add(start + swung(o), min(d, n - o) * 0.92, pitch, vel + 6 - (4 if o % 1 else 0))
                    idx = scale.index(_nearest(scale, pitch))
                    drift = -1 if pitch > 78 else (1 if pitch < 66 else 0)
                    pitch = scale[int(np.clip(idx + sign * step_ + drift, 0, len(scale) - 1))]
                melody_pitch = float(pitch)
        bar_in_section += 1
        if is_final:
            break

    _accents(parts, analysis, grid, levels, preset, end_beat, harmony)
    ordered = [parts[r] for r in ("pad", "chords", "bass", "melody", "drums") if parts[r].notes]
    _mix(ordered, preset)
    return Composition(grid=grid, genre=preset.name, tonic=tonic, mode=mode, seed=seed, energy=energy,
                       parts=ordered, sections=sections, bar_chords=bar_chords, bar_levels=levels[:len(bar_chords)],
                       end_beat=float(end_beat))


def _loud_ending(arousal: float, last_level: int, drums: str) -> bool:
    """A crash on the last chord only where the piece was driving to it.

    A still or sombre video (low arousal, or a quiet last bar) ends on its chord ringing out: a
    crash cymbal there is a slammed door at a funeral.
    """
    return arousal >= LOUD_ENDING_AROUSAL and last_level >= 2 and drums not in ("light", "none")


def _mix(parts: list[Part], preset: GenrePreset) -> None:
    """Channel volumes that put each part at its place in the mix whatever its instrument.

    A part's gain is its target level minus how loud its program is (PROGRAM_LOUDNESS_DB); the
    loudest part gets full volume and the rest are scaled down from it. MIDI volume 127 * 10^(dB/40)
    follows the SoundFont spec's attenuation curve (volume^2), which FluidSynth implements.
    """
    gains = {}
    for part in parts:
        loudness = PROGRAM_LOUDNESS_DB.get(-1 if part.is_drums else part.program, -28.0)
        gains[part.role] = preset.mix_db.get(part.role, -6.0) - loudness
    top = max(gains.values(), default=0.0)
    for part in parts:
        part.volume = int(np.clip(round(127 * 10 ** ((gains[part.role] - top) / 40)), 16, 127))


def _accents(parts: dict[str, Part], analysis: VideoAnalysis, grid: BeatGrid, levels: list[int],
             preset: GenrePreset, end_beat: float, harmony: Harmony) -> None:
    """A hit wherever a strong visual beat sits on an eighth-note slot the groove leaves empty.

    Where the groove already has a kick, snare or tom on that slot, the picture is hit already, and
    those strokes are played harder, by up to ACCENT_BOOST for the strongest visual beats: the groove
    leans into the moments that matter instead of playing every beat alike.
    """
    bar_starts = np.asarray(grid.bar_starts)
    struck = {round(n.start * 4) for n in parts["drums"].notes if n.pitch in STROKES}
    leaned: set[int] = set()
    for t, s in zip(analysis.visual_beats_s, analysis.beat_strengths, strict=True):
        if s < ACCENT_MIN_STRENGTH:
            continue
        beat = float(grid.beat_at(t))
        slot = round(beat * 2) / 2
        if abs(float(grid.time_of(slot)) - t) > ACCENT_WINDOW_S or slot < 0 or slot >= end_beat - 0.5:
            continue
        if round(slot * 4) in struck:
            if round(slot * 4) not in leaned:
                leaned.add(round(slot * 4))
                _lean_into(parts["drums"], slot, int(round(ACCENT_BOOST * s)))
            continue
        struck.add(round(slot * 4))
        bar = int(np.searchsorted(bar_starts, slot, side="right") - 1)
        level = levels[bar] if 0 <= bar < len(levels) else 0
        velocity = int(60 + 40 * s)
        if level >= 1 and preset.drums not in ("none", "light"):
            parts["drums"].add(slot, 0.25, LOW_TOM if preset.drums == "orchestral" else KICK, velocity)
        else:
            # No drums here: a short, soft chord tone on the chords' instrument marks the hit instead.
            pitch = 60 + harmony.pc(0) if harmony.pc(0) < 7 else 48 + harmony.pc(0)
            parts["chords"].add(slot, 0.4, pitch + 12, velocity - 10)


def _lean_into(drums: Part, slot: float, boost: int) -> None:
    """Play the strokes on ``slot`` (in beats) ``boost`` harder."""
    for i, n in enumerate(drums.notes):
        if n.pitch in STROKES and round(n.start * 4) == round(slot * 4):
            drums.notes[i] = dataclasses.replace(n, velocity=int(min(127, n.velocity + boost)))
