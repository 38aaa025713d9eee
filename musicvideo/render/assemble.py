"""Assembly: scenes from a renderer -> one MP4 with the song, cut on the beat, labelled, captioned.

- Every scene starts on frame ``round(start_s * fps)`` (scenes start on beats, so every cut is on
  its beat within half a frame) and the video has ``round(duration_s * fps)`` frames: the song's
  length within one frame.
- The song's audio goes in untouched apart from AAC coding (decoded at 44.1 kHz stereo once).
- A visible "AI-generated" label opens the video (and a small one stays in the corner); karaoke
  captions light each word up when it is sung, from the analysis' word timestamps.
- H.264 (yuv420p, plays in every browser) + AAC in an MP4 with the index at the front
  (faststart), so a browser starts playing before the whole file has arrived.
- A low-resolution preview (320x180, 10 fps) is rendered and stored first, before the long pass.
- Encoding runs in its own thread (x264 and FFmpeg's scaler run outside the GIL) while the next
  frame is drawn; frames travel as RGBA, skia's layout, and FFmpeg converts them to YUV in C.
- ``marker`` is a per-frame hook (index, RGB frame) -> RGB frame for the invisible watermark
  (``mediakit.watermark.FrameMarker``), applied before encoding so the video is encoded once.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import skia

from mediakit.audio import decode_audio
from mediakit.progress import ProgressFn, null_progress, scaled
from musicvideo.render.base import (
    Person,
    Renderer,
    RenderError,
    RenderSettings,
    SceneAudio,
    SceneSpec,
    WordTiming,
    check_frame,
    frames_for_scene,
)
from musicvideo.render.compositor import font_path

AUDIO_SR = 44100
LABEL_S = 3.0
LABEL_TEXT = "AI-generated"
LABEL_SUBTEXT = "Made with Encore from a consented likeness"
HIGHLIGHT = (1.0, 0.84, 0.04)         # sung words: warm yellow
PREVIEW = RenderSettings(width=320, height=180, fps=10)

FrameHook = Callable[[int, np.ndarray], np.ndarray]
SceneDone = Callable[[int, Path], None]


@dataclass(frozen=True)
class CaptionLine:
    """One lyric line and its words, absolute song times."""

    start_s: float
    end_s: float
    words: tuple[WordTiming, ...]

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)


@dataclass(frozen=True)
class AssemblyResult:
    path: Path
    preview_path: Path | None
    n_frames: int
    fps: int
    duration_s: float
    cut_frames: list[int]                 # the first frame of every scene
    frames_marked: int
    timings_s: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------ audio
def song_envelopes(mono: np.ndarray, sample_rate: int, *, fps: int, n_frames: int) -> tuple[np.ndarray, np.ndarray]:
    """Per video frame: loudness (RMS, 0..1 against the song's loud parts) and onset strength 0..1."""
    hop = sample_rate / fps
    idx = (np.arange(n_frames + 1) * hop).astype(np.int64).clip(0, len(mono))
    power = np.add.reduceat(np.asarray(mono, np.float64) ** 2, idx[:-1]) if len(mono) else np.zeros(n_frames)
    counts = np.maximum(np.diff(idx), 1)
    power = power[:n_frames] if power.size >= n_frames else np.pad(power, (0, n_frames - power.size))
    rms = np.sqrt(power / counts[:n_frames])
    ref = float(np.percentile(rms, 95)) if rms.size else 0.0
    energy = np.clip(rms / ref, 0.0, 1.0) if ref > 1e-6 else np.zeros(n_frames)
    db = 20 * np.log10(rms + 1e-6)
    onset = np.maximum(np.diff(db, prepend=db[:1]), 0.0)
    top = float(np.percentile(onset, 98)) if onset.size else 0.0
    onset = np.clip(onset / top, 0.0, 1.0) if top > 1e-6 else np.zeros(n_frames)
    return energy.astype(np.float32), onset.astype(np.float32)


def scene_energy(energy: np.ndarray, first: int, count: int) -> float:
    return float(np.mean(energy[first:first + count])) if count > 0 else 0.0


# ------------------------------------------------------------------------------------ overlays
class Overlay:
    """Draws the AI label and the karaoke captions onto RGBA frames with skia (in place)."""

    def __init__(self, width: int, height: int, captions: Sequence[CaptionLine], *, label_s: float = LABEL_S) -> None:
        self.W, self.H = width, height
        self.captions = list(captions)
        self.label_s = label_s
        bold = font_path(bold=True)
        regular = font_path(bold=False)
        if bold is None or regular is None:
            raise RenderError("No font for captions and the AI label (DejaVu Sans) was found.", code="font_missing")
        self._bold = skia.Typeface.MakeFromFile(str(bold))
        self._regular = skia.Typeface.MakeFromFile(str(regular))
        self.caption_font = skia.Font(self._bold, max(height * 0.062, 8.0))
        self.label_font = skia.Font(self._bold, max(height * 0.05, 7.0))
        self.sub_font = skia.Font(self._regular, max(height * 0.027, 6.0))
        self.mark_font = skia.Font(self._bold, max(height * 0.024, 6.0))
        self._layouts: dict[int, list[tuple[WordTiming, float, float, float]]] = {}

    # The caption shown at time t: a line from shortly before its first word until shortly after
    # its last (or until the next line starts).
    def line_at(self, t: float) -> int | None:
        for i, line in enumerate(self.captions):
            nxt = self.captions[i + 1].start_s - 0.3 if i + 1 < len(self.captions) else float("inf")
            if line.start_s - 0.3 <= t < min(line.end_s + 0.6, nxt):
                return i
        return None

    def layout(self, index: int) -> list[tuple[WordTiming, float, float, float]]:
        """(word, x, baseline y, width) for every word of caption ``index``; wraps to two rows."""
        if index in self._layouts:
            return self._layouts[index]
        font = self.caption_font
        space = font.measureText(" ")
        words = self.captions[index].words
        widths = [font.measureText(w.text) for w in words]
        rows: list[list[int]] = [[]]
        limit = self.W * 0.88
        for j, wdt in enumerate(widths):
            row_w = sum(widths[k] for k in rows[-1]) + space * len(rows[-1])
            if rows[-1] and row_w + wdt > limit:
                rows.append([])
            rows[-1].append(j)
        line_h = font.getSize() * 1.25
        bottom = self.H * 0.86
        out: list[tuple[WordTiming, float, float, float]] = []
        for r, row in enumerate(rows):
            total = sum(widths[k] for k in row) + space * (len(row) - 1)
            x = (self.W - total) / 2
            y = bottom - (len(rows) - 1 - r) * line_h
            for k in row:
                out.append((words[k], x, y, widths[k]))
                x += widths[k] + space
        self._layouts[index] = out
        return out

    def draw(self, canvas: skia.Canvas, t: float) -> None:
        index = self.line_at(t)
        if index is not None:
            self._draw_caption(canvas, index, t)
        self._draw_label(canvas, t)

    def _draw_caption(self, canvas: skia.Canvas, index: int, t: float) -> None:
        font = self.caption_font
        stroke = skia.Paint(AntiAlias=True, Color=skia.Color4f(0.0, 0.0, 0.0, 0.85), Style=skia.Paint.kStroke_Style,
                            StrokeWidth=max(font.getSize() * 0.14, 1.0), StrokeJoin=skia.Paint.kRound_Join)
        white = skia.Paint(AntiAlias=True, Color=skia.ColorWHITE)
        lit = skia.Paint(AntiAlias=True, Color=skia.Color4f(*HIGHLIGHT, 1.0))
        ascent = font.getSize() * 0.95
        for word, x, y, w in self.layout(index):
            blob = skia.TextBlob.MakeFromString(word.text, font)
            canvas.drawTextBlob(blob, x, y, stroke)
            canvas.drawTextBlob(blob, x, y, white)
            if t >= word.start_s:
                # Karaoke wipe: the word fills with colour from left to right while it is sung.
                span = max(word.end_s - word.start_s, 1e-3)
                fraction = min((t - word.start_s) / span, 1.0)
                canvas.save()
                canvas.clipRect(skia.Rect(x - 2, y - ascent * 1.2, x + max(w * fraction, 2.0), y + ascent * 0.5))
                canvas.drawTextBlob(blob, x, y, lit)
                canvas.restore()

    def _draw_label(self, canvas: skia.Canvas, t: float) -> None:
        W, H = self.W, self.H
        if t < self.label_s:
            fade = min(1.0, (self.label_s - t) / 0.4)
            margin = H * 0.1      # below a cinematic letterbox bar
            text_w = max(self.label_font.measureText(LABEL_TEXT), self.sub_font.measureText(LABEL_SUBTEXT))
            box = skia.Rect(H * 0.045, margin, H * 0.045 + text_w + H * 0.06, margin + H * 0.135)
            canvas.drawRRect(skia.RRect.MakeRectXY(box, H * 0.02, H * 0.02),
                             skia.Paint(AntiAlias=True, Color=skia.Color4f(0.0, 0.0, 0.0, 0.72 * fade)))
            canvas.drawString(LABEL_TEXT, box.left() + H * 0.03, box.top() + H * 0.065, self.label_font,
                              skia.Paint(AntiAlias=True, Color=skia.Color4f(1.0, 1.0, 1.0, fade)))
            canvas.drawString(LABEL_SUBTEXT, box.left() + H * 0.03, box.top() + H * 0.11, self.sub_font,
                              skia.Paint(AntiAlias=True, Color=skia.Color4f(0.85, 0.85, 0.85, fade)))
        else:
            # A small mark stays in the corner for the whole video.
            canvas.drawString(LABEL_TEXT, W - self.mark_font.measureText(LABEL_TEXT) - H * 0.03, H * 0.06,
                              self.mark_font, skia.Paint(AntiAlias=True, Color=skia.Color4f(1.0, 1.0, 1.0, 0.6)))


# ------------------------------------------------------------------------------------ encoding
class Encoder:
    """H.264/AAC MP4 with faststart, written by a worker thread.

    ``put`` copies the frame into an FFmpeg frame at once (so the caller may reuse its buffer);
    the worker converts to YUV, encodes, muxes, and interleaves the song's audio as video time
    advances. Errors in the worker surface on the next ``put`` or on ``close``.
    """

    def __init__(self, path: Path, *, width: int, height: int, fps: int, audio: np.ndarray | None,
                 sample_rate: int = AUDIO_SR, crf: int = 21, preset: str = "ultrafast",
                 audio_bitrate: int = 192_000) -> None:
        self.path = path
        self.tmp = path.with_name(path.stem + ".part.mp4")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.fps = fps
        self.sample_rate = sample_rate
        self.container = av.open(str(self.tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        self.video = self.container.add_stream("libx264", rate=Fraction(fps, 1),
                                               options={"crf": str(crf), "preset": preset})
        self.video.width, self.video.height = width - width % 2, height - height % 2
        self.video.pix_fmt = "yuv420p"
        self.audio_stream = None
        self.audio: np.ndarray | None = None
        if audio is not None:
            self.audio = np.ascontiguousarray(np.vstack([audio, audio]) if audio.ndim == 1 else audio[:2],
                                              dtype=np.float32)
            self.audio_stream = self.container.add_stream("aac", rate=sample_rate, layout="stereo",
                                                          options={"aac_coder": "fast"})
            self.audio_stream.bit_rate = audio_bitrate
        self.audio_pos = 0
        self.n_frames = 0
        self._queue: queue.Queue[av.VideoFrame | None] = queue.Queue(maxsize=6)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name="encoder", daemon=True)
        self._thread.start()

    def put(self, frame: np.ndarray) -> None:
        if self._error is not None:
            raise RenderError(f"Encoding failed: {self._error}", code="encode_failed") from self._error
        fmt = "rgba" if frame.shape[2] == 4 else "rgb24"
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[: self.video.height, : self.video.width]),
                                        format=fmt)
        vf.pts = self.n_frames
        vf.time_base = Fraction(1, self.fps)
        self.n_frames += 1
        while True:
            try:
                self._queue.put(vf, timeout=1.0)
                return
            except queue.Full:
                if self._error is not None or not self._thread.is_alive():
                    raise RenderError(f"Encoding failed: {self._error}", code="encode_failed") from self._error

    def _work(self) -> None:
        try:
            done = 0
            while True:
                vf = self._queue.get()
                if vf is None:
                    break
                for packet in self.video.encode(vf):
                    self.container.mux(packet)
                done += 1
                self._audio_until(int(round(done / self.fps * self.sample_rate)))
        except BaseException as exc:  # reported to the producer thread
            self._error = exc
            # Keep draining so the producer never blocks on a full queue.
            while self._queue.get() is not None:
                pass

    def _audio_until(self, end: int, *, final: bool = False) -> None:
        if self.audio is None or self.audio_stream is None:
            return
        chunk = 1024
        while self.audio_pos + (0 if final else chunk) < end:
            stop = min(self.audio_pos + chunk, end)
            piece = self.audio[:, self.audio_pos:stop]
            if piece.shape[1] < stop - self.audio_pos:
                piece = np.pad(piece, ((0, 0), (0, stop - self.audio_pos - piece.shape[1])))
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(piece), format="fltp", layout="stereo")
            af.sample_rate = self.sample_rate
            af.pts = self.audio_pos
            for packet in self.audio_stream.encode(af):
                self.container.mux(packet)
            self.audio_pos = stop
            if stop >= end:
                break

    def close(self) -> Path:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            self.container.close()
            self.tmp.unlink(missing_ok=True)
            raise RenderError(f"Encoding failed: {self._error}", code="encode_failed") from self._error
        if self.n_frames == 0:
            self.container.close()
            self.tmp.unlink(missing_ok=True)
            raise RenderError("Nothing was rendered.", code="render_empty")
        for packet in self.video.encode():
            self.container.mux(packet)
        if self.audio_stream is not None:
            # The audio ends with the video's last frame (the song's length within one frame).
            self._audio_until(int(round(self.n_frames / self.fps * self.sample_rate)), final=True)
            for packet in self.audio_stream.encode(None):
                self.container.mux(packet)
        self.container.close()
        os.replace(self.tmp, self.path)
        return self.path

    def abort(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put_nowait(None)
        self._thread.join(timeout=30)
        # The container may be half-written; it is deleted either way.
        with contextlib.suppress(Exception):
            self.container.close()
        self.tmp.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------ assembly
def check_scenes(scenes: Sequence[SceneSpec], duration_s: float) -> None:
    """Scenes must tile the song: start at 0, follow each other without gaps, end at its end."""
    if not scenes:
        raise RenderError("The storyboard has no scenes.", code="storyboard_empty")
    if duration_s <= 0:
        raise RenderError("The song has no length.", code="song_empty")
    if abs(scenes[0].start_s) > 1e-3:
        raise RenderError("The first scene must start at the beginning of the song.", code="storyboard_gaps")
    for a, b in itertools.pairwise(scenes):
        if abs(a.end_s - b.start_s) > 1e-3 or b.end_s <= b.start_s:
            raise RenderError(f"Scene {b.index + 1} does not follow scene {a.index + 1}.", code="storyboard_gaps")
    if abs(scenes[-1].end_s - duration_s) > 0.05:
        raise RenderError("The scenes do not end with the song; write the storyboard again.", code="storyboard_gaps")


def scene_frame_ranges(scenes: Sequence[SceneSpec], duration_s: float, fps: int) -> list[tuple[int, int]]:
    """(first frame, frame count) per scene; the last scene ends on the song's last frame."""
    total = int(round(duration_s * fps))
    ranges = [frames_for_scene(s.start_s, s.end_s, fps) for s in scenes]
    first, _ = ranges[-1]
    ranges[-1] = (first, max(total - first, 0))
    return ranges


def _frames_of_pass(scenes: Sequence[SceneSpec], ranges: Sequence[tuple[int, int]], *, renderer: Renderer,
                    person: Person, settings: RenderSettings, mono: np.ndarray,
                    energy: np.ndarray, onset: np.ndarray) -> Iterator[tuple[int, int, np.ndarray]]:
    """(scene position, frame index, frame) for every frame of the video, scene after scene."""
    for pos, (scene, (first, count)) in enumerate(zip(scenes, ranges, strict=True)):
        if count <= 0:
            continue
        a, b = int(first / settings.fps * AUDIO_SR), int((first + count) / settings.fps * AUDIO_SR)
        audio = SceneAudio(samples=mono[a:b], sample_rate=AUDIO_SR, frame_energy=energy[first:first + count],
                           frame_onset=onset[first:first + count])
        scene = replace(scene, energy=scene_energy(energy, first, count))
        produced = 0
        for frame in renderer.render_scene(scene, person=person, settings=settings, n_frames=count, audio=audio):
            if produced >= count:
                raise RenderError(f"The '{renderer.name}' renderer gave scene {scene.index + 1} too many frames.",
                                  code="render_frame_count")
            check_frame(frame, settings, renderer=renderer.name)
            yield pos, first + produced, frame
            produced += 1
        if produced != count:
            raise RenderError(f"The '{renderer.name}' renderer gave scene {scene.index + 1} {produced} frames "
                              f"instead of {count}.", code="render_frame_count")


def render_pass(out_path: Path, *, scenes: Sequence[SceneSpec], renderer: Renderer, person: Person,
                settings: RenderSettings, audio: np.ndarray, duration_s: float, captions: Sequence[CaptionLine],
                label_s: float = LABEL_S, marker: FrameHook | None = None, crf: int = 21,
                preset: str = "ultrafast", audio_bitrate: int = 192_000, progress: ProgressFn = null_progress,
                on_scene: SceneDone | None = None, scene_dir: Path | None = None) -> tuple[list[int], int]:
    """Render every scene at ``settings`` and encode one MP4; returns the cut frames and frames marked."""
    check_scenes(scenes, duration_s)
    fps = settings.fps
    ranges = scene_frame_ranges(scenes, duration_s, fps)
    total = sum(c for _, c in ranges)
    mono = audio.mean(axis=0) if audio.ndim == 2 else audio
    energy, onset = song_envelopes(mono, AUDIO_SR, fps=fps, n_frames=total)
    overlay = Overlay(settings.width, settings.height, captions, label_s=label_s)
    encoder = Encoder(out_path, width=settings.width, height=settings.height, fps=fps, audio=audio, crf=crf,
                      preset=preset, audio_bitrate=audio_bitrate)
    rgba = np.zeros((settings.height, settings.width, 4), np.uint8)
    rgba[..., 3] = 255
    canvas_for: dict[tuple[int, tuple[int, ...]], tuple[np.ndarray, skia.Canvas]] = {}
    marked = 0
    try:
        for pos, index, frame in _frames_of_pass(scenes, ranges, renderer=renderer, person=person,
                                                 settings=settings, mono=mono, energy=energy, onset=onset):
            if frame.shape[2] == 3:
                rgba[..., :3] = frame
                frame = rgba
            # Draw the overlays straight into the frame's memory (a renderer's buffer is ours until
            # we ask for its next frame).
            key = (frame.__array_interface__["data"][0], frame.shape)
            if key not in canvas_for:
                # Holding the array keeps its memory from being reused under the cached canvas.
                canvas_for = {key: (frame, skia.Surface(frame).getCanvas())}
            overlay.draw(canvas_for[key][1], index / fps)
            if marker is not None:
                rgb = np.ascontiguousarray(frame[..., :3])
                marked_rgb = marker(index, rgb)
                if marked_rgb is not rgb:
                    marked += 1
                    frame = marked_rgb
            encoder.put(frame)
            first, count = ranges[pos]
            if on_scene is not None and scene_dir is not None and index == first + count // 2:
                thumb = scene_dir / f"scene-{scenes[pos].index:03d}.jpg"
                thumb.parent.mkdir(parents=True, exist_ok=True)
                small = cv2.resize(np.ascontiguousarray(frame[..., :3]), (320, max(int(320 * settings.height / settings.width), 2)),
                                   interpolation=cv2.INTER_AREA)
                cv2.imwrite(str(thumb), cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
                on_scene(scenes[pos].index, thumb)
            if index % 15 == 0 or index == total - 1:
                progress("render", (index + 1) / total, f"Scene {pos + 1} of {len(scenes)}")
        encoder.close()
    except BaseException:
        encoder.abort()
        raise
    return [first for first, _ in ranges], marked


def assemble_video(out_path: Path, *, scenes: Sequence[SceneSpec], renderer: Renderer, person: Person,
                   settings: RenderSettings, song_path: Path, captions: Sequence[CaptionLine] = (),
                   preview_path: Path | None = None, on_preview: Callable[[Path], None] | None = None,
                   on_scene: SceneDone | None = None, scene_dir: Path | None = None,
                   marker: FrameHook | None = None, label_s: float = LABEL_S, crf: int = 21,
                   preset: str = "ultrafast", progress: ProgressFn = null_progress) -> AssemblyResult:
    """The whole video: decode the song once, an optional quick preview, then the full render."""
    timings: dict[str, float] = {}
    started = time.perf_counter()
    progress("audio", 0.0, "Reading the song")
    audio = decode_audio(song_path, sample_rate=AUDIO_SR, mono=False)
    if audio.ndim == 1:
        audio = np.vstack([audio, audio])
    duration_s = audio.shape[1] / AUDIO_SR
    check_scenes(scenes, duration_s)
    timings["decode_audio"] = time.perf_counter() - started
    main_from = 0.02
    if preview_path is not None:
        t0 = time.perf_counter()
        preview = replace(PREVIEW, seed=settings.seed, style=settings.style)
        render_pass(preview_path, scenes=scenes, renderer=renderer, person=person, settings=preview,
                    audio=audio, duration_s=duration_s, captions=captions, label_s=label_s, crf=28,
                    audio_bitrate=96_000, progress=scaled(progress, 0.02, 0.1))
        timings["preview"] = time.perf_counter() - t0
        if on_preview is not None:
            on_preview(preview_path)
        main_from = 0.1
    t0 = time.perf_counter()
    cuts, marked = render_pass(out_path, scenes=scenes, renderer=renderer, person=person, settings=settings,
                               audio=audio, duration_s=duration_s, captions=captions, label_s=label_s,
                               marker=marker, crf=crf, preset=preset, progress=scaled(progress, main_from, 1.0),
                               on_scene=on_scene, scene_dir=scene_dir)
    timings["render"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - started
    n_frames = int(round(duration_s * settings.fps))
    return AssemblyResult(path=out_path, preview_path=preview_path, n_frames=n_frames, fps=settings.fps,
                          duration_s=duration_s, cut_frames=cuts, frames_marked=marked,
                          timings_s={k: round(v, 3) for k, v in timings.items()})
