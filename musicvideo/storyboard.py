"""Scenes cut on beats, one image prompt each, from a song analysis.

Scene length follows energy: the target is SCENE_BASE_S halved for every unit of arousal
(1.5 s on the most excited material, 6 s on the calmest), rounded to a whole power-of-two number
of beats so cuts keep the music's phrasing, never less than one beat. Sections are never spanned:
every section start (a downbeat) is a cut. Prompts come from a PromptWriter: the template writer
below, or an LLM behind any OpenAI-compatible endpoint (musicvideo.prompt_writers).

Prompts are a director's notes in plain sentences. They call the user "the person" and never
carry the adapter's trigger token: the renderer puts the token in itself
(musicvideo.render.base.prompt_for_person), so what the user reads and edits is plain words.
A section keeps one place; its scenes change the action and the camera, and a repeated section
(a second chorus) moves somewhere else, so the same lyric line never gives the same prompt twice.
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

# Where a section takes place, per mood (a section keeps its place; a repeat of it moves).
PLACES: dict[str, tuple[str, ...]] = {
    "euphoric": ("on a rooftop at sunset above the city", "in a summer festival crowd", "on a wide beach at noon",
                 "in a street strung with coloured lanterns", "in a field of tall grass under a blue sky",
                 "on a bridge with the river glittering below"),
    "serene": ("in a misty forest at dawn", "by a quiet lake at first light", "at a train window with fields passing",
               "in a sunlit kitchen with the windows open", "on a hill above the sea",
               "in an empty library with dust floating in the light"),
    "melancholy": ("at a bus stop in the rain at night", "in an empty street under orange street lamps",
                   "in a dim room full of old photographs", "on a grey shore in a winter wind",
                   "in a laundromat late at night", "at a window streaked with rain"),
    "tense": ("in a dark corridor lit by flickering tubes", "on a pier lashed by a storm", "in a crowded neon alley",
              "on a rooftop in driving rain", "in an underground car park", "at a crossroads with traffic streaking past"),
}
# What the person does, per mood; successive scenes of a section take successive actions.
ACTIONS: dict[str, tuple[str, ...]] = {
    "euphoric": ("dances with arms raised", "runs laughing towards the camera", "spins round and round",
                 "jumps into the air", "sings along with eyes closed"),
    "serene": ("walks slowly", "sits still and breathes in", "gazes into the distance",
               "lets the wind move their hair", "smiles quietly to themselves"),
    "melancholy": ("stands alone", "walks with hands in pockets", "looks down at their feet",
                   "turns away from the camera", "sits with head bowed"),
    "tense": ("runs hard", "pushes forward against the wind", "looks back over their shoulder",
              "stands braced, fists clenched", "catches their breath against a wall"),
}
MOOD_SENTENCES: dict[str, tuple[str, ...]] = {
    "euphoric": ("Joyful and bright, with vibrant colours and warm sunlight.",
                 "Everything glows: saturated colours, sparks of light, a feeling of release."),
    "serene": ("Calm and unhurried, in soft golden-hour light.",
               "Quiet and open, a gentle breeze, pale warm colours."),
    "melancholy": ("Wistful and still, in muted blue tones and light rain.",
                   "Lonely and soft, grey light, colours drained."),
    "tense": ("Dramatic and urgent, high contrast, stormy red light.",
              "Uneasy and charged, hard shadows, a red glow."),
}
# The camera, by energy (arousal from -1 to 1 in four steps), two ways of saying each.
CAMERA_SENTENCES: tuple[tuple[str, ...], ...] = (
    ("The camera moves in slowly from a wide shot.", "A still, wide frame leaves space all around them."),
    ("A steady medium shot.", "The camera glides beside them at walking pace."),
    ("A handheld camera tracks with them.", "The camera circles them at arm's length."),
    ("The camera rushes in to a close-up.", "A whip pan lands on a tight close-up."),
)
SECTION_NOTES: dict[str, str] = {
    "intro": "The video opens here.", "verse": "A verse: keep it close and personal.",
    "chorus": "The chorus: the frame at its fullest.", "bridge": "The bridge: something shifts.",
    "outro": "The video winds down.",
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
    section_index: int = 0


@dataclass(frozen=True)
class KeptPrompt:
    """A prompt the user edited, with the time span of its scene, to carry into a rebuilt storyboard."""

    start_s: float
    end_s: float
    prompt: str


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
    prompt_edited: bool = False      # the user's own words, kept through rebuilds

    def brief(self) -> SceneBrief:
        return SceneBrief(index=self.index, start_s=self.start_s, end_s=self.end_s, n_beats=self.n_beats,
                          section=self.section, mood=self.mood, valence=self.valence, arousal=self.arousal,
                          lyric=self.lyric, section_index=self.section_index)


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
                     writer: PromptWriter | None = None, kept: Sequence[KeptPrompt] = ()) -> Storyboard:
    """Plan scenes and write their prompts; an LLM writer that fails falls back to the template.

    ``trigger`` is the adapter's token the renderer will add; it is kept on the storyboard and
    taken out of any prompt that has it. ``kept`` are the user's edited prompts of a previous
    storyboard of the same analysis: a new scene over the same span gets its prompt back (scene
    cuts do not depend on the style, so a restyled storyboard keeps every edit).
    """
    if style not in STYLE_PRESETS:
        raise StoryboardError(f"Unknown style '{style}'. Choose one of: {', '.join(STYLE_PRESETS)}.",
                              code="style_unknown")
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
    prompts = distinct_neighbours([without_token(p, trigger) for p in prompts], briefs)
    scenes = [replace(s, prompt=p) for s, p in zip(scenes, prompts, strict=True)]
    scenes, placed = _keep_edits(scenes, kept)
    if placed < len(kept):
        warnings.append(f"{len(kept) - placed} of your edited prompts no longer match a scene and were not kept.")
    return Storyboard(scenes=scenes, style=style, trigger=trigger, writer=used, warnings=warnings)


def without_token(prompt: str, trigger: str) -> str:
    """A prompt in plain words: the adapter's token (which the renderer adds itself) taken out."""
    text = " ".join(prompt.split())
    if trigger.strip():
        text = re.sub(rf"\s*\b{re.escape(trigger.strip())}\b\s*,?\s*", " ", text, flags=re.IGNORECASE)
    return " ".join(text.split()).strip(" ,")


