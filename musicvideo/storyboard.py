"""Scenes cut on beats, one image prompt each, from a song analysis.

Scene length follows energy: the target is SCENE_BASE_S halved for every unit of arousal
(1.5 s on the most excited material, 6 s on the calmest), rounded to a whole power-of-two number
of beats so cuts keep the music's phrasing, never less than one beat. Sections are never spanned:
every section start (a downbeat) is a cut. Prompts come from a PromptWriter: the template writer
below, or an LLM behind any OpenAI-compatible endpoint (musicvideo.prompt_writers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import numpy as np

from mediakit.errors import EncoreError
from musicvideo.audio.analysis import Analysis, AnalyzedSection
from musicvideo.audio.lyrics import LyricLine

SCENE_BASE_S = 3.0
MAX_SCENE_BEATS = 16
DEFAULT_TRIGGER = "sks person"

STYLE_PRESETS: dict[str, str] = {
    "cinematic": "cinematic film still, 35mm lens, shallow depth of field, volumetric light, film grain",
    "anime": "anime key visual, cel shading, crisp line art, painted background",
    "watercolor": "watercolor painting, soft washes, paper texture, loose brush strokes",
    "neon": "neon-lit night, synthwave palette, reflections on wet asphalt, glowing signs",
    "documentary": "natural light, handheld documentary photograph, candid, true colours",
}

MOOD_WORDS: dict[str, str] = {
    "euphoric": "joyful, vibrant colours, bright sunlight, confetti of light, dynamic motion",
    "serene": "calm, soft golden-hour light, gentle breeze, tranquil open space",
    "melancholy": "wistful, muted blue tones, light rain, quiet solitude",
    "tense": "dramatic, high contrast, stormy red light, urgent motion",
}

CAMERA_BY_ENERGY = ("slow dolly-in, wide shot", "steady medium shot", "handheld tracking shot",
                    "fast whip pan, close-up")

# What a scene without words shows, per mood; chosen by scene index so a storyboard is reproducible.
INSTRUMENTAL_SUBJECTS: dict[str, tuple[str, ...]] = {
    "euphoric": ("dancing on a rooftop at sunset", "running through a summer festival crowd",
                 "jumping into the air on a beach"),
    "serene": ("walking slowly through a misty forest", "sitting by a quiet lake at dawn",
               "looking out of a train window at passing fields"),
    "melancholy": ("standing alone at a rainy bus stop", "walking down an empty street at night",
                   "looking at old photographs in a dim room"),
    "tense": ("running down a dark corridor", "standing on a storm-lashed pier",
              "pushing through a crowded neon alley"),
}

_STOPWORDS = frozenset(["a", "an", "the", "and", "or", "but", "if", "of", "in", "on", "at", "to", "for", "from", "by", "with", "without", "into", "onto", "over", "under", "up", "down", "out", "off", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "have", "has", "had", "i", "me", "my", "mine", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "it", "its", "we", "us", "our", "ours", "they", "them", "their", "theirs", "this", "that", "these", "those", "so", "too", "very", "just", "can", "will", "would", "could", "should", "shall", "may", "might", "must", "not", "no", "yes", "oh", "ooh", "ah", "yeah", "hey", "la", "na", "all", "any", "some", "every", "each", "as", "than", "then", "there", "here", "when", "where", "why", "how", "what", "who", "whom", "which", "while", "also", "only", "own", "same", "such", "again", "ever", "never"])


class StoryboardError(EncoreError):
    code = "storyboard_invalid"


@dataclass(frozen=True)
class SceneBrief:
    """What a prompt writer needs to know about one scene."""

    index: int
    start_s: float
    end_s: float
    n_beats: int
    section: str
    mood: str
    valence: float
    arousal: float
    lyric: str


@dataclass(frozen=True)
class Scene:
    index: int
    start_s: float
    end_s: float
    start_beat: int          # index into the analysis' beats; the first scene also holds any lead-in
    n_beats: int
    section_index: int
    section: str
    mood: str
    valence: float
    arousal: float
    lyric: str
    prompt: str

    def brief(self) -> SceneBrief:
        return SceneBrief(index=self.index, start_s=self.start_s, end_s=self.end_s, n_beats=self.n_beats,
                          section=self.section, mood=self.mood, valence=self.valence, arousal=self.arousal,
                          lyric=self.lyric)


@dataclass(frozen=True)
class Storyboard:
    scenes: list[Scene]
    style: str
    trigger: str
    writer: str
    warnings: list[str] = field(default_factory=list)


class PromptWriter(Protocol):
    name: str

    def write(self, scenes: Sequence[SceneBrief], *, style: str, trigger: str) -> list[str]: ...


def scene_beats(arousal: float, beat_period_s: float) -> int:
    """Beats per scene for a section of this arousal: a power of two, 1..MAX_SCENE_BEATS."""
    target_s = SCENE_BASE_S * 2.0 ** (-float(np.clip(arousal, -1.0, 1.0)))
    beats = max(target_s / max(beat_period_s, 1e-3), 1.0)
    return int(min(2 ** round(math.log2(beats)), MAX_SCENE_BEATS))


def plan_scenes(analysis: Analysis) -> list[Scene]:
    """Scene time ranges (prompts empty): cuts on beats, per section, length from energy."""
    beats = np.asarray(analysis.beats_s, dtype=float)
    duration = analysis.duration_s
    period = 60.0 / analysis.tempo_bpm if analysis.tempo_bpm > 0 else 0.5
    cuts: list[tuple[int, int, int]] = []          # (beat index of the cut, beats in scene, section index)
    for si, section in enumerate(analysis.sections):
        inside = np.flatnonzero((beats >= section.start_s - 1e-6) & (beats < section.end_s - 1e-6))
        if inside.size == 0:
            continue
        n = scene_beats(section.arousal, period)
        starts = list(range(int(inside[0]), int(inside[-1]) + 1, n))
        # A remainder shorter than half a scene joins the scene before it instead of flashing by.
        if len(starts) > 1 and int(inside[-1]) + 1 - starts[-1] < max(n // 2, 1):
            starts.pop()
        cuts += [(b, n, si) for b in starts]
    if not cuts:
        cuts = [(0, 1, 0)]
    scenes: list[Scene] = []
    for k, (b, _n, si) in enumerate(cuts):
        start = 0.0 if k == 0 else float(beats[b])
        end = float(beats[cuts[k + 1][0]]) if k + 1 < len(cuts) else duration
        next_beat = cuts[k + 1][0] if k + 1 < len(cuts) else len(beats)
        section = analysis.sections[si] if analysis.sections else _whole_song(duration)
        scenes.append(Scene(index=k, start_s=round(start, 3), end_s=round(end, 3), start_beat=b,
                            n_beats=max(next_beat - b, 1), section_index=si, section=section.name,
                            mood=section.mood, valence=section.valence, arousal=section.arousal,
                            lyric=_lyric_for(analysis.lines, start, end), prompt=""))
    return scenes


def build_storyboard(analysis: Analysis, *, style: str = "cinematic", trigger: str = DEFAULT_TRIGGER,
                     writer: PromptWriter | None = None) -> Storyboard:
    """Plan scenes and write their prompts; an LLM writer that fails falls back to the template."""
    if style not in STYLE_PRESETS:
        raise StoryboardError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLE_PRESETS)}.",
                              code="style_unknown")
    if not trigger.strip():
        raise StoryboardError("The adapter's trigger token is empty.", code="trigger_missing")
    scenes = plan_scenes(analysis)
    briefs = [s.brief() for s in scenes]
    template = TemplateWriter()
    used = template.name
    warnings: list[str] = []
    prompts: list[str] | None = None
    if writer is not None and writer.name != template.name:
        try:
            prompts = writer.write(briefs, style=style, trigger=trigger)
            used = writer.name
        except EncoreError as exc:
            warnings.append(f"{exc.code}: {exc.message} The template writer was used instead.")
    if prompts is None:
        prompts = template.write(briefs, style=style, trigger=trigger)
    scenes = [replace(s, prompt=ensure_trigger(p, trigger)) for s, p in zip(scenes, prompts, strict=True)]
    return Storyboard(scenes=scenes, style=style, trigger=trigger, writer=used, warnings=warnings)


def ensure_trigger(prompt: str, trigger: str) -> str:
    """Every prompt must name the adapter's token, or the render would not show the user."""
    text = " ".join(prompt.split())
    if trigger.lower() in text.lower():
        return text
    return f"{trigger}, {text}" if text else trigger


