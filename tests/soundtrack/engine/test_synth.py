from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from soundtrack.engine.compose import compose
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.midi import write_midi
from soundtrack.engine.synth import finish_audio, fluidsynth_render, limit_peaks, read_stereo

from .conftest import Clip

SOUNDFONT = "/usr/share/sounds/sf2/FluidR3_GM.sf2"


@pytest.fixture(scope="module")
def midi(grid_clip: Clip, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_midi(compose(grid_clip.analysis, seed=0), tmp_path_factory.mktemp("midi") / "a.mid")


def test_fluidsynth_renders_the_score(midi: Path, tmp_path: Path) -> None:
    wav = fluidsynth_render(midi, tmp_path / "a.wav", soundfont=SOUNDFONT)
    audio, sr = read_stereo(wav)
    assert sr == 44100
    assert audio.shape[0] == 2
    assert audio.shape[1] >= int(9.5 * sr)
    assert float(np.sqrt(np.mean(audio**2))) > 0.01
    # The render is deterministic: the same MIDI gives the same samples.
    again, _ = read_stereo(fluidsynth_render(midi, tmp_path / "b.wav", soundfont=SOUNDFONT))
    assert np.array_equal(audio, again)


def test_missing_soundfont(midi: Path, tmp_path: Path) -> None:
    with pytest.raises(SoundtrackError) as err:
        fluidsynth_render(midi, tmp_path / "a.wav", soundfont=tmp_path / "none.sf2")
    assert err.value.code == "synth_unavailable"


def test_missing_fluidsynth(midi: Path, tmp_path: Path) -> None:
    with pytest.raises(SoundtrackError) as err:
        fluidsynth_render(midi, tmp_path / "a.wav", soundfont=SOUNDFONT, binary="no-such-fluidsynth")
    assert err.value.code == "synth_unavailable"


def test_fluidsynth_failure_leaves_no_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not midi at all")
    with pytest.raises(SoundtrackError) as err:
        fluidsynth_render(bad, tmp_path / "a.wav", soundfont=SOUNDFONT)
    assert err.value.code == "synth_failed"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.mid"]


def test_finish_trims_normalises_and_fades() -> None:
    sr = 1000
    loud = np.full((2, 5000), 0.5, dtype=np.float32)
    out = finish_audio(loud, sr, duration_s=3.0, target_rms_db=-20.0, fade_in_s=0.1, fade_out_s=1.0)
    assert out.shape == (2, 3000)
    assert out[0, 0] == 0.0
    assert abs(out[0, -1]) < 0.002
    middle = out[:, 100:2000]
    assert float(np.sqrt(np.mean(middle**2))) == pytest.approx(10 ** (-20 / 20), rel=1e-5)


def test_finish_pads_short_audio_with_silence() -> None:
    out = finish_audio(np.ones(500, dtype=np.float32) * 0.1, 1000, duration_s=1.0, fade_out_s=0.0)
    assert out.shape == (2, 1000)
    assert np.all(out[:, 600:] == 0.0)


def test_limiter_holds_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    sr = 8000
    t = np.arange(sr) / sr
    quiet = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    assert np.array_equal(limit_peaks(quiet, sr), quiet)
    spiky = quiet.copy()
    spiky[4000:4010] = 1.5            # a drum hit far over full scale
    limited = limit_peaks(np.vstack([spiky, spiky]), sr, ceiling=0.89)
    assert float(np.max(np.abs(limited))) <= 0.89 + 1e-6
    # Away from the hit (beyond the 6 ms window) nothing changed.
    assert np.array_equal(limited[0, :3900], quiet[:3900])


def test_drum_heavy_music_still_reaches_the_target_level() -> None:
    sr = 8000
    rng = np.random.default_rng(0)
    music = (0.05 * rng.normal(size=(2, 4 * sr))).astype(np.float32)
    music[:, ::2000] = 0.9            # sparse loud peaks: a crest factor of ~25 dB
    out = finish_audio(music, sr, duration_s=4.0, target_rms_db=-16.0, fade_in_s=0.0, fade_out_s=0.0)
    assert 20 * np.log10(float(np.sqrt(np.mean(out**2)))) == pytest.approx(-16.0, abs=0.5)
    assert float(np.max(np.abs(out))) <= 0.98
