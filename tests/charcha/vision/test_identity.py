"""A challenge must match the face the account verified before, when the account keeps one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from charcha.testing.attacks import Attempt
from charcha.vision import FrameObservation, LivenessVerifier, Verdict
from charcha.vision.types import MESSAGES
from tests.charcha.vision.conftest import person_b_frames

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
