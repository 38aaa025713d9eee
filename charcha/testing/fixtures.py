"""The committed liveness clips under tests/fixtures/charcha/ and how to read them.

- ``<name>.mp4`` + ``<name>.json``: an attempt at 320x240 (H.264); the JSON holds the issued steps,
  each frame's capture time, the expected verdict reason and how the clip was made.
- ``fake_camera_genuine.mjpeg`` / ``fake_camera_photo.mjpeg`` + ``fake_camera.json``: 640x480 clips
  for Chromium's ``--use-file-for-fake-video-capture``. Chromium plays MJPEG files at a fixed
  30 frames a second, so each 15 fps frame is stored twice. The genuine clip performs
  :func:`fixed_steps_for_fake_camera` with its time 0 at the moment Chromium opens the camera; the
  photo clip is a held still photo (it loops).

Made by ``tools/make_liveness_clips.py``; read by the tests and by the Django side's browser test.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from charcha.vision.types import CapturedFrame, ChallengeStep

FIXTURES_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "charcha"
FAKE_CAMERA_JSON = "fake_camera.json"
MJPEG_FPS = 30.0  # Chromium's file capture plays MJPEG at this fixed rate


@dataclass(frozen=True)
class Clip:
    name: str
    steps: list[ChallengeStep]
    frames: list[CapturedFrame]
    expected_reason: str
    meta: dict[str, object]


def steps_from_json(items: Sequence[dict[str, object]]) -> list[ChallengeStep]:
    return [ChallengeStep(str(s["action"]), float(s["start_s"]), float(s["end_s"])) for s in items]  # type: ignore[arg-type]


def steps_to_json(steps: Sequence[ChallengeStep]) -> list[dict[str, object]]:
    return [{"action": s.action, "start_s": s.start_s, "end_s": s.end_s} for s in steps]


def load_clip(name: str, directory: Path = FIXTURES_DIR) -> Clip:
    """A committed attempt: frames decoded from ``<name>.mp4`` with the capture times from its JSON."""
    from mediakit.video import iter_frames

    meta = json.loads((directory / f"{name}.json").read_text())
    times = [float(t) for t in meta["times_s"]]
    images = [np.ascontiguousarray(f.image) for f in iter_frames(directory / f"{name}.mp4")]
    if len(images) != len(times):
        raise ValueError(f"{name}: {len(images)} frames in the video, {len(times)} capture times in the JSON")
    frames = [CapturedFrame(t_s=t, image=im) for t, im in zip(times, images, strict=True)]
    return Clip(name, steps_from_json(meta["steps"]), frames, str(meta["expected_reason"]), meta)


def fixed_steps_for_fake_camera(directory: Path = FIXTURES_DIR) -> list[ChallengeStep]:
    """The steps the genuine fake-camera clip performs: issue exactly these in the browser test."""
    meta = json.loads((directory / FAKE_CAMERA_JSON).read_text())
    return steps_from_json(meta["steps"])


def write_mjpeg(path: Path, images: Sequence[np.ndarray], *, repeat: int = 2, quality: int = 60) -> None:
    """Concatenated JPEGs, each written ``repeat`` times (15 fps content at Chromium's 30 fps)."""
    with open(path, "wb") as out:
        for image in images:
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
            if not ok:
                raise ValueError("JPEG encoding failed")
            data = buf.tobytes()
            for _ in range(repeat):
                out.write(data)


def read_mjpeg(path: Path) -> Iterator[np.ndarray]:
    """RGB frames of a concatenated-JPEG file (every frame, duplicates included)."""
    data = Path(path).read_bytes()
    start = 0
    while True:
        soi = data.find(b"\xff\xd8", start)
        if soi < 0:
            return
        eoi = data.find(b"\xff\xd9", soi)
        if eoi < 0:
            return
        image = cv2.imdecode(np.frombuffer(data[soi : eoi + 2], np.uint8), cv2.IMREAD_COLOR)
        start = eoi + 2
        if image is not None:
            yield cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def sample_fake_camera(
    path: Path, *, offset_s: float = 0.0, fps: float = 15.0, duration_s: float | None = None
) -> list[CapturedFrame]:
    """What a page sampling the fake camera at ``fps`` would capture.

    ``offset_s`` is how long after Chromium opened the camera the challenge clock started; the
    file loops, as Chromium loops it.
    """
    clip = list(read_mjpeg(path))
    length = len(clip) / MJPEG_FPS
    duration = duration_s if duration_s is not None else length - offset_s
    frames = []
    t = 0.0
    while t <= duration:
        index = int(((t + offset_s) % length) * MJPEG_FPS)
        frames.append(CapturedFrame(t_s=round(t, 4), image=clip[index]))
        t += 1.0 / fps
    return frames
