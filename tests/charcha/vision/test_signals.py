"""Signals measured on frames of a real photograph moved with the 2.5-D landmark warp."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from charcha.testing.attacks import person_a, plane_homography
from charcha.testing.synth import FaceState
from charcha.vision import ACTIONS, Thresholds
from charcha.vision.actions import action_signal
from charcha.vision.landmarks import NOSE_TIP, FaceMeshRunner
from charcha.vision.signals import Signals, compute_signals, make_baseline

T = Thresholds()
SIZE = (320, 240)


def _frame(state: FaceState, plane: tuple[float, float, float, float] | None = None) -> np.ndarray:
    puppet = person_a(SIZE)
    view = puppet.render(state)
    w, h = puppet.view_size
    # Canonical view -> 320x240 (centre crop at the output's scale), optionally via a flat photo.
    m = np.array([[SIZE[0] / w * 1.15, 0, 0], [0, SIZE[0] / w * 1.15, 0], [0, 0, 1.0]])
    m[0, 2] = SIZE[0] / 2 - m[0, 0] * w / 2
    m[1, 2] = SIZE[1] * 0.47 - m[1, 1] * h * 0.47
    if plane is not None:
        m = m @ plane_homography((w, h), *plane)
    return cv2.warpPerspective(view, m, SIZE, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def _signals(frames: list[np.ndarray], neutral: int = 6) -> tuple[Signals, np.ndarray]:
    with FaceMeshRunner(static=False) as mesh:
        pts = []
        for f in frames:
            lm = mesh.landmarks(np.ascontiguousarray(f))
            assert lm is not None
            pts.append(lm)
    arr = np.stack(pts)
    return compute_signals(arr, make_baseline(arr[:neutral])), arr


def _measure(state: FaceState) -> tuple[Signals, np.ndarray]:
    # Six neutral frames (the baseline), then the move held for three frames.
    return _signals([_frame(FaceState())] * 6 + [_frame(state)] * 3)


def test_turn_left_is_the_users_own_left() -> None:
    """turn_left: the user turns towards their left shoulder; on the unmirrored capture their nose
    moves towards the image's right edge (+x) and the yaw signal is positive."""
    signals, pts = _measure(FaceState(yaw_deg=25))
    assert pts[-1, NOSE_TIP, 0] > pts[0, NOSE_TIP, 0] + 5
    assert signals.yaw[-1] > 1.3 * T.turn
    assert abs(signals.pitch[-1]) < T.nod


def test_turn_right_is_negative_yaw() -> None:
    signals, pts = _measure(FaceState(yaw_deg=-25))
    assert pts[-1, NOSE_TIP, 0] < pts[0, NOSE_TIP, 0] - 5
    assert signals.yaw[-1] < -1.3 * T.turn


@pytest.mark.parametrize(("pitch", "sign"), [(22.0, 1.0), (-24.0, -1.0)])
def test_look_up_and_down(pitch: float, sign: float) -> None:
    signals, _ = _measure(FaceState(pitch_deg=pitch))
    assert sign * signals.pitch[-1] > 1.2 * T.nod
    assert abs(signals.yaw[-1]) < T.turn


def test_blink_mouth_and_smile_are_measured_against_the_neutral_face() -> None:
    neutral, _ = _measure(FaceState())
    # After the first frame (FaceMesh settling) a still, neutral face reads well below every threshold.
    for values, threshold in ((neutral.eye_closure, T.blink), (neutral.mouth_open, T.open_mouth),
                              (neutral.smile, T.smile), (neutral.yaw, T.turn), (neutral.pitch, T.nod)):
        assert np.all(np.abs(values[1:]) < 0.5 * threshold)
    blink, _ = _measure(FaceState(blink=1.0))
    assert blink.eye_closure[-1] > 1.5 * T.blink
    mouth, _ = _measure(FaceState(mouth_open=0.8))
    assert mouth.mouth_open[-1] > 1.5 * T.open_mouth
    assert mouth.eye_closure[-1] < T.blink
    smile, _ = _measure(FaceState(smile=0.8))
    assert smile.smile[-1] > 1.3 * T.smile
    assert smile.mouth_open[-1] < T.open_mouth


@pytest.mark.parametrize(
    "plane",
    [(45.0, 0.0, 0.0, 1.0), (-45.0, 0.0, 0.0, 1.0), (0.0, 45.0, 0.0, 1.0), (0.0, -45.0, 0.0, 1.0),
     (30.0, 30.0, 25.0, 0.85), (0.0, 0.0, 35.0, 0.8)],
)
def test_a_flat_photo_turned_or_tilted_shows_no_head_movement(plane: tuple[float, float, float, float]) -> None:
    """Foreshortening a printed photo changes its outline, not the nose's parallax or the eyelids."""
    frames = [_frame(FaceState())] * 6 + [_frame(FaceState(), plane=plane)] * 3
    signals, _ = _signals(frames)
    for action in ACTIONS:
        # In threshold units; a turn or nod must also beat what foreshortening alone can fake.
        assert action_signal(action, signals, T)[-1] < 1.0, action
    assert signals.plane_tilt_deg[-1] > 20 or plane[2] != 0.0  # the photo really was tilted


def test_plane_tilt_measures_foreshortening() -> None:
    frames = [_frame(FaceState())] * 6 + [_frame(FaceState(), plane=(40.0, 0.0, 0.0, 1.0))] * 2
    frames += [_frame(FaceState(), plane=(0.0, 0.0, 30.0, 1.0))] * 2  # rotated in its own plane only
    signals, _ = _signals(frames)
    assert abs(signals.plane_tilt_deg[7] - 40) < 8
    # In-plane rotation is no tilt. FaceMesh's landmarks on a rotated photo are 1-2 % anisotropic,
    # which reads as up to ~10 degrees (acos is steep near 1); a real 40-degree tilt reads as 40.
    assert signals.plane_tilt_deg[9] < 12
