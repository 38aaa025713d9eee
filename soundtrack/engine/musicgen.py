"""MusicGen (Meta, through transformers) as an alternative to the symbolic composer.

Used only when weights and a GPU are configured (SOUNDTRACK_MUSICGEN_MODEL): the released MusicGen
weights are licensed CC-BY-NC 4.0, i.e. for non-commercial use only, and on a CPU a minute of
audio takes far longer than a user will wait. The composer still plans the music (tempo, phase,
sections at cuts); MusicGen renders each stretch between section changes from a text prompt, and
each rendered stretch is time-stretched to the planned tempo and trimmed so its own beats fall on
the planned grid, because MusicGen follows a tempo in its prompt only roughly.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from mediakit.numba_cache import load_librosa_kernels
from mediakit.progress import ProgressFn, null_progress
from soundtrack.engine.compose import Composition
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.presets import PRESETS
from soundtrack.engine.visual import Mood

MAX_SEGMENT_S = 28.0      # MusicGen was trained on 30 s clips
CROSSFADE_S = 0.25


class MusicGenBackend:
    """A loaded MusicGen model and its tokenizer: load once per worker (``load``), call many times."""

    def __init__(self, model: Any, tokenizer: Any, *, device: str = "cpu") -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.device = device

    @classmethod
    def load(cls, name_or_path: str, *, device: str = "cuda", half: bool = True) -> MusicGenBackend:
        import torch
        from transformers import AutoTokenizer, MusicgenForConditionalGeneration

        dtype = torch.float16 if half and device.startswith("cuda") else torch.float32
        loader: Any = MusicgenForConditionalGeneration   # its stubs type from_pretrained through a decorator
        model = loader.from_pretrained(name_or_path, dtype=dtype).to(device).eval()
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
        return cls(model, tokenizer, device=device)

    @property
    def sample_rate(self) -> int:
        return int(self.model.config.audio_encoder.sampling_rate)

    @property
    def frame_rate(self) -> float:
        return float(self.model.config.audio_encoder.frame_rate)

    def generate(self, prompt: str, *, duration_s: float, seed: int, guidance_scale: float = 3.0) -> np.ndarray:
        """Mono float32 audio of about ``duration_s`` at ``sample_rate``; the same seed gives the same audio."""
        import torch

        inputs = self.tokenizer([prompt], return_tensors="pt", padding=True).to(self.device)
        # MusicGen's delay pattern staggers its codebooks: K codebooks cost K - 1 frames of output.
        frames = int(np.ceil(duration_s * self.frame_rate)) + int(self.model.decoder.num_codebooks)
        generator_state = torch.random.get_rng_state()
        torch.manual_seed(seed)
        try:
            with torch.inference_mode():
                audio = self.model.generate(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"],
                                            do_sample=True, guidance_scale=guidance_scale,
                                            max_new_tokens=frames)
        finally:
            torch.random.set_rng_state(generator_state)
        return audio[0].float().mean(dim=0).cpu().numpy().astype(np.float32)


_LOADED: dict[tuple[str, str], MusicGenBackend] = {}
_LOCK = threading.Lock()


def musicgen_backend(name_or_path: str, device: str) -> MusicGenBackend:
    """The process-wide backend for these settings (weights load once per worker)."""
    with _LOCK:
        key = (name_or_path, device)
        if key not in _LOADED:
            _LOADED[key] = MusicGenBackend.load(name_or_path, device=device)
        return _LOADED[key]


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a project dependency
        return False
    return bool(torch.cuda.is_available())


def choose_backend(requested: str, *, model: str, device: str, gpu_available: bool) -> str:
    """'fluidsynth' or 'musicgen'. 'auto' takes MusicGen only with weights configured and a GPU present."""
    usable = bool(model) and (device == "cpu" or (device.startswith("cuda") and gpu_available))
    if requested == "fluidsynth":
        return "fluidsynth"
    if requested == "musicgen":
        if not usable:
            raise SoundtrackError("MusicGen is not set up on this server (no weights or no GPU configured).",
                                  code="musicgen_unavailable")
        return "musicgen"
    if requested != "auto":
        raise SoundtrackError(f"Unknown backend '{requested}'.", code="bad_option")
    return "musicgen" if usable and device != "cpu" else "fluidsynth"


def musicgen_prompt(composition: Composition, mood: Mood) -> str:
    label = PRESETS[composition.genre].label
    tonic, mode = composition.key.split(" ")
    scale = "major" if mode in ("ionian", "lydian", "mixolydian") else "minor"
    instruments = ", ".join(sorted({p.instrument.lower() for p in composition.parts if not p.is_drums}))
    drums = "with drums" if any(p.is_drums for p in composition.parts) else "no drums"
    return (f"{label} instrumental background music, {mood.label}, {tonic} {scale}, "
            f"{composition.grid.tempo_bpm:.0f} bpm, {instruments}, {drums}")


@dataclass(frozen=True)
class _Segment:
    start_s: float
    end_s: float
    role: str


def _segments(composition: Composition, duration_s: float) -> list[_Segment]:
    """Stretches of at most MAX_SEGMENT_S, cut at section starts where possible."""
    grid = composition.grid
    starts = sorted({0.0, *(max(0.0, float(grid.time_of(s.start_beat))) for s in composition.sections)})
    starts = [s for s in starts if s < duration_s]
    roles = {max(0.0, float(grid.time_of(s.start_beat))): s.role for s in composition.sections}
    out: list[_Segment] = []
    bounds = [*starts[1:], duration_s]
    for a, b in zip(starts, bounds, strict=True):
        t = a
        while t < b - 1e-6:
            end = min(b, t + MAX_SEGMENT_S)
            out.append(_Segment(t, end, roles.get(a, "verse")))
            t = end
    return out


def _align_to_grid(audio: np.ndarray, sr: int, *, tempo_bpm: float, grid_phase_s: float) -> np.ndarray:
    """Stretch to the planned tempo and trim the head so the audio's beats fall on the grid.

    ``grid_phase_s`` is where the grid has a beat, relative to the start of this audio. Audio in
    which no steady beat is found is returned unchanged.
    """
    load_librosa_kernels()
    import librosa

    tempo_est, beats = librosa.beat.beat_track(y=audio, sr=sr, units="time", trim=False)
    tempo_found = float(np.atleast_1d(tempo_est)[0]) if np.size(tempo_est) else 0.0
    if tempo_found <= 0 or len(beats) < 4:
        return audio
    # MusicGen may play at double or half the asked tempo; stretch to the nearest metrical level.
    ratios = [tempo_bpm * m / tempo_found for m in (0.5, 1.0, 2.0)]
    rate = min(ratios, key=lambda r: abs(np.log(r)))
    if not 0.8 <= rate <= 1.25:
        return audio
    stretched = librosa.effects.time_stretch(audio, rate=rate) if abs(rate - 1.0) > 0.005 else audio
    period = 60.0 / tempo_bpm
    first = float(beats[0]) / rate
    trim = (first - grid_phase_s) % period
    return stretched[int(round(trim * sr)):]


def render_musicgen(backend: MusicGenBackend, composition: Composition, mood: Mood, *, duration_s: float,
                    sample_rate: int, seed: int, progress: ProgressFn = null_progress) -> np.ndarray:
    """Stereo float32 audio of ``duration_s`` at ``sample_rate``, section by section, crossfaded."""
    load_librosa_kernels()
    import librosa

    sr = backend.sample_rate
    period = composition.grid.period_s
    prompt = musicgen_prompt(composition, mood)
    segments = _segments(composition, duration_s)
    total = int(round(duration_s * sr))
    out = np.zeros(total, dtype=np.float32)
    fade = int(CROSSFADE_S * sr)
    for i, seg in enumerate(segments):
        progress("synthesize", i / max(len(segments), 1), f"MusicGen: part {i + 1} of {len(segments)}")
        # A beat and a crossfade longer than needed, so trimming to the grid never leaves a gap.
        raw = backend.generate(f"{prompt}, {seg.role}", duration_s=seg.end_s - seg.start_s + period + CROSSFADE_S,
                               seed=seed * 1000 + i)
        phase_here = (composition.grid.phase_s - seg.start_s) % period
        piece = _align_to_grid(raw, sr, tempo_bpm=composition.grid.tempo_bpm, grid_phase_s=phase_here)
        a = int(round(seg.start_s * sr))
        n = min(int(round((seg.end_s - seg.start_s) * sr)) + fade, total - a, piece.size)
        if n <= 0:
            continue
        piece = piece[:n].copy()
        if i > 0 and fade:
            k = min(fade, n)
            ramp = np.linspace(0.0, 1.0, k, dtype=np.float32)
            piece[:k] *= ramp
            out[a:a + k] *= 1.0 - ramp
        out[a:a + n] += piece
    progress("synthesize", 1.0, "MusicGen: done")
    if sr != sample_rate:
        out = librosa.resample(out, orig_sr=sr, target_sr=sample_rate).astype(np.float32)
    return np.vstack([out, out])
