"""A challenge must match the face the account verified before, when the account keeps one."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from charcha.errors import ERROR_CODES
from charcha.testing.attacks import Attempt
from charcha.vision import FrameObservation, LivenessVerifier, Verdict
from charcha.vision.faces import FaceBox
from charcha.vision.identity import DlibIdentity, self_test_card
from charcha.vision.types import MESSAGES, LivenessInputError
from tests.charcha.vision.conftest import person_b_frames

TEST_CARD_SHA256 = "437f34aa3ca2f8f078da2a9b4f35fa209d7dd2d1b2241ab9591c56d784069bd6"
AttemptFn = Callable[[str, int], Attempt]
VerdictFn = Callable[[str, int], Verdict]
ObservationsFn = Callable[[str, int], list[FrameObservation]]


def _person_b_embedding(verifier: LivenessVerifier) -> np.ndarray:
    frames = person_b_frames([k / 15 for k in range(10)])
    found = [o.embedding for o in verifier.analyse_batch(frames, first_index=0) if o.embedding is not None]
    assert len(found) == 2
    return np.mean(np.stack(found), axis=0)


def test_the_same_person_matches_the_accounts_face(
    verifier: LivenessVerifier, attempt: AttemptFn, verdict: VerdictFn, observations: ObservationsFn
) -> None:
    earlier = verdict("genuine", 0)  # the passed challenge whose embedding the account keeps
    assert earlier.passed and earlier.embedding is not None
    v = verifier.decide(observations("genuine", 1), attempt("genuine", 1).steps, reference_embedding=earlier.embedding)
    assert v.passed, v.detail
    assert "from the account's verified face" in v.detail
    distance = float(v.detail.rsplit("; ", 1)[1].split(" ")[0])
    assert distance < 0.5 * verifier._identity.account_threshold


def test_another_person_is_an_identity_mismatch(
    verifier: LivenessVerifier, attempt: AttemptFn, observations: ObservationsFn
) -> None:
    other = _person_b_embedding(verifier)
    v = verifier.decide(observations("genuine", 1), attempt("genuine", 1).steps, reference_embedding=other)
    assert v.reason == "identity_mismatch", v.detail
    assert v.message == MESSAGES["identity_mismatch"]
    assert v.embedding is None and v.training_frame_indices == ()
    distance = float(v.detail.split(" ")[0])
    assert distance > 1.2 * verifier._identity.account_threshold


def test_without_a_reference_nothing_is_compared(
    verifier: LivenessVerifier, attempt: AttemptFn, observations: ObservationsFn
) -> None:
    v = verifier.decide(observations("genuine", 1), attempt("genuine", 1).steps)
    assert v.passed, v.detail
    assert "account" not in v.detail


class _BatchFaultyNet:
    """dlib's ResNet as a BLAS fault would leave it: right alone, wrong inside a batch."""

    def __init__(self, real: Any) -> None:
        self._real = real

    def compute_face_descriptor(self, chips: Any) -> Any:
        found = self._real.compute_face_descriptor(chips)
        if isinstance(chips, list) and len(chips) > 1:
            return [np.asarray(d) + 0.01 for d in found]
        return found


def test_the_test_card_is_the_same_picture_everywhere() -> None:
    card = self_test_card()
    assert card.shape == (150, 150, 3) and card.dtype == np.uint8
    assert hashlib.sha256(card.tobytes()).hexdigest() == TEST_CARD_SHA256


def test_the_installed_identity_model_passes_its_self_test() -> None:
    # BLAS and BLAS-free dlib builds both land within 4e-6 of the stored descriptor.
    assert DlibIdentity().self_test() < 1e-5


def test_a_strided_picture_is_embedded_as_its_contiguous_copy() -> None:
    # Channels last of a channels-first array, as a diffusion pipeline's frames come out.
    card = self_test_card()
    strided = np.transpose(np.ascontiguousarray(np.transpose(card, (2, 0, 1))), (1, 2, 0))
    assert not strided.flags.c_contiguous
    box = FaceBox(x=20.0, y=15.0, width=110.0, height=120.0, score=1.0)
    identity = DlibIdentity()
    found, expected = identity.embed(strided, box), identity.embed(card, box)
    assert found is not None and expected is not None
    np.testing.assert_array_equal(found, expected)


def test_an_identity_model_that_miscomputes_in_batches_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlib

    real = dlib.face_recognition_model_v1
    monkeypatch.setattr(dlib, "face_recognition_model_v1", lambda path: _BatchFaultyNet(real(path)))
    with pytest.raises(LivenessInputError) as caught:
        DlibIdentity()
    assert caught.value.code == "identity_backend_faulty"
    assert "0.113 away from its known value" in caught.value.message
    assert caught.value.code in ERROR_CODES
