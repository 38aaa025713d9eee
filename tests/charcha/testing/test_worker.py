"""The background analysis thread that browser tests and the live bench use in place of a worker."""

from __future__ import annotations

import threading

import pytest

import charcha.services as services
from charcha.testing.worker import background_analysis


def test_batches_are_analysed_off_the_calling_thread_and_the_enqueue_is_restored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, str]] = []

    def analyse(*, batch_id: int) -> bool:
        seen.append((batch_id, threading.current_thread().name))
        return True

    monkeypatch.setattr(services, "challenge_batch_analyse", analyse)
    before = services._enqueue_analysis
    with background_analysis() as submitted:
        services._enqueue_analysis(7)
        services._enqueue_analysis(8)
    assert [batch for batch, _ in seen] == [7, 8]
    assert all(name.startswith("charcha-analysis") for _, name in seen)
    assert [future.result() for future in submitted] == [True, True]
    assert services._enqueue_analysis is before


def test_an_analysis_that_raised_fails_the_block_and_the_enqueue_is_still_restored(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def analyse(*, batch_id: int) -> bool:
        raise RuntimeError(f"batch {batch_id} broke")

    monkeypatch.setattr(services, "challenge_batch_analyse", analyse)
    before = services._enqueue_analysis
    with pytest.raises(RuntimeError, match="batch 3 broke"), background_analysis():
        services._enqueue_analysis(3)
    assert services._enqueue_analysis is before
