"""Shared, session-scoped material for the liveness engine tests: one verifier, cached attempts."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import pytest

from charcha.testing.attacks import SIZE, Attempt, CameraStyle, FrameSpec, make_attempt, render
from charcha.vision import CapturedFrame, FrameObservation, LivenessVerifier, Verdict


@pytest.fixture(scope="session")
def verifier() -> Iterator[LivenessVerifier]:
    v = LivenessVerifier(identity_backend="dlib")
    yield v
    v.close()


@pytest.fixture(scope="session")
def attempt() -> Callable[[str, int], Attempt]:
    cache: dict[tuple[str, int], Attempt] = {}

    def get(kind: str, seed: int) -> Attempt:
        if (kind, seed) not in cache:
            cache[(kind, seed)] = make_attempt(kind, seed)
        return cache[(kind, seed)]

    return get


@pytest.fixture(scope="session")
def verdict(verifier: LivenessVerifier, attempt: Callable[[str, int], Attempt]) -> Callable[[str, int], Verdict]:
    cache: dict[tuple[str, int], Verdict] = {}

    def get(kind: str, seed: int) -> Verdict:
        if (kind, seed) not in cache:
            a = attempt(kind, seed)
            cache[(kind, seed)] = verifier.verify(a.frames, a.steps)
        return cache[(kind, seed)]

    return get


def person_b_frames(times: Sequence[float], seed: int = 0) -> list[CapturedFrame]:
    """The photographer (skimage's camera(), not person A) facing the camera, at these times."""
    specs = [FrameSpec(t=t, person="b") for t in times]
    return render(specs, CameraStyle.make(random.Random(f"b:{seed}"), SIZE), seed)


@pytest.fixture(scope="session")
def observations(verifier: LivenessVerifier, attempt: Callable[[str, int], Attempt]) -> Callable[[str, int], list[FrameObservation]]:
    """An attempt analysed batch by batch, as the server's per-batch task does (cached)."""
    cache: dict[tuple[str, int], list[FrameObservation]] = {}

    def get(kind: str, seed: int) -> list[FrameObservation]:
        if (kind, seed) not in cache:
            frames = attempt(kind, seed).frames
            cache[(kind, seed)] = [o for s in range(0, len(frames), 10)
                                   for o in verifier.analyse_batch(frames[s : s + 10], first_index=s)]
        return cache[(kind, seed)]

    return get
