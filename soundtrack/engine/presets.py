"""Genre presets, mood palettes and the bits of music theory the composer needs.

Instruments are General MIDI programs (0-based), so any GM soundfont plays them. Each preset
gives, per mood quadrant, a few candidates per role; the seed picks one, so "another take" can
change the colour of the music while the mood keeps it in character.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from soundtrack.engine.errors import SoundtrackError

QUADRANTS = ("bright", "warm", "dark", "sombre")   # (+v,+a), (+v,-a), (-v,+a), (-v,-a)
ROLES = ("pad", "chords", "bass", "melody")

GM_NAMES: dict[int, str] = {
    0: "Grand piano", 4: "Electric piano", 5: "Electric piano 2", 8: "Celesta", 10: "Music box",
    11: "Vibraphone", 16: "Drawbar organ", 19: "Church organ", 22: "Harmonica", 24: "Nylon guitar",
    25: "Steel guitar", 27: "Clean electric guitar", 29: "Overdriven guitar", 30: "Distortion guitar",
    32: "Acoustic bass", 33: "Finger bass", 34: "Picked bass", 35: "Fretless bass", 38: "Synth bass",
    39: "Synth bass 2", 40: "Violin", 42: "Cello", 43: "Contrabass", 46: "Harp", 47: "Timpani",
    48: "Strings", 49: "Slow strings", 50: "Synth strings", 52: "Choir", 56: "Trumpet", 60: "French horn",
    61: "Brass section", 68: "Oboe", 71: "Clarinet", 73: "Flute", 75: "Pan flute", 80: "Square lead",
    81: "Saw lead", 88: "New age pad", 89: "Warm pad", 90: "Polysynth pad", 91: "Choir pad", 92: "Bowed pad",
    94: "Halo pad", 95: "Sweep pad",
}

# RMS level (dBFS) of a fixed phrase at velocity 90 per GM program in FluidR3 GM (-1: the drum kit),
# measured with `python -m soundtrack.testing.calibrate`. The programs differ by 24 dB (a saw lead
# against a contrabass), so parts get channel volumes from this table, not one fixed level.
PROGRAM_LOUDNESS_DB: dict[int, float] = {
    0: -32.2, 4: -24.6, 5: -27.1, 8: -31.1, 10: -31.6, 11: -32.8, 16: -27.1, 19: -28.2, 22: -29.9, 24: -29.0,
    25: -34.3, 27: -23.4, 29: -26.9, 30: -24.6, 32: -29.8, 33: -26.9, 34: -28.5, 35: -25.6, 38: -28.7, 39: -22.1,
    40: -27.5, 42: -27.3, 43: -36.2, 46: -33.6, 48: -29.5, 49: -28.0, 50: -15.9, 52: -29.8, 56: -30.5, 60: -26.1,
    61: -28.0, 68: -25.9, 71: -25.2, 73: -26.6, 75: -25.0, 80: -14.7, 81: -12.2, 88: -17.2, 89: -26.6, 90: -22.3,
    92: -22.2, 94: -19.3, 95: -16.0, -1: -33.4,
}
# Where each part sits in the mix, in dB relative to the loudest: rhythm and tune in front, harmony
# behind them, the pad as a bed.
DEFAULT_MIX_DB = {"drums": 0.0, "bass": -2.0, "melody": -1.0, "chords": -6.0, "pad": -11.0}

# Modes as semitone offsets; the mood's valence picks one (bright -> Ionian/Lydian, dark -> Aeolian/Phrygian).
MODES: dict[str, tuple[int, ...]] = {
    "lydian": (0, 2, 4, 6, 7, 9, 11),
    "ionian": (0, 2, 4, 5, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10),
    "dorian": (0, 2, 3, 5, 7, 9, 10),
    "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "phrygian": (0, 1, 3, 5, 7, 8, 10),
}
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")

# Progressions as scale degrees (0 = tonic). "Major-like" modes have a major third.
PROGRESSIONS_MAJOR: tuple[tuple[int, ...], ...] = (
    (0, 4, 5, 3), (0, 5, 3, 4), (3, 0, 4, 5), (0, 3, 5, 4), (5, 3, 0, 4), (0, 3, 0, 4),
)
PROGRESSIONS_MINOR: tuple[tuple[int, ...], ...] = (
    (0, 5, 2, 6), (0, 3, 5, 4), (0, 6, 5, 6), (0, 3, 6, 2), (0, 5, 3, 4), (5, 6, 0, 0),
)


@dataclass(frozen=True)
class GenrePreset:
    name: str
    label: str
    tempo_range: tuple[float, float]   # where the mood prior lives; the search may leave it
    drums: str                          # drum pattern family (see compose.DRUM_STYLES)
    chord_style: str                    # sustain | stabs | arpeggio | strum | power
    swing: float = 0.0                  # delay of off-beat eighths, as a fraction of an eighth
    sevenths: bool = False
    density_bias: float = 0.0           # added to the 0..1 density before it is quantised
    programs: dict[str, dict[str, tuple[int, ...]]] = field(default_factory=dict)
    mix_db: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX_DB))


def _p(bright: tuple[int, ...], warm: tuple[int, ...], dark: tuple[int, ...],
       sombre: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    return {"bright": bright, "warm": warm, "dark": dark, "sombre": sombre}


PRESETS: dict[str, GenrePreset] = {p.name: p for p in (
    GenrePreset("pop", "Pop", (90, 130), "pop", "stabs", programs={
        "pad": _p((89, 50), (89, 88), (90, 50), (92, 89)),
        "chords": _p((0, 4, 27), (0, 4, 24), (4, 90), (0, 5)),
        "bass": _p((33, 34), (33, 32), (38, 33), (35, 33)),
        "melody": _p((80, 73, 11), (73, 11, 24), (81, 80), (73, 68)),
    }),
    GenrePreset("electronic", "Electronic", (112, 132), "four_on_floor", "arpeggio", programs={
        "pad": _p((90, 95), (88, 94), (95, 50), (94, 92)),
        "chords": _p((90, 81), (88, 90), (81, 90), (90, 88)),
        "bass": _p((38, 39), (39, 38), (38, 39), (39, 35)),
        "melody": _p((80, 81), (80, 11), (81, 80), (80, 10)),
    }),
    GenrePreset("lofi", "Lo-fi hip hop", (70, 92), "boom_bap", "sustain", swing=0.33, sevenths=True, programs={
        "pad": _p((89, 88), (89, 92), (89, 92), (92, 89)),
        "chords": _p((4, 5), (4, 0), (4, 5), (0, 4)),
        "bass": _p((33, 32), (32, 33), (32, 35), (35, 32)),
        "melody": _p((11, 73), (11, 73), (11, 71), (73, 10)),
    }),
    GenrePreset("cinematic", "Cinematic", (60, 128), "orchestral", "arpeggio", density_bias=-0.05,
                mix_db={"drums": -3.0, "bass": -3.0, "melody": 0.0, "chords": -4.0, "pad": -5.0}, programs={
        "pad": _p((48, 49), (49, 52), (48, 50), (49, 52)),
        "chords": _p((46, 48), (46, 0), (48, 46), (46, 0)),
        "bass": _p((43, 42), (42, 43), (43, 42), (42, 43)),
        "melody": _p((60, 40, 73), (73, 40, 71), (61, 60), (68, 42, 73)),
    }),
    GenrePreset("ambient", "Ambient", (60, 90), "light", "sustain", sevenths=True, density_bias=-0.2,
                mix_db={"drums": -8.0, "bass": -4.0, "melody": 0.0, "chords": -3.0, "pad": -2.0}, programs={
        "pad": _p((88, 94), (94, 89), (95, 92), (92, 94)),
        "chords": _p((11, 46), (46, 8), (88, 11), (10, 46)),
        "bass": _p((35, 39), (35, 32), (39, 35), (35, 39)),
        "melody": _p((8, 10, 75), (10, 75, 8), (75, 10), (10, 75)),
    }),
    GenrePreset("rock", "Rock", (100, 160), "rock", "power", density_bias=0.1, programs={
        "pad": _p((48, 16), (48, 19), (50, 16), (48, 49)),
        "chords": _p((29, 30), (27, 25), (30, 29), (29, 27)),
        "bass": _p((34, 33), (33, 34), (34, 33), (33, 34)),
        "melody": _p((29, 56), (27, 73), (30, 29), (29, 40)),
    }),
    GenrePreset("acoustic", "Acoustic", (78, 120), "brushes", "strum", programs={
        "pad": _p((48, 49), (49, 48), (48, 49), (49, 42)),
        "chords": _p((25, 24), (24, 25), (25, 24), (24, 46)),
        "bass": _p((32, 33), (32, 33), (32, 35), (32, 42)),
        "melody": _p((73, 22, 40), (73, 40, 71), (40, 22), (40, 73)),
    }),
)}

# With genre "auto" the mood chooses: each quadrant's most natural colour.
AUTO_GENRE = {"bright": "pop", "warm": "acoustic", "dark": "electronic", "sombre": "cinematic"}
GENRE_CHOICES = ("auto", *PRESETS)
ENERGY_LEVELS = (1, 2, 3, 4, 5)


def quadrant(valence: float, arousal: float) -> str:
    if valence >= 0:
        return "bright" if arousal >= 0 else "warm"
    return "dark" if arousal >= 0 else "sombre"


def resolve_genre(genre: str, valence: float, arousal: float) -> GenrePreset:
    if genre == "auto":
        return PRESETS[AUTO_GENRE[quadrant(valence, arousal)]]
    if genre not in PRESETS:
        raise SoundtrackError(f"Unknown genre preset '{genre}'; choose one of {', '.join(GENRE_CHOICES)}.",
                              code="bad_option")
    return PRESETS[genre]


def mode_for(valence: float, arousal: float) -> str:
    """Brighter modes for pleasant moods; Lydian only when calm (it floats), Phrygian only when tense."""
    if valence > 0.35:
        return "lydian" if arousal < -0.3 else "ionian"
    if valence > 0.0:
        return "mixolydian" if arousal > 0.3 else "ionian"
    if valence > -0.35:
        return "dorian"
    return "phrygian" if arousal > 0.5 else "aeolian"


def tempo_prior(preset: GenrePreset, arousal: float, energy: int) -> float:
    """The tempo the mood suggests inside the preset's range: calm low, agitated high."""
    lo, hi = preset.tempo_range
    centre = lo + (hi - lo) * (0.5 + 0.4 * arousal) + 4.0 * (energy - 3)
    return float(min(max(centre, lo), hi))


def search_range(preset: GenrePreset) -> tuple[float, float]:
    """Where the tempo search may go: the preset's range widened a lot, so that a clear visual
    rhythm wins over the genre's habit (the prior still prefers the genre's own tempos)."""
    lo, hi = preset.tempo_range
    return max(55.0, 0.6 * lo), min(190.0, 1.5 * hi)


def key_name(tonic: int, mode: str) -> str:
    return f"{NOTE_NAMES[tonic % 12]} {mode}"
