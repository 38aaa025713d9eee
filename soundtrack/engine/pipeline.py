"""The whole job: video in; music, MIDI and the video with its new soundtrack out.

    analyze (visual.py) -> compose (compose.py) -> MIDI (midi.py) -> FluidSynth or MusicGen
    -> trim, normalise, fade (synth.py) -> mux, replacing or ducking the original sound

Outputs go to fixed names inside ``out_dir`` (the caller keys the folder by job id), written
through temporary names, so a second run of the same job overwrites instead of duplicating.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mediakit.audio import write_wav
from mediakit.encode import mux_audio
from mediakit.progress import ProgressFn, null_progress, scaled
from soundtrack.engine.compose import Composition, compose
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.metrics import DEFAULT_WINDOW_S, beat_match, cut_offsets
from soundtrack.engine.midi import write_midi
from soundtrack.engine.musicgen import choose_backend, cuda_available, musicgen_backend, render_musicgen
from soundtrack.engine.presets import GENRE_CHOICES, PRESETS
from soundtrack.engine.synth import finish_audio, fluidsynth_render_mix
from soundtrack.engine.visual import VideoAnalysis, analyze_video

MixMode = Literal["replace", "duck"]
MIX_MODES: tuple[MixMode, ...] = ("replace", "duck")
BACKENDS = ("auto", "fluidsynth", "musicgen")
VIDEO_NAME, AUDIO_NAME, MIDI_NAME = "soundtrack.mp4", "music.wav", "music.mid"
# Parts rendered together, in two groups of about equal synthesis cost: the pad's chords sound from
# start to end and cost as much as the four other parts together (FluidSynth CPU for the bench's
# minute: pad 0.57 s, chords + melody + bass + drums about 0.55 s, each with ~0.2 s of start-up).
RENDER_GROUPS: tuple[tuple[str, ...], ...] = (("pad",), ("chords", "melody", "bass", "drums"))


@dataclass(frozen=True)
class SoundtrackOptions:
    genre: str = "auto"
    energy: int = 3
    seed: int = 0
    mix: MixMode = "replace"
    backend: str = "auto"

    def validate(self) -> None:
        if self.genre not in GENRE_CHOICES:
            raise SoundtrackError(f"Unknown genre preset '{self.genre}'.", code="bad_option")
        if self.energy not in (1, 2, 3, 4, 5):
            raise SoundtrackError("Energy must be 1 to 5.", code="bad_option")
        if self.mix not in MIX_MODES:
            raise SoundtrackError("Mix must be 'replace' or 'duck'.", code="bad_option")
        if self.backend not in BACKENDS:
            raise SoundtrackError(f"Unknown backend '{self.backend}'.", code="bad_option")


@dataclass(frozen=True)
class EngineSettings:
    soundfont: str = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
    fluidsynth: str = "fluidsynth"
    sample_rate: int = 44100
    max_duration_s: float = 300.0
    min_duration_s: float = 1.0
    analysis_max_fps: float = 15.0
    analysis_max_side: int = 128
    target_rms_db: float = -16.0
    duck_db: float = -14.0
    musicgen_model: str = ""          # a local path or hub id; empty: MusicGen off
    musicgen_device: str = "cuda"
    render_processes: int = 2         # FluidSynth processes rendering groups of parts side by side


@dataclass(frozen=True)
class AnalysisSummary:
    fps: float
    size: list[int]
    visual_beats_s: list[float]
    beat_strengths: list[float]
    cuts_s: list[float]
    motion: dict[str, Any]             # {"step_s": float, "values": [float, ...]}
    camera_motion: float
    mood: dict[str, Any]


@dataclass(frozen=True)
class MusicSummary:
    genre: str
    genre_label: str
    key: str
    tempo_bpm: float                   # the fitted tempo; beats_s holds where each beat really falls
    phase_s: float
    beats_s: list[float]
    downbeats_s: list[float]
    sections: list[dict[str, Any]]     # start_s, end_s, role, level, at_cut
    instruments: dict[str, str]
    chords: list[str]
    seed: int
    energy: int


@dataclass(frozen=True)
class AlignmentSummary:
    """Figures of the music against the visual beats; None where there is nothing to measure."""

    window_s: float
    f_measure: float | None
    hit_rate: float | None
    precision: float | None
    recall: float | None
    beat_align: float | None
    visual_beats: int
    cuts: int
    cuts_on_downbeat: int
    cut_offsets_ms: list[float]


@dataclass(frozen=True)
class SoundtrackSummary:
    """Everything the page, the API, the command and the bench show about one soundtrack.

    ``as_dict()`` is the JSON stored as the job's result (the same keys, nested the same way).
    """

    backend: str
    duration_s: float
    options: dict[str, Any]
    analysis: AnalysisSummary
    music: MusicSummary
    alignment: AlignmentSummary
    timings_s: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SoundtrackOutputs:
    video: Path
    audio: Path
    midi: Path | None
    summary: SoundtrackSummary


def _r(values: np.ndarray | list[float], digits: int = 3) -> list[float]:
    return [round(float(v), digits) for v in values]


def _round(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def summarize(analysis: VideoAnalysis, composition: Composition, *, backend: str, options: SoundtrackOptions,
              timings: dict[str, float]) -> SoundtrackSummary:
    """Everything the page, the API and the bench show (``as_dict()`` for JSON)."""
    grid = composition.grid
    beats = grid.beat_times()
    beats = beats[(beats >= 0) & (beats <= analysis.duration_s)]
    downbeats = grid.downbeat_times()
    downbeats = downbeats[(downbeats >= 0) & (downbeats <= analysis.duration_s)]
    visual = analysis.visual_beats_s
    span = (float(visual.min()) - DEFAULT_WINDOW_S, float(visual.max()) + DEFAULT_WINDOW_S) if visual.size else None
    match = beat_match(visual, beats, start_s=span[0] if span else None, end_s=span[1] if span else None)
    offsets = cut_offsets(analysis.cuts_s, downbeats) if analysis.cuts_s.size else np.zeros(0)
    step = 0.25
    motion_t = np.arange(0.0, analysis.duration_s, step)
    # The first section starts with the video, even when the first beat comes a little later.
    sections = [{"start_s": 0.0 if i == 0 else round(float(grid.time_of(s.start_beat)), 3),
                 "end_s": round(min(analysis.duration_s, float(grid.time_of(s.end_beat))), 3),
                 "role": s.role, "level": s.level, "at_cut": s.at_cut} for i, s in enumerate(composition.sections)]
    return SoundtrackSummary(
        backend=backend,
        duration_s=round(analysis.duration_s, 3),
        options={"genre": options.genre, "energy": options.energy, "seed": options.seed, "mix": options.mix},
        analysis=AnalysisSummary(
            fps=round(analysis.analysis_fps, 3), size=list(analysis.analysis_size),
            visual_beats_s=_r(visual), beat_strengths=_r(analysis.beat_strengths, 2),
            cuts_s=_r(analysis.cuts_s), motion={"step_s": step, "values": _r(analysis.motion_at(motion_t), 2)},
            camera_motion=round(analysis.camera_motion, 3), mood=analysis.mood.as_dict()),
        music=MusicSummary(
            genre=composition.genre, genre_label=PRESETS[composition.genre].label, key=composition.key,
            tempo_bpm=round(grid.tempo_bpm, 3), phase_s=round(grid.phase_s, 4),
            beats_s=_r(beats), downbeats_s=_r(downbeats), sections=sections,
            instruments=composition.instruments(), chords=composition.bar_chords,
            seed=composition.seed, energy=composition.energy),
        alignment=AlignmentSummary(
            window_s=DEFAULT_WINDOW_S, f_measure=_round(match.f_measure), hit_rate=_round(match.hit_rate),
            precision=_round(match.precision), recall=_round(match.recall),
            beat_align=_round(match.beat_align), visual_beats=match.n_reference,
            cuts=int(analysis.cuts_s.size),
            cuts_on_downbeat=int(np.sum(offsets <= DEFAULT_WINDOW_S + 1e-9)),
            cut_offsets_ms=[round(float(o) * 1000, 1) for o in offsets]),
        timings_s={k: round(v, 3) for k, v in timings.items()},
    )


def score_video(video_path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *,
                options: SoundtrackOptions = SoundtrackOptions(), settings: EngineSettings = EngineSettings(),
                progress: ProgressFn = null_progress) -> SoundtrackOutputs:
    options.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backend = choose_backend(options.backend, model=settings.musicgen_model, device=settings.musicgen_device,
                             gpu_available=cuda_available() if settings.musicgen_model else False)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    progress("analyze", 0.0, "Watching the video for motion and cuts")
    analysis = analyze_video(video_path, max_fps=settings.analysis_max_fps, max_side=settings.analysis_max_side,
                             max_duration_s=settings.max_duration_s, min_duration_s=settings.min_duration_s,
                             progress=scaled(progress, 0.0, 0.45))
    timings["analyze"] = time.perf_counter() - t0

    t = time.perf_counter()
    progress("compose", 0.46, f"Composing for a {analysis.mood.label} video")
    composition = compose(analysis, genre=options.genre, energy=options.energy, seed=options.seed)
    timings["compose"] = time.perf_counter() - t
    progress("compose", 0.5, f"{composition.grid.tempo_bpm:.0f} BPM in {composition.key}")

    t = time.perf_counter()
    midi_path: Path | None = None
    if backend == "musicgen":
        gen = musicgen_backend(settings.musicgen_model, settings.musicgen_device)
        raw = render_musicgen(gen, composition, analysis.mood, duration_s=analysis.duration_s,
                              sample_rate=settings.sample_rate, seed=options.seed, progress=scaled(progress, 0.5, 0.8))
        sr = settings.sample_rate
    else:
        midi_path = write_midi(composition, out / MIDI_NAME)
        progress("synthesize", 0.55, "Playing the score with FluidSynth")
        groups = RENDER_GROUPS if settings.render_processes > 1 else (tuple(p.role for p in composition.parts),)
        present = [g for g in groups if any(p.role in g for p in composition.parts)]
        pieces = [write_midi(composition, out / f"render-{i}.mid", roles=g) for i, g in enumerate(present)]
        raw = fluidsynth_render_mix(pieces, out, soundfont=settings.soundfont, sample_rate=settings.sample_rate,
                                    binary=settings.fluidsynth)
        for piece in pieces:
            piece.unlink(missing_ok=True)
        sr = settings.sample_rate
    timings["synthesize"] = time.perf_counter() - t

    t = time.perf_counter()
    progress("mix", 0.8, "Levelling and fading the music")
    music = finish_audio(raw, sr, duration_s=analysis.duration_s, target_rms_db=settings.target_rms_db)
    audio_tmp = out / "music.part.wav"
    write_wav(audio_tmp, music, sr)
    os.replace(audio_tmp, out / AUDIO_NAME)
    progress("mux", 0.85, "Putting the music on the video" + (" over its own sound" if options.mix == "duck" else ""))
    video = mux_audio(video_path, music, sr, out / VIDEO_NAME, mode=options.mix, duck_db=settings.duck_db)
    timings["mix_and_mux"] = time.perf_counter() - t
    timings["total"] = time.perf_counter() - t0
    summary = summarize(analysis, composition, backend=backend, options=options, timings=timings)
    hit_rate = summary.alignment.hit_rate
    progress("done", 1.0, f"{composition.grid.tempo_bpm:.0f} BPM, "
             + (f"{hit_rate * 100:.0f}% of visual beats on a musical beat" if hit_rate is not None
                else "no visual beats to follow: the music keeps its own time"))
    return SoundtrackOutputs(video=video, audio=out / AUDIO_NAME, midi=midi_path, summary=summary)
