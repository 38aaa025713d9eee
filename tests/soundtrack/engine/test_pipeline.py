from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from mediakit.audio import decode_audio
from mediakit.probe import probe
from soundtrack.engine import SoundtrackOptions, SoundtrackOutputs, score_video
from soundtrack.engine.errors import SoundtrackError
from soundtrack.engine.metrics import beat_match, cut_offsets, measure_audio_beats
from soundtrack.engine.synth import read_stereo

from .conftest import Clip


def hum_ratio(path: Path) -> float:
    """How much of the track's energy sits at the test video's 220 Hz hum."""
    audio = decode_audio(path, sample_rate=8000)
    spectrum = np.abs(np.fft.rfft(audio)) ** 2
    freqs = np.fft.rfftfreq(audio.size, 1 / 8000)
    band = (freqs > 215) & (freqs < 225)
    return float(spectrum[band].sum() / spectrum.sum())


def test_outputs_and_their_lengths(grid_clip: Clip, grid_scored: SoundtrackOutputs) -> None:
    out = grid_scored
    assert (out.video.name, out.audio.name, out.midi.name if out.midi else None) == \
        ("soundtrack.mp4", "music.wav", "music.mid")
    assert sorted(p.name for p in out.video.parent.iterdir()) == ["music.mid", "music.wav", "soundtrack.mp4"]
    info = probe(out.video)
    assert info.video is not None and (info.video.width, info.video.height) == (320, 180)
    assert info.audio is not None and info.audio.sample_rate == 44100
    audio, sr = read_stereo(out.audio)
    assert audio.shape == (2, 10 * 44100)
    rms_db = 20 * np.log10(float(np.sqrt(np.mean(audio[:, : 8 * sr] ** 2))))
    assert rms_db == pytest.approx(-16.0, abs=1.0)          # normalised (fades aside)
    assert json.loads(json.dumps(out.summary.as_dict()))["music"]["tempo_bpm"] == out.summary.music.tempo_bpm


def test_the_music_heard_lands_on_the_visual_beats(grid_clip: Clip, grid_scored: SoundtrackOutputs) -> None:
    audio, sr = read_stereo(grid_scored.audio)
    heard = measure_audio_beats(audio, sr)
    v = grid_clip.video
    # The last second fades out; beats there are too quiet to track.
    m = beat_match(v.visual_beats_s, heard, start_s=0.25, end_s=v.duration_s - 1.0)
    assert m.f_measure is not None and m.f_measure >= 0.8, (m, heard)


def test_summary_figures(grid_clip: Clip, grid_scored: SoundtrackOutputs) -> None:
    s = grid_scored.summary
    assert s.backend == "fluidsynth"
    assert s.music.tempo_bpm == pytest.approx(100.0, abs=0.3)
    assert s.alignment.cuts == 2
    assert s.alignment.cuts_on_downbeat == 2
    assert s.alignment.f_measure is not None and s.alignment.f_measure >= 0.9
    assert np.all(cut_offsets(grid_clip.video.cuts_s, s.music.downbeats_s) <= 0.1)
    assert [sec["at_cut"] for sec in s.music.sections] == [False, True, True]
    assert s.music.sections[0]["start_s"] == 0.0
    assert len(s.analysis.motion["values"]) == 40
    assert set(s.timings_s) == {"analyze", "compose", "synthesize", "mix_and_mux", "total"}


def test_replace_drops_and_duck_keeps_the_original_sound(grid_clip: Clip, grid_scored: SoundtrackOutputs,
                                                         grid_ducked: SoundtrackOutputs) -> None:
    assert hum_ratio(grid_clip.video.path) > 0.9
    music, replaced, ducked = (hum_ratio(grid_scored.audio), hum_ratio(grid_scored.video),
                               hum_ratio(grid_ducked.video))
    # Replaced: what is left near 220 Hz is the music's own (AAC changes it a little).
    assert replaced == pytest.approx(music, abs=0.003)
    # Ducked: the hum is still there, 14 dB under its original level, beside the music at -16 dBFS.
    assert ducked - replaced > 0.015
    # The music itself is the same in both.
    assert np.array_equal(read_stereo(grid_scored.audio)[0], read_stereo(grid_ducked.audio)[0])


def test_still_video_gets_a_calm_score(still_clip: Clip, tmp_path: Path) -> None:
    out = score_video(still_clip.video.path, tmp_path)
    s = out.summary
    assert s.analysis.visual_beats_s == []
    # Nothing to hit: no hit rate, BeatAlign or F-measure, rather than a flattering 100 %.
    assert (s.alignment.hit_rate, s.alignment.beat_align, s.alignment.f_measure) == (None, None, None)
    assert s.alignment.visual_beats == 0
    assert s.music.tempo_bpm <= 90
    assert "drums" not in s.music.instruments
    assert all(sec["level"] == 0 for sec in s.music.sections)
    audio, _ = read_stereo(out.audio)
    assert float(np.sqrt(np.mean(audio**2))) > 0.05


def test_running_twice_overwrites(grid_clip: Clip, tmp_path: Path) -> None:
    first = score_video(grid_clip.video.path, tmp_path, options=SoundtrackOptions(seed=5, genre="ambient"))
    midi = first.midi.read_bytes() if first.midi else b""
    second = score_video(grid_clip.video.path, tmp_path, options=SoundtrackOptions(seed=5, genre="ambient"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["music.mid", "music.wav", "soundtrack.mp4"]
    assert second.midi is not None and second.midi.read_bytes() == midi
    assert second.summary.music.genre == "ambient"


@pytest.mark.parametrize(("options", "code"), [
    (SoundtrackOptions(genre="polka"), "bad_option"), (SoundtrackOptions(energy=0), "bad_option"),
    (SoundtrackOptions(mix="mix"), "bad_option"),  # type: ignore[arg-type]
    (SoundtrackOptions(backend="musicgen"), "musicgen_unavailable"),
])
def test_bad_options_are_refused_before_any_work(grid_clip: Clip, tmp_path: Path, options: SoundtrackOptions,
                                                 code: str) -> None:
    with pytest.raises(SoundtrackError) as err:
        score_video(grid_clip.video.path, tmp_path / "out", options=options)
    assert err.value.code == code
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_progress_goes_through_every_stage(grid_clip: Clip, tmp_path: Path) -> None:
    seen: list[tuple[str, float]] = []
    score_video(grid_clip.video.path, tmp_path, progress=lambda s, f, m="": seen.append((s, f)))
    stages = list(dict.fromkeys(s for s, _ in seen))
    assert stages == ["analyze", "compose", "synthesize", "mix", "mux", "done"]
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
