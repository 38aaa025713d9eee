"""Make the committed liveness clips under tests/fixtures/charcha/ from real photographs.

    .venv/bin/python tools/make_liveness_clips.py [--out DIR] [--check]

Writes (see charcha/vision/fixtures.py for the formats):

- ``genuine_a.mp4/.json``: person A (skimage's astronaut photo) doing a random challenge live,
  built with the 2.5-D landmark warp (charcha/vision/synth.py), 320x240, 15 fps with jitter.
- ``still_photo_a.mp4/.json``: the same person as a held still photo (must fail).
- ``fake_camera_genuine.mjpeg``, ``fake_camera_photo.mjpeg``, ``fake_camera.json``: 640x480 clips
  for Chromium's fake webcam. The genuine clip performs :func:`fixed_steps_for_fake_camera`
  (a fixed, known challenge) starting when the camera opens; the browser test must make the
  server issue exactly those steps and start the challenge clock within the tolerated offset.

``--check`` verifies every written clip with the real engine and fails if a verdict differs
from the one the clip is meant to get.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from charcha.testing.attacks import (  # noqa: E402
    Attempt,
    CameraStyle,
    FrameSpec,
    Wobble,
    face_state,
    make_attempt,
    render,
)
from charcha.testing.fixtures import (  # noqa: E402
    FAKE_CAMERA_JSON,
    FIXTURES_DIR,
    MJPEG_FPS,
    sample_fake_camera,
    steps_to_json,
    write_mjpeg,
)
from charcha.testing.head3d import Motion  # noqa: E402
from charcha.vision.challenge import challenge_duration_s  # noqa: E402
from charcha.vision.types import ChallengeStep  # noqa: E402

GENUINE_SEED = 1
STILL_SEED = 1
FAKE_SIZE = (640, 480)
FAKE_FPS = 15.0
MJPEG_QUALITY = 35  # 640x480 JPEGs of this photo are ~15 KB each even so
# The fake camera's challenge: long windows, so the page may start its clock a little before or
# after Chromium opens the camera (the moves sit in the middle of their windows).
FAKE_ACTIONS = ("turn_left", "open_mouth", "look_up", "smile")
FAKE_LEAD_IN_S, FAKE_WINDOW_S, FAKE_GAP_S = 1.2, 2.0, 0.4
FAKE_ONSET_S = 0.45  # after the window opens
FAKE_TOLERATED_OFFSET_S = (-0.5, 0.5)  # challenge clock start minus camera open, checked by --check


def fixed_steps_for_fake_camera() -> list[ChallengeStep]:
    """The challenge the genuine fake-camera clip performs (also in fake_camera.json)."""
    steps = []
    t = FAKE_LEAD_IN_S
    for action in FAKE_ACTIONS:
        steps.append(ChallengeStep(action, round(t, 3), round(t + FAKE_WINDOW_S, 3)))
        t += FAKE_WINDOW_S + FAKE_GAP_S
    return steps


def _fake_camera_moves(steps: list[ChallengeStep]) -> list[Motion]:
    amplitude = {"turn_left": 28.0, "turn_right": 28.0, "look_up": 24.0, "look_down": 25.0,
                 "open_mouth": 0.9, "smile": 0.9, "blink": 1.0}
    return [Motion(s.action, s.start_s + FAKE_ONSET_S, 0.2, 0.7, 0.2, amplitude[s.action]) for s in steps]


def _write_mp4_clip(out: Path, name: str, attempt: Attempt) -> None:
    from mediakit.encode import encode_mp4

    frames = attempt.frames
    encode_mp4(out / f"{name}.mp4", (f.image for f in frames), fps=15, crf=23)
    meta = {
        "name": name,
        "made_by": "tools/make_liveness_clips.py",
        "kind": attempt.kind,
        "seed": attempt.seed,
        "variant": attempt.variant,
        "person": "skimage.data.astronaut() (public domain)",
        "size": list(frames[0].image.shape[1::-1]),
        "expected_reason": attempt.expected_reason,
        "steps": steps_to_json(attempt.steps),
        "times_s": [f.t_s for f in frames],
    }
    (out / f"{name}.json").write_text(json.dumps(meta, indent=1) + "\n")


def make_fake_camera(out: Path) -> None:
    steps = fixed_steps_for_fake_camera()
    duration = challenge_duration_s(steps, tail_s=0.5)
    rng = random.Random("fake-camera")
    moves = _fake_camera_moves(steps)
    drift = Wobble.make(rng, [1.5, 1.0])
    # A good webcam in good light: little sensor noise (noise is also what makes MJPEG big).
    camera = replace(CameraStyle.make(rng, FAKE_SIZE), noise_sigma=0.6, jpeg_quality=95, gain=1.0, bias=0.0)
    n = int(duration * FAKE_FPS)
    specs = [FrameSpec(t=i / FAKE_FPS, state=face_state(i / FAKE_FPS, moves, drift)) for i in range(n)]
    genuine = render(specs, camera, seed=1)
    write_mjpeg(out / "fake_camera_genuine.mjpeg", [f.image for f in genuine], repeat=int(MJPEG_FPS / FAKE_FPS), quality=MJPEG_QUALITY)
    # A still photo of the same person, held in front of the camera: 1 s that Chromium loops.
    still = [FrameSpec(t=i / FAKE_FPS) for i in range(int(FAKE_FPS))]
    photo = render(still, camera, seed=2)
    write_mjpeg(out / "fake_camera_photo.mjpeg", [f.image for f in photo], repeat=int(MJPEG_FPS / FAKE_FPS), quality=MJPEG_QUALITY)
    meta = {
        "made_by": "tools/make_liveness_clips.py",
        "genuine_clip": "fake_camera_genuine.mjpeg",
        "photo_clip": "fake_camera_photo.mjpeg",
        "size": list(FAKE_SIZE),
        "file_fps": MJPEG_FPS,
        "content_fps": FAKE_FPS,
        "genuine_clip_s": n / FAKE_FPS,
        "steps": steps_to_json(steps),
        "moves": [{"action": m.action, "onset_s": round(m.onset, 3), "end_s": round(m.end, 3)} for m in moves],
        "tolerated_clock_offset_s": list(FAKE_TOLERATED_OFFSET_S),
        "how_to_use": (
            "Launch Chromium with --use-fake-device-for-media-stream --use-fake-ui-for-media-stream "
            "--use-file-for-fake-video-capture=<clip>. Chromium plays the file from its start when the page "
            "opens the camera, at 30 fps, looping. Issue exactly 'steps' for the genuine clip and start the "
            "challenge clock (t = 0 of the steps and of the frames' capture times) between "
            "tolerated_clock_offset_s[0] and [1] seconds after the camera opened. Send frames at ~15 fps. "
            "Left/right are the user's own: turn_left moves the nose to the image's right edge (unmirrored)."
        ),
    }
    (out / FAKE_CAMERA_JSON).write_text(json.dumps(meta, indent=1) + "\n")


def check(out: Path) -> list[str]:
    """Verify every clip with the real engine; return the mismatches."""
    from charcha.testing.fixtures import load_clip
    from charcha.vision import LivenessVerifier

    verifier = LivenessVerifier(identity_backend="dlib")
    problems = []
    for name in ("genuine_a", "still_photo_a"):
        clip = load_clip(name, out)
        verdict = verifier.verify(clip.frames, clip.steps)
        print(f"{name}: {verdict.reason} ({verdict.detail})")
        if verdict.reason != clip.expected_reason:
            problems.append(f"{name}: got {verdict.reason}, expected {clip.expected_reason}")
    steps = fixed_steps_for_fake_camera()
    duration = challenge_duration_s(steps)
    for offset in (FAKE_TOLERATED_OFFSET_S[0], 0.0, FAKE_TOLERATED_OFFSET_S[1]):
        for clip_name, expected in (("fake_camera_genuine.mjpeg", "passed"), ("fake_camera_photo.mjpeg", "action_missed")):
            # A negative offset: the clock started before the camera delivered its first frame,
            # so the page's first frames are simply later; model it as a later first capture.
            frames = sample_fake_camera(out / clip_name, offset_s=max(offset, 0.0), duration_s=duration - min(offset, 0.0))
            if offset < 0:
                frames = [type(f)(t_s=round(f.t_s - offset, 4), image=f.image) for f in frames]
            verdict = verifier.verify(frames, steps)
            print(f"{clip_name} clock offset {offset:+.1f} s: {verdict.reason} ({verdict.detail})")
            if verdict.reason != expected:
                problems.append(f"{clip_name} at offset {offset}: got {verdict.reason}, expected {expected}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=FIXTURES_DIR)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    _write_mp4_clip(out, "genuine_a", make_attempt("genuine", GENUINE_SEED))
    _write_mp4_clip(out, "still_photo_a", make_attempt("still_photo", STILL_SEED))
    make_fake_camera(out)
    for path in sorted(out.iterdir()):
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")
    if args.check:
        problems = check(out)
        for p in problems:
            print("MISMATCH", p)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
