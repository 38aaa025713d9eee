"""Render speed: the compositor on a 3-minute 720p30 song, against encoding the same frames alone.

    .venv/bin/python bench/render.py [--json] [--seconds 180] [--width 1280 --height 720 --fps 30]

What is timed:
- ``render_s``: the whole assembly of the main pass (the compositor drawing every frame, the
  captions and label, x264 ultrafast and AAC in the encoder thread, muxing) — the job's main
  cost. The preview pass is timed separately (``preview_s``), and the person's cut-outs
  (mediapipe segmentation, once per job) as ``cast_s``.
- ``encode_only_s``: PyAV encoding the same number of frames of the same size, with the same
  x264 settings and the audio, from frames that are already in memory (a few distinct frames
  cycled): the floor any renderer pays. ``ratio_to_encode_only`` = render_s / encode_only_s.
- With ``--watermark`` the invisible watermark (mediakit.watermark) is applied to its frames too.

Material: a generated song of about ``--seconds`` with sung words (captions on), scenes cut every
bar, and the committed liveness clip's frames as the consented person. The limit from the issue:
a 3-minute 720p30 video in at most 60 s on the 2-core machine. Timings on a machine shared with
other work are noisy; the JSON says how loaded it was (``load_avg_1m``).

If ``bench/render_diffusion.py`` exists (the diffusion renderers' bench), its figures are run
and merged under ``diffusion``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import av  # noqa: E402
import numpy as np  # noqa: E402

from mediakit.audio import decode_audio, write_wav  # noqa: E402
from mediakit.video import iter_frames  # noqa: E402
from musicvideo.render.assemble import AUDIO_SR, CaptionLine, assemble_video  # noqa: E402
from musicvideo.render.base import Person, RenderSettings, SceneSpec, WordTiming, renderer_for  # noqa: E402
from musicvideo.testing.synthetic import make_song, song_of_length  # noqa: E402

CLIP = ROOT / "tests" / "fixtures" / "charcha" / "genuine_a.mp4"
MOODS = {"intro": "serene", "verse": "melancholy", "chorus": "euphoric", "bridge": "tense", "outro": "serene"}


def material(seconds: float, out_dir: Path) -> tuple[Path, list[SceneSpec], list[CaptionLine], float]:
    song = make_song(song_of_length(seconds, tempo_bpm=120.0))
    wav = write_wav(out_dir / "song.wav", song.samples, song.sample_rate)
    beats, downs = [float(b) for b in song.beats_s], [float(d) for d in song.downbeats_s]
    starts = [float(t) for t in song.section_starts_s]
    cuts = [0.0, *[d for d in downs[1:] if d < song.duration_s - 0.5], song.duration_s]
    scenes, previous = [], None
    for i, (a, b) in enumerate(itertools.pairwise(cuts)):
        name = song.section_names[max(int(np.searchsorted(starts, a + 1e-6)) - 1, 0)]
        scenes.append(SceneSpec(index=i, start_s=a, end_s=b, beats_s=tuple(t for t in beats if a <= t < b),
                                downbeats_s=tuple(t for t in downs if a <= t < b), section=name,
                                mood=MOODS.get(name, "serene"), valence=0.2, arousal=0.2, energy=0.5, lyric="",
                                prompt="", section_start=previous is not None and previous != name))
        previous = name
    captions, k = [], 0
    for line in song.lines:
        n = len(line.split())
        words = tuple(WordTiming(w.text, w.start_s, w.end_s) for w in song.words[k:k + n])
        k += n
        captions.append(CaptionLine(words[0].start_s, words[-1].end_s, words))
    return wav, scenes, captions, song.duration_s


def encode_only(path: Path, *, settings: RenderSettings, n_frames: int, audio: np.ndarray, preset: str) -> float:
    """PyAV alone: the same frames count, size, codec settings and audio, frames already in memory."""
    rng = np.random.default_rng(0)
    base = np.linspace(0, 255, settings.width, dtype=np.float32)[None, :, None]
    frames = [np.ascontiguousarray(np.clip(base * (0.5 + 0.1 * i) + rng.normal(0, 6, (settings.height, settings.width, 1)),
                                           0, 255).astype(np.uint8).repeat(4, axis=2)) for i in range(8)]
    started = time.perf_counter()
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=Fraction(settings.fps, 1), options={"crf": "21", "preset": preset})
        stream.width, stream.height, stream.pix_fmt = settings.width, settings.height, "yuv420p"
        astream = container.add_stream("aac", rate=AUDIO_SR, layout="stereo", options={"aac_coder": "fast"})
        for i in range(n_frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(frames[i % len(frames)], format="rgba")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
        for start in range(0, audio.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[:, start:start + 1024]), format="fltp",
                                               layout="stereo")
            frame.sample_rate, frame.pts = AUDIO_SR, start
            for packet in astream.encode(frame):
                container.mux(packet)
        for packet in astream.encode(None):
            container.mux(packet)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--preset", default="ultrafast")
    parser.add_argument("--watermark", action="store_true", help="also apply the invisible watermark")
    args = parser.parse_args()
    settings = RenderSettings(width=args.width, height=args.height, fps=args.fps, seed=1, style="neon")
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="encore-bench-render-") as tmp:
        out = Path(tmp)
        wav, scenes, captions, duration = material(args.seconds, out)
        person = Person(frames=tuple(f.image for f in iter_frames(CLIP))[::6])
        renderer = renderer_for("compositor")
        started = time.perf_counter()
        renderer.cast(person, settings.height)  # type: ignore[attr-defined]
        figures["cast_s"] = round(time.perf_counter() - started, 2)
        marker = None
        if args.watermark:
            from mediakit.watermark import FrameMarker

            marker = FrameMarker(0x0123456789ABCDEF)
        result = assemble_video(out / "video.mp4", scenes=scenes, renderer=renderer, person=person, settings=settings,
                                song_path=wav, captions=captions, preview_path=out / "preview.mp4", marker=marker,
                                preset=args.preset)
        n_frames = result.n_frames
        audio = decode_audio(wav, sample_rate=AUDIO_SR, mono=False)
        audio = np.vstack([audio, audio]) if audio.ndim == 1 else audio
        encode_s = encode_only(out / "encode-only.mp4", settings=settings, n_frames=n_frames, audio=audio,
                               preset=args.preset)
        render_s = result.timings_s["render"]
        figures.update({
            "video_s": round(duration, 2), "frames": n_frames, "width": args.width, "height": args.height,
            "fps": args.fps, "scenes": len(scenes), "x264_preset": args.preset,
            "render_s": round(render_s, 2), "preview_s": result.timings_s.get("preview"),
            "encode_only_s": round(encode_s, 2), "ratio_to_encode_only": round(render_s / encode_s, 2),
            "render_ms_per_frame": round(1000 * render_s / n_frames, 2),
            "limit_s": 60.0 * duration / 180.0, "within_limit": render_s <= 60.0 * duration / 180.0,
            "frames_watermarked": result.frames_marked, "video_mb": round((out / "video.mp4").stat().st_size / 1e6, 1),
            "load_avg_1m": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
        })
    diffusion = ROOT / "bench" / "render_diffusion.py"
    if diffusion.exists():
        run = subprocess.run([sys.executable, str(diffusion), "--json"], capture_output=True, text=True, cwd=ROOT)
        lines = [ln for ln in run.stdout.strip().splitlines() if ln.startswith("{")]
        figures["diffusion"] = json.loads(lines[-1]) if run.returncode == 0 and lines else {
            "error": (run.stderr or run.stdout)[-500:]}
    if not args.json:
        for key, value in figures.items():
            print(f"{key:>24}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
