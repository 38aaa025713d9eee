"""Streaming verification: batches analysed on their own, stored as bytes, decided at the end."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pytest

from charcha.testing.attacks import Attempt
from charcha.vision import FrameObservation, LivenessInputError, LivenessVerifier, Verdict
from charcha.vision.stream import N_LANDMARKS, PATCH_SIDE
from tests.charcha.vision.conftest import person_b_frames

AttemptFn = Callable[[str, int], Attempt]
VerdictFn = Callable[[str, int], Verdict]


def _analyse(verifier: LivenessVerifier, a: Attempt, size: int = 10) -> list[FrameObservation]:
    out: list[FrameObservation] = []
    for start in range(0, len(a.frames), size):
        out += verifier.analyse_batch(a.frames[start : start + size], first_index=start)
    return out


def _same(x: FrameObservation, y: FrameObservation) -> None:
    assert (x.index, x.t_s, x.width, x.height, x.main_face, x.small_searched) == (
        y.index, y.t_s, y.width, y.height, y.main_face, y.small_searched)
    assert x.sharpness == pytest.approx(y.sharpness, rel=1e-6)
    np.testing.assert_array_equal(x.faces, y.faces)
    for a, b in ((x.landmarks, y.landmarks), (x.patch, y.patch), (x.light, y.light), (x.embedding, y.embedding)):
        assert (a is None) == (b is None)
        if a is not None and b is not None:
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype


def test_observations_survive_bytes_exactly(verifier: LivenessVerifier, attempt: AttemptFn) -> None:
    a = attempt("genuine", 0)
    obs = verifier.analyse_batch(a.frames[:10], first_index=0)
    assert [o.index for o in obs] == list(range(10))
    assert [o.t_s for o in obs] == [f.t_s for f in a.frames[:10]]
    data = FrameObservation.list_to_bytes(obs)
    back = FrameObservation.list_from_bytes(data)
    assert len(back) == 10
    for x, y in zip(obs, back, strict=True):
        _same(x, y)
    _same(FrameObservation.from_bytes(obs[3].to_bytes()), obs[3])
    # Compact: landmarks as float32, the patch as float16, no images.
    assert obs[0].landmarks is not None and obs[0].landmarks.shape == (N_LANDMARKS, 3)
    assert obs[0].landmarks.dtype == np.float32
    assert obs[0].patch is not None and obs[0].patch.shape == (PATCH_SIDE, PATCH_SIDE)
    assert obs[0].patch.dtype == np.float16
    assert len(data) < 85_000  # ~7.8 KB a frame of landmarks and patch, plus the archive
    # Every embed_stride-th frame with a face carries an identity embedding (frames 0 and 5 here).
    assert [o.index for o in obs if o.embedding is not None] == [0, 5]
    assert obs[0].embedding is not None and obs[0].embedding.shape == (128,)


def test_unreadable_bytes_are_an_input_error() -> None:
    for data in (b"", b"not an archive", FrameObservation.list_to_bytes([])[:-20]):
        with pytest.raises(LivenessInputError) as err:
            FrameObservation.list_from_bytes(data)
        assert err.value.code == "observations_invalid"


def test_a_batch_is_analysed_the_same_whoever_analyses_it_when(verifier: LivenessVerifier, attempt: AttemptFn) -> None:
    """Pure per batch: no tracking state or stride leaks in from the batch analysed before."""
    a = attempt("genuine", 1)
    first = verifier.analyse_batch(a.frames[30:40], first_index=30)
    verifier.analyse_batch(a.frames[0:10], first_index=0)
    verifier.analyse_batch(attempt("genuine", 2).frames[50:60], first_index=50)
    again = verifier.analyse_batch(a.frames[30:40], first_index=30)
    for x, y in zip(first, again, strict=True):
        _same(x, y)


def test_decide_from_stored_batches_in_any_order_equals_verify(
    verifier: LivenessVerifier, attempt: AttemptFn, verdict: VerdictFn
) -> None:
    a = attempt("genuine", 3)
    batches = [FrameObservation.list_to_bytes(verifier.analyse_batch(a.frames[s : s + 10], first_index=s))
               for s in range(0, len(a.frames), 10)]
    random.Random(0).shuffle(batches)
    obs = [o for b in batches for o in FrameObservation.list_from_bytes(b)]
    loads: list[Sequence[int]] = []

    def load(indices: Sequence[int]) -> list[np.ndarray]:
        loads.append(list(indices))
        return [a.frames[i].image for i in indices]

    decided = verifier.decide(obs, a.steps, load_images=load)
    whole = verdict("genuine", 3)
    assert decided.passed and whole.passed, (decided.detail, whole.detail)
    assert decided.training_frame_indices == whole.training_frame_indices
    assert [s.seen_at_s for s in decided.steps] == [s.seen_at_s for s in whole.steps]
    assert decided.identity_distance_max == pytest.approx(whole.identity_distance_max)
    assert loads == []  # a genuine attempt has no appearance jump: no image is read back


def test_a_swap_between_two_batches_is_found_with_the_images_read_back(
    verifier: LivenessVerifier, attempt: AttemptFn
) -> None:
    """Person B takes over exactly at a batch boundary: the jump lies between two batches."""
    a = attempt("genuine", 4)
    cut = 60
    frames = a.frames[:cut] + person_b_frames([f.t_s for f in a.frames[cut:]])
    obs = _analyse(verifier, replace(a, frames=frames))
    loads: list[list[int]] = []

    def load(indices: Sequence[int]) -> list[np.ndarray]:
        loads.append(list(indices))
        return [frames[i].image for i in indices]

    v = verifier.decide(obs, a.steps, load_images=load)
    assert v.reason == "identity_changed", v.detail
    assert loads == [[cut - 1]]  # frame 60 is a stride frame and already embedded
    assert v.identity_distance_max is not None and v.identity_distance_max > 0.6


def test_decide_refuses_malformed_observations(verifier: LivenessVerifier, attempt: AttemptFn) -> None:
    a = attempt("genuine", 0)
    obs = verifier.analyse_batch(a.frames[:10], first_index=0)
    with pytest.raises(LivenessInputError) as err:
        verifier.decide(obs + obs[:1], a.steps)
    assert err.value.code == "observations_invalid"
    with pytest.raises(LivenessInputError) as err:
        verifier.decide([], a.steps)
    assert err.value.code == "frames_empty"
    with pytest.raises(LivenessInputError) as err:
        verifier.decide(obs[:5] + [replace(o, width=640) for o in obs[5:]], a.steps)
    assert err.value.code == "frame_invalid"
    with pytest.raises(LivenessInputError) as err:
        verifier.analyse_batch(a.frames[:10], first_index=-1)
    assert err.value.code == "frame_invalid"


def test_a_stream_cut_short_is_too_few_frames(verifier: LivenessVerifier, attempt: AttemptFn) -> None:
    a = attempt("genuine", 0)
    obs = _analyse(verifier, a)
    v = verifier.decide(obs[:-40], a.steps)
    assert v.reason == "too_few_frames", v.detail
    # A batch lost in the middle is a hole in the capture times.
    v = verifier.decide(obs[:50] + obs[60:], a.steps)
    assert v.reason == "timing_invalid", v.detail

