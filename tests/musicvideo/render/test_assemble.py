"""Assembly measured from the outside: decode the MP4 it wrote and check cuts, length, audio,
captions, label and container; bad input is refused with a code and leaves no file."""

from __future__ import annotations

import functools
from pathlib import Path

import av
import mir_eval
import numpy as np
import pytest

from mediakit.audio import decode_audio
from mediakit.probe import probe
from mediakit.video import iter_frames
from musicvideo.render.assemble import LABEL_S, AssemblyResult, Overlay, assemble_video
from musicvideo.render.base import RenderError, RenderSettings, renderer_for
from soundtrack.engine.visual import analyze_video
from tests.musicvideo.render import material

FLAT = RenderSettings(width=320, height=180, fps=30)


@functools.cache
def compositor_video(tmp: str) -> AssemblyResult:
    s = material.song()
    out = Path(tmp) / "compositor.mp4"
    thumbs: list[int] = []
    result = assemble_video(out, scenes=material.scenes_on_bars(s), renderer=renderer_for("compositor"),
                            person=material.person(), settings=material.SMALL, song_path=material.song_wav(),
                            captions=material.captions(s), preview_path=Path(tmp) / "preview.mp4",
                            on_scene=lambda i, p: thumbs.append(i), scene_dir=Path(tmp) / "scenes")
    assert thumbs == list(range(len(material.scenes_on_bars(s))))
    return result


@functools.cache
def flat_video(tmp: str) -> AssemblyResult:
    s = material.song()
    return assemble_video(Path(tmp) / "flat.mp4", scenes=material.scenes_on_bars(s), renderer=material.FlatRenderer(),
                          person=material.person(), settings=FLAT, song_path=material.song_wav(),
                          captions=material.captions(s))


@pytest.fixture(scope="module")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("assembled"))


def gray_frames(path: Path) -> np.ndarray:
    return np.stack([f.image.astype(np.int16) for f in iter_frames(path, gray=True)])


def test_every_cut_is_on_its_beat_and_the_video_lasts_as_long_as_the_song(shared_dir: str) -> None:
    s = material.song()
    result = compositor_video(shared_dir)
    scenes = material.scenes_on_bars(s)
    fps = material.SMALL.fps
    # The planned cuts are the song's true downbeats, each on frame round(t * fps).
    assert result.cut_frames == [int(round(sc.start_s * fps)) for sc in scenes]
    for sc, frame in zip(scenes[1:], result.cut_frames[1:], strict=True):
        assert abs(frame / fps - sc.start_s) <= 1 / fps
        assert any(abs(sc.start_s - d) < 1e-6 for d in s.downbeats_s)
    frames = gray_frames(result.path)
    assert len(frames) == int(round(s.duration_s * fps))
    info = probe(result.path)
    assert info.video is not None and abs(info.duration_s - s.duration_s) <= 1 / fps + 0.03
    # From the pixels: the largest frame-to-frame changes are exactly the cut frames.
    change = np.abs(np.diff(frames, axis=0)).mean(axis=(1, 2))     # change[i]: frame i -> i + 1
    cuts = result.cut_frames[1:]
    top = set((np.argsort(change)[::-1][:len(cuts)] + 1).tolist())
    assert len(top & set(cuts)) >= 0.8 * len(cuts), (sorted(top), cuts)


def test_the_song_is_in_the_video_intact(shared_dir: str) -> None:
    result = compositor_video(shared_dir)
    source = decode_audio(material.song_wav(), sample_rate=22050, mono=True)
    heard = decode_audio(result.path, sample_rate=22050, mono=True)
    n = min(len(source), len(heard))
    assert abs(len(heard) - len(source)) <= 22050 / material.SMALL.fps + 1
    r = float(np.corrcoef(source[:n], heard[:n])[0, 1])
    assert r >= 0.99, r


