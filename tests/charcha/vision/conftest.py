"""Shared, session-scoped material for the liveness engine tests: one verifier, cached attempts."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from charcha.testing.attacks import Attempt, make_attempt
from charcha.vision import LivenessVerifier, Verdict


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