class TemplateWriter:
    """Deterministic prompts: subject from the lyric, then mood, camera by energy, style preset."""

    name = "template"

    def write(self, scenes: Sequence[SceneBrief], *, style: str, trigger: str) -> list[str]:
        return [self.prompt(s, style=style, trigger=trigger) for s in scenes]

    def prompt(self, scene: SceneBrief, *, style: str, trigger: str) -> str:
        words = content_words(scene.lyric)
        if words:
            subject = f"{trigger}, {', '.join(words)}"
        else:
            options = INSTRUMENTAL_SUBJECTS.get(scene.mood, INSTRUMENTAL_SUBJECTS["serene"])
            subject = f"{trigger} {options[scene.index % len(options)]}"
        energy = int(np.clip((scene.arousal + 1) / 2 * len(CAMERA_BY_ENERGY), 0, len(CAMERA_BY_ENERGY) - 1))
        parts = [subject, MOOD_WORDS.get(scene.mood, ""), CAMERA_BY_ENERGY[energy], f"{scene.section} of a music video",
                 STYLE_PRESETS[style]]
        return ", ".join(p for p in parts if p)


def content_words(text: str, limit: int = 7) -> list[str]:
    """The lyric's meaningful words in order, without repeats or function words."""
    seen: list[str] = []
    for token in re.findall(r"[A-Za-z][A-Za-z'-]*", text.lower()):
        word = token.strip("'-")
        if len(word) > 1 and word not in _STOPWORDS and word not in seen:
            seen.append(word)
    return seen[:limit]


def _lyric_for(lines: Sequence[LyricLine], start: float, end: float) -> str:
    """The lyric line that overlaps the scene most (empty for an instrumental stretch)."""
    best, best_overlap = "", 0.0
    for line in lines:
        overlap = min(line.end_s, end) - max(line.start_s, start)
        if overlap > best_overlap:
            best, best_overlap = line.text, overlap
    return best


def _whole_song(duration: float) -> AnalyzedSection:
    return AnalyzedSection(start_s=0.0, end_s=duration, label="A", name="verse", valence=0.0, arousal=0.0,
                           mood="serene", key="unknown", tempo_bpm=0.0, loudness_db=0.0, lyric_sentiment=None)
