"""Training material from real capture frames, and the identity score on real faces."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from charcha.testing.fixtures import Clip
from charcha.vision.faces import FaceCounter
from charcha.vision.identity import load_identity_backend
from personalize.lora.data import FrameRun, prepare_dataset
from personalize.lora.errors import LoraError
from personalize.lora.validate import identity_report
from tests.personalize.conftest import KEEP, jpegs


@pytest.fixture(scope="module")
def frames(genuine: Clip) -> list[bytes]:
    return jpegs(genuine)


@pytest.fixture(scope="module")
def dataset(frames: list[bytes]) -> Any:
    stills = [(i, frames[i]) for i in KEEP]
    run = FrameRun(action="turn_right", frames=[(i, frames[i]) for i in range(20, 37)])
    return prepare_dataset(stills, [run], trigger="zovkel", resolution=128, run_frames=5, flip=True, jitter=1,
                           background_weight=0.2, seed=3)


def test_crops_are_centred_on_the_face(dataset: Any) -> None:
    counter = FaceCounter()
    try:
        plain = [s for s in dataset.samples if s.kind == "still" and s.origin.startswith("frame") and
                 "mirrored" not in s.origin and "jitter" not in s.origin]
        assert len(plain) == len(KEEP)
        for sample in plain:
            boxes = counter.detect(sample.pixels[0])
            assert len(boxes) == 1, sample.origin
            box = boxes[0]
            centre = np.array([box.x + box.width / 2, box.y + box.height / 2])
            assert np.all(np.abs(centre - 64) < 0.15 * 128), (sample.origin, centre)
            # The face fills a good part of the crop (head and a little shoulder).
            assert 0.25 * 128 < max(box.width, box.height) < 0.75 * 128
    finally:
        counter.close()


def test_loss_weight_favours_the_person(dataset: Any) -> None:
    for sample in dataset.samples:
        weight = sample.weight
        assert weight.shape == sample.pixels.shape[:3] and weight.dtype == np.float32
        assert float(weight.min()) >= 0.2 - 1e-6 and float(weight.max()) <= 1.0 + 1e-6
        centre = weight[:, 48:80, 48:80].mean()
        corners = np.mean([weight[:, :12, :12].mean(), weight[:, :12, -12:].mean()])
        assert centre > 0.9 and centre > corners + 0.3, sample.origin


def test_augmentation_captions_and_the_clip(dataset: Any) -> None:
    by_origin = {s.origin: s for s in dataset.samples}
    original, mirrored = by_origin[f"frame {KEEP[0]}"], by_origin[f"frame {KEEP[0]} mirrored"]
    assert np.array_equal(mirrored.pixels, original.pixels[:, :, ::-1])
    jittered = by_origin[f"frame {KEEP[0]} jitter 1"]
    assert not np.array_equal(jittered.pixels, original.pixels)
    assert all("zovkel person" in s.caption for s in dataset.samples)
    clips = [s for s in dataset.samples if s.kind == "clip"]
    assert len(clips) == 1 and clips[0].pixels.shape == (5, 128, 128, 3)
    assert clips[0].caption == "a video of zovkel person turning their head to the right"
    # One crop box for the whole clip: the head moves inside it (frames differ), the frame does not jump.
    assert not np.array_equal(clips[0].pixels[0], clips[0].pixels[-1])
    assert dataset.summary() == {"samples": 3 * len(KEEP) + 1, "stills": len(KEEP), "stills_without_face": 0,
                                 "clips": 1}


def _jpeg(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_pictures_without_faces_are_refused() -> None:
    rng = np.random.default_rng(0)
    noise = [(i, _jpeg(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))) for i in range(3)]
    with pytest.raises(LoraError) as err:
        prepare_dataset(noise, [], trigger="zovkel", resolution=32, run_frames=0)
    assert err.value.code == "too_few_faces"


def test_an_undecodable_picture_is_refused() -> None:
    with pytest.raises(LoraError) as err:
        prepare_dataset([(4, b"\xff\xd8\xff not really a jpeg")], [], trigger="zovkel", resolution=32, run_frames=0)
    assert err.value.code == "frame_unreadable"


def test_identity_score_tells_the_person_from_someone_else(genuine: Clip) -> None:
    backend = load_identity_backend("dlib")
    capture = [genuine.frames[i].image for i in KEEP]
    same = identity_report(capture, [genuine.frames[i].image for i in (15, 45, 95, 150)], backend=backend)
    assert same.faces == same.images == 4
    assert same.score is not None and same.score > 0.8
    camera = np.stack([skdata.camera()] * 3, axis=-1)  # a different person (public domain)
    other = identity_report(capture, [camera], backend=backend)
    assert other.faces == 1 and other.score is not None and other.score < 0.4
    assert other.distance is not None and other.distance > backend.threshold
    noise = np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    nobody = identity_report(capture, [noise], backend=backend)
    assert (nobody.score, nobody.faces, nobody.images) == (None, 0, 1) and nobody.spread == same.spread
