"""The 3-D head used as genuine test material: it acts every action, and it reflects the screen's
light like a face (more where it faces the screen), which a flat photo does not."""

from __future__ import annotations

import random

import numpy as np
import pytest

from charcha.testing import attacks as A
from charcha.testing.head3d import (
    Camera,
    HeadActor,
    HeadModel,
    HeadPose,
    HeadRenderer,
    Lighting,
    encode_srgb,
    head_model,
    screen_light,
)
from charcha.vision import light as L
from charcha.vision.landmarks import LEFT_EYE_LOWER, LEFT_EYE_UPPER, NOSE_TIP, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER


@pytest.fixture(scope="module")
def model() -> HeadModel:
    return head_model(A.photo("astronaut"))


@pytest.fixture(scope="module")
def renderer(model: HeadModel) -> HeadRenderer:
    return HeadRenderer(model, size=(320, 240))


def test_render_is_an_rgb_frame_and_repeatable(renderer: HeadRenderer) -> None:
    a = renderer.render(HeadPose(yaw_deg=10), (120, 200, 90))
    assert a.shape == (240, 320, 3) and a.dtype == np.uint8
    assert np.array_equal(a, renderer.render(HeadPose(yaw_deg=10), (120, 200, 90)))


def test_render_is_the_sum_of_the_room_and_screen_layers(renderer: HeadRenderer) -> None:
    pose = HeadPose(pitch_deg=5, smile=0.5)
    rgb = (60, 150, 240)
    a, b = renderer.layers(pose)
    expected = encode_srgb(a + screen_light(rgb) * b)
    assert np.abs(renderer.render(pose, rgb).astype(int) - expected.astype(int)).max() <= 1


def test_every_action_moves_the_landmarks_the_verifier_reads(renderer: HeadRenderer) -> None:
    neutral = renderer.landmarks(HeadPose())
    iod = float(np.linalg.norm(neutral[468, :2] - neutral[473, :2]))
    # Yaw > 0 is a turn to the user's own left: the nose moves to +x; pitch > 0 (looking up): -y.
    assert renderer.landmarks(HeadPose(yaw_deg=25))[NOSE_TIP, 0] - neutral[NOSE_TIP, 0] > 0.3 * iod
    assert renderer.landmarks(HeadPose(yaw_deg=-25))[NOSE_TIP, 0] - neutral[NOSE_TIP, 0] < -0.3 * iod
    assert renderer.landmarks(HeadPose(pitch_deg=20))[NOSE_TIP, 1] - neutral[NOSE_TIP, 1] < -0.2 * iod

    def eye_opening(lm: np.ndarray) -> float:
        return float(np.mean(lm[RIGHT_EYE_LOWER, 1] - lm[RIGHT_EYE_UPPER, 1]) + np.mean(lm[LEFT_EYE_LOWER, 1] - lm[LEFT_EYE_UPPER, 1]))

    assert eye_opening(renderer.landmarks(HeadPose(blink=1.0))) < 0.25 * eye_opening(neutral)
    gap = renderer.landmarks(HeadPose(mouth_open=1.0))
    assert gap[14, 1] - gap[13, 1] > (neutral[14, 1] - neutral[13, 1]) + 0.25 * iod
    smile = renderer.landmarks(HeadPose(smile=1.0))
    assert smile[291, 0] - smile[61, 0] > 1.1 * (neutral[291, 0] - neutral[61, 0])


def _relative_gains(landmarks: np.ndarray, image_a: np.ndarray, image_ab: np.ndarray) -> np.ndarray:
    low = L.measure_regions(image_a, landmarks)
    high = L.measure_regions(image_ab, landmarks)
    return (high / low - 1.0).mean(axis=1)


def test_the_screen_brightens_the_cheeks_more_than_the_flanks(model: HeadModel) -> None:
    # A room lit from all around: what is left of the response's shape is the face's geometry.
    renderer = HeadRenderer(model, size=(320, 240), lighting=Lighting(ambient=0.6, room=0.0, screen=0.4))
    pose = HeadPose()
    lm = renderer.landmarks(pose)
    gains = _relative_gains(lm, renderer.render(pose, (0, 0, 0)), renderer.render(pose, (255, 255, 255)))
    names = L.REGION_NAMES
    for cheek, flank in (("cheek_right", "side_right"), ("cheek_left", "side_left")):
        assert gains[names.index(cheek)] > 1.4 * gains[names.index(flank)]
    # The wall behind the head is far from the screen.
    assert gains[L.BACKGROUND] < 0.3 * gains[names.index("forehead")]


def test_a_flat_photo_of_the_same_face_responds_evenly() -> None:
    from charcha.vision.landmarks import FaceMeshRunner
    from charcha.vision.types import LightSegment

    steps = [A.ChallengeStep("smile", 1.0, 1.5)]  # a short clip: 2.3 s
    images = {}
    for name, rgb in (("dark", (0, 0, 0)), ("bright", (255, 255, 255))):
        # The same photo, pose and room (same seed) under a dark and a white screen; an ideal camera.
        ideal = Camera(noise_sigma=0.0, jpeg_quality=100, ae_strength=0.0, awb_strength=0.0)
        frames = A.flat_photo(A.photo("astronaut"), steps, [LightSegment(rgb, -1.0, 2.0)], 15.0, random.Random(5),
                              variant="tilted", camera=ideal)
        images[name] = frames[5].image
    with FaceMeshRunner(static=True) as mesh:
        lm = mesh.landmarks(images["bright"])
    assert lm is not None
    gains = _relative_gains(lm, images["dark"], images["bright"])
    names = L.REGION_NAMES
    for cheek, flank in (("cheek_right", "side_right"), ("cheek_left", "side_left")):
        assert gains[names.index(cheek)] == pytest.approx(gains[names.index(flank)], rel=0.1)


def test_the_actor_reacts_after_a_human_delay_and_blinks_by_itself() -> None:
    actor = HeadActor(random.Random(1), duration_s=30.0)
    move = actor.cue("turn_left", 2.0)
    assert 2.25 <= move.onset <= 2.55
    assert actor.pose(move.onset + move.ramp_in + 0.05).yaw_deg > 15
    follow = actor.cue("smile", 2.1)
    assert follow.onset >= move.end + 0.1  # one move at a time
    blinks = [m for m in actor.moves if m.action == "blink"]
    assert 3 <= len(blinks) <= 15  # ~15 a minute over 30 s


def test_the_camera_is_repeatable_for_a_seed(renderer: HeadRenderer) -> None:
    frame = renderer.render(HeadPose(), (200, 200, 200))
    a = Camera(seed=4).capture(frame, 0.5)
    b = Camera(seed=4).capture(frame, 0.5)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, Camera(seed=5).capture(frame, 0.5))