def test_the_file_plays_in_browsers_and_starts_before_it_has_all_arrived(shared_dir: str) -> None:
    result = compositor_video(shared_dir)
    with av.open(str(result.path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.pix_fmt) == ("h264", "yuv420p")
        assert audio.codec_context.name == "aac"
    head = result.path.read_bytes()
    assert 0 <= head.find(b"moov") < head.find(b"mdat"), "the index (moov) must come first (faststart)"
    assert result.preview_path is not None
    preview = probe(result.preview_path)
    assert preview.video is not None and (preview.video.width, preview.video.height) == (320, 180)
    assert abs(preview.duration_s - result.duration_s) < 0.2


def test_visual_beats_found_in_the_video_match_the_songs_beats(shared_dir: str) -> None:
    """Sync measured from outside: the soundtrack engine's visual-beat detector on the video."""
    s = material.song()
    result = compositor_video(shared_dir)
    seen = analyze_video(result.path).visual_beats_s
    # The first second is left out on both sides (mir_eval's trim_beats): the label fades in there.
    reference = mir_eval.beat.trim_beats(np.asarray(s.beats_s, dtype=float), min_beat_time=1.0)
    f = mir_eval.beat.f_measure(reference, mir_eval.beat.trim_beats(np.asarray(seen, dtype=float), min_beat_time=1.0),
                                f_measure_threshold=0.1)
    assert f >= 0.8, (f, len(seen), len(reference))


def yellow(frame: np.ndarray) -> np.ndarray:
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 190) & (g > 150) & (b < 110) & (r - b > 120)


def test_each_caption_word_lights_up_when_it_is_sung(shared_dir: str) -> None:
    s = material.song()
    result = flat_video(shared_dir)
    frames = [f.image for f in iter_frames(result.path)]
    overlay = Overlay(FLAT.width, FLAT.height, material.captions(s))
    checked = 0
    for index in range(len(overlay.captions)):
        for word, x, y, w in overlay.layout(index):
            box = (slice(int(y - FLAT.height * 0.07), int(y + 4)), slice(int(x), int(x + w)))
            before = int(round(word.start_s * FLAT.fps)) - 2
            after = int(round(word.end_s * FLAT.fps)) + 1
            if overlay.line_at(before / FLAT.fps) != index or overlay.line_at(after / FLAT.fps) != index:
                continue
            assert yellow(frames[before][box]).sum() == 0, (word, "lit before it was sung")
            assert yellow(frames[after][box]).sum() > 0.05 * (box[0].stop - box[0].start) * w, (word, "not lit")
            checked += 1
    assert checked >= len(s.words) // 2


def test_the_ai_label_opens_the_video(shared_dir: str) -> None:
    result = flat_video(shared_dir)
    frames = [f.image for f in iter_frames(result.path)]
    region = (slice(int(FLAT.height * 0.1), int(FLAT.height * 0.23)), slice(10, FLAT.width // 2))
    # The label: a dark box with white text over the flat grey picture, for LABEL_S seconds.
    first = frames[0][region].astype(int)
    assert (first.mean(axis=2) < 50).mean() > 0.3 and (first.min(axis=2) > 200).mean() > 0.02
    gone = frames[int((LABEL_S + 0.5) * FLAT.fps)][region].astype(int)
    assert np.abs(gone - 96).max() <= 12
    # A small mark stays in the top right corner for the whole video.
    corner = frames[-1][: int(FLAT.height * 0.08), FLAT.width * 3 // 4:].astype(int)
    assert (corner.min(axis=2) > 140).sum() > 10


def test_scenes_that_do_not_tile_the_song_are_refused_without_a_file(tmp_path: Path) -> None:
    s = material.song()
    scenes = material.scenes_on_bars(s)
    gap = [*scenes[:3], *scenes[4:]]
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError) as err:
        assemble_video(out, scenes=gap, renderer=material.FlatRenderer(), person=material.person(), settings=FLAT,
                       song_path=material.song_wav())
    assert err.value.code == "storyboard_gaps"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("delta", "code"), [(-1, "render_frame_count"), (1, "render_frame_count")])
def test_a_renderer_with_the_wrong_number_of_frames_is_refused_without_a_file(tmp_path: Path, delta: int,
                                                                               code: str) -> None:
    s = material.song()
    out = tmp_path / "x.mp4"
    with pytest.raises(RenderError) as err:
        assemble_video(out, scenes=material.scenes_on_bars(s), renderer=material.FlatRenderer(frames_delta=delta),
                       person=material.person(), settings=FLAT, song_path=material.song_wav())
    assert err.value.code == code
    assert list(tmp_path.iterdir()) == []


class WrongSize(material.FlatRenderer):
    def render_scene(self, scene, *, person, settings, n_frames, audio):  # type: ignore[no-untyped-def]
        yield from (np.zeros((10, 10, 3), np.uint8) for _ in range(n_frames))


def test_a_frame_of_the_wrong_size_is_refused_without_a_file(tmp_path: Path) -> None:
    with pytest.raises(RenderError) as err:
        assemble_video(tmp_path / "x.mp4", scenes=material.scenes_on_bars(material.song()), renderer=WrongSize(),
                       person=material.person(), settings=FLAT, song_path=material.song_wav())
    assert err.value.code == "render_bad_frame"
    assert list(tmp_path.iterdir()) == []
