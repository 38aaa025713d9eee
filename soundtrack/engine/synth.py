"""Render MIDI with FluidSynth and finish the audio: trim to the video, normalise, fade.

The Debian ``fluidsynth`` command renders faster than real time with ``-F`` (no audio device).
It writes 32-bit float WAV so that a loud passage cannot clip before normalisation.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

from mediakit.audio import loudness_normalize
from soundtrack.engine.errors import SoundtrackError


def fluidsynth_render(midi_path: str | os.PathLike[str], wav_path: str | os.PathLike[str], *, soundfont: str | os.PathLike[str],
                      sample_rate: int = 44100, binary: str = "fluidsynth", gain: float = 0.5,
                      timeout_s: float = 600.0) -> Path:
    exe = shutil.which(binary)
    if exe is None:
        raise SoundtrackError(f"FluidSynth ('{binary}') is not installed on this worker.", code="synth_unavailable")
    if not Path(soundfont).is_file():
        raise SoundtrackError(f"The soundfont {soundfont} is missing on this worker.", code="synth_unavailable")
    out = Path(wav_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".part.wav")
    cmd = [exe, "-ni", "-q", "-F", str(tmp), "-T", "wav", "-O", "float", "-r", str(sample_rate), "-g", f"{gain:.3f}",
           # One synthesis thread per render: the worker runs other jobs beside it, and the render is
           # already ~20x faster than real time. Dynamic loading reads only the samples the score
           # uses instead of all 140 MB of the GM soundfont (a few tenths of a second saved per job).
           "-o", "synth.cpu-cores=1", "-o", "synth.dynamic-sample-loading=1", str(soundfont), str(midi_path)]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        tmp.unlink(missing_ok=True)
        raise SoundtrackError("FluidSynth took too long to render the music.", code="synth_failed") from exc
    if proc.returncode != 0 or not tmp.exists() or tmp.stat().st_size <= 44:
        tmp.unlink(missing_ok=True)
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or ["no output"]
        raise SoundtrackError(f"FluidSynth could not render the music ({detail[0]}).", code="synth_failed")
    os.replace(tmp, out)
    return out


def fluidsynth_render_mix(midi_paths: Sequence[Path], work_dir: Path, *, soundfont: str | os.PathLike[str],
                          sample_rate: int = 44100, binary: str = "fluidsynth") -> np.ndarray:
    """Render several MIDI files at once, one FluidSynth process each, and sum them.

    Synthesis, reverb and chorus are linear, so rendering the parts of a score in separate
    processes and adding the results gives the same music; on two cores it halves the wait,
    since each FluidSynth process synthesises on one core.
    """
    wavs = [work_dir / f"render-{i}.wav" for i in range(len(midi_paths))]
    with ThreadPoolExecutor(max_workers=max(1, len(midi_paths))) as pool:
        rendered = list(pool.map(lambda pair: fluidsynth_render(pair[0], pair[1], soundfont=soundfont,
                                                                sample_rate=sample_rate, binary=binary),
                                 zip(midi_paths, wavs, strict=True)))
    total: np.ndarray | None = None
    for wav in rendered:
        audio, _ = read_stereo(wav)
        wav.unlink(missing_ok=True)
        if total is None:
            total = audio
        else:
            n = max(total.shape[1], audio.shape[1])
            total = np.pad(total, ((0, 0), (0, n - total.shape[1]))) + np.pad(audio, ((0, 0), (0, n - audio.shape[1])))
    assert total is not None
    return total


def read_stereo(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    stereo = data.T if data.shape[1] >= 2 else np.vstack([data[:, 0], data[:, 0]])
    return np.ascontiguousarray(stereo[:2]), int(sr)


def limit_peaks(samples: np.ndarray, sample_rate: int, *, ceiling: float = 0.89, window_s: float = 0.006) -> np.ndarray:
    """A look-ahead brick-wall limiter: no sample above ``ceiling``, gain changes spread over ``window_s``.

    The gain each sample needs is held over a window (a minimum filter) and then smoothed over
    half that window, so the smoothed gain never exceeds what any nearby peak allows and changes
    too slowly to click. Drums make music peaky; without this, normalising to a loudness target
    stops at the peak limit and a drum-heavy take ends up several dB quieter than a calm one.
    """
    from scipy.ndimage import minimum_filter1d

    stereo = samples if samples.ndim == 2 else samples[None, :]
    peak = np.max(np.abs(stereo), axis=0)
    if peak.size == 0 or float(peak.max()) <= ceiling:
        return samples
    need = np.minimum(1.0, ceiling / np.maximum(peak, 1e-9))
    hold = max(3, int(window_s * sample_rate) | 1)
    held = minimum_filter1d(need, size=hold, mode="nearest")
    smooth = max(3, (hold // 2) | 1)
    kernel = np.hanning(smooth + 2)[1:-1]
    gain = np.convolve(np.pad(held, smooth // 2, mode="edge"), kernel / kernel.sum(), mode="valid")
    return (samples * gain.astype(np.float32)).astype(np.float32)


def finish_audio(samples: np.ndarray, sample_rate: int, *, duration_s: float, target_rms_db: float = -16.0,
                 fade_in_s: float = 0.02, fade_out_s: float | None = None) -> np.ndarray:
    """Exactly ``duration_s`` of stereo audio at the target loudness, faded in and out.

    The fade-in only removes a click; the fade-out is up to 2 s (a tenth of a short video) so the
    music ends with the picture instead of being cut off.
    """
    stereo = samples if samples.ndim == 2 else np.vstack([samples, samples])
    n = int(round(duration_s * sample_rate))
    if stereo.shape[1] < n:
        stereo = np.pad(stereo, ((0, 0), (0, n - stereo.shape[1])))
    out = np.array(stereo[:, :n], dtype=np.float32)
    # Up to the target level first, limit the peaks that pushes over the ceiling, then let mediakit
    # settle the final level (the limiter took a little loudness off).
    out = limit_peaks(loudness_normalize(out, target_rms_db=target_rms_db, peak_limit=16.0), sample_rate)
    out = loudness_normalize(out, target_rms_db=target_rms_db)
    if fade_out_s is None:
        fade_out_s = min(2.0, 0.1 * duration_s)
    k_in = min(n, int(fade_in_s * sample_rate))
    if k_in > 0:
        out[:, :k_in] *= np.linspace(0.0, 1.0, k_in, dtype=np.float32)
    k_out = min(n, int(fade_out_s * sample_rate))
    if k_out > 0:
        # An equal-power curve sounds like a gentle fade; a linear one seems to drop at the end.
        out[:, n - k_out:] *= np.cos(np.linspace(0.0, np.pi / 2, k_out, dtype=np.float32))
    return out