def distinct_neighbours(prompts: list[str], briefs: Sequence[SceneBrief]) -> list[str]:
    """No two adjacent scenes with the same prompt: a repeat gets another camera note."""
    out: list[str] = []
    for prompt, brief in zip(prompts, briefs, strict=True):
        k = 0
        while out and prompt == out[-1]:
            level = CAMERA_SENTENCES[_energy(brief.arousal)]
            prompt = f"{prompt} {level[(brief.index + k) % len(level)]}" if k < len(level) else \
                f"{prompt} Shot {brief.index + 1}."
            k += 1
        out.append(prompt)
    return out


def _keep_edits(scenes: list[Scene], kept: Sequence[KeptPrompt]) -> tuple[list[Scene], int]:
    """Put each edited prompt back on the new scene covering most of its span (half of it at least)."""
    out = list(scenes)
    placed = 0
    for edit in kept:
        overlaps = [min(s.end_s, edit.end_s) - max(s.start_s, edit.start_s) for s in out]
        best = int(np.argmax(overlaps)) if overlaps else -1
        span = max(edit.end_s - edit.start_s, 1e-6)
        if best >= 0 and overlaps[best] >= 0.5 * span and not out[best].prompt_edited:
            out[best] = replace(out[best], prompt=" ".join(edit.prompt.split()), prompt_edited=True)
            placed += 1
    return out, placed


def _energy(arousal: float) -> int:
    return int(np.clip((arousal + 1) / 2 * len(CAMERA_SENTENCES), 0, len(CAMERA_SENTENCES) - 1))


class TemplateWriter:
    """Deterministic director's notes: place, action, lyric imagery, mood, camera, section, look."""

    name = "template"

    def write(self, scenes: Sequence[SceneBrief], *, style: str, trigger: str = "") -> list[str]:
        within: dict[int, int] = {}
        prompts = []
        for scene in scenes:
            # The n-th scene of its section: the action and the camera move on from scene to scene.
            nth = within.get(scene.section_index, 0)
            within[scene.section_index] = nth + 1
            prompts.append(self.prompt(scene, style=style, nth=nth))
        return prompts

    def prompt(self, scene: SceneBrief, *, style: str, nth: int = 0) -> str:
        mood = scene.mood if scene.mood in PLACES else "serene"
        places, actions = PLACES[mood], ACTIONS[mood]
        # A section's place is fixed by its position in the song: a second chorus is elsewhere.
        place = places[(scene.section_index * 5) % len(places)]
        action = actions[(scene.section_index * 2 + nth) % len(actions)]
        sentences = [f"The person {action} {place}."]
        words = content_words(scene.lyric, limit=4)
        if words:
            sentences.append(f"It plays on the lyric \u201c{scene.lyric.strip(' ,;')}\u201d: {', '.join(words)}.")
        moods = MOOD_SENTENCES[mood]
        sentences.append(moods[(scene.section_index + nth) % len(moods)])
        cameras = CAMERA_SENTENCES[_energy(scene.arousal)]
        sentences.append(cameras[nth % len(cameras)])
        if scene.section in SECTION_NOTES:
            sentences.append(SECTION_NOTES[scene.section])
        sentences.append(f"Look: {STYLE_PRESETS[style]}.")
        return " ".join(sentences)


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
