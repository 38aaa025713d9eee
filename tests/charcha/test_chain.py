"""The consent hash chain: links, hashes, seals and the head pointer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from charcha.chain import GENESIS_HASH, ChainEvent, canonical_json, chain_next, chain_verify, format_time

KEY = b"s" * 32
T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def chain(n: int = 3) -> list[ChainEvent]:
    events: list[ChainEvent] = []
    prev = GENESIS_HASH
    for i in range(n):
        event = chain_next(record_id="r1", seq=i + 1, kind=["granted", "withdrawn", "erased"][i % 3],
                           at=T0 + timedelta(minutes=i), actor="user:1", data={"i": i, "note": "é"},
                           prev_hash=prev, key=KEY)
        events.append(event)
        prev = event.hash
    return events


def test_a_clean_chain_verifies() -> None:
    events = chain()
    report = chain_verify(events, record_id="r1", key=KEY, expected_head=events[-1].hash, expected_length=3)
    assert (report.ok, report.length, report.head_hash, report.problems) == (True, 3, events[-1].hash, ())
    assert events[1].prev_hash == events[0].hash


@pytest.mark.parametrize(("index", "change", "problems"), [
    (1, {"data": {"i": 99, "note": "é"}}, ("event 2: content does not match its hash",)),
    (0, {"actor": "admin:2"}, ("event 1: content does not match its hash",)),
    (2, {"at": T0}, ("event 3: content does not match its hash",)),
    (1, {"seal": "0" * 64}, ("event 2: seal is not valid",)),
    (0, {"record_id": "r2"}, ("event 1: belongs to another record", "event 1: content does not match its hash")),
])
def test_any_edit_is_detected(index: int, change: dict[str, object], problems: tuple[str, ...]) -> None:
    events = chain()
    events[index] = replace(events[index], **change)  # type: ignore[arg-type]
    report = chain_verify(events, record_id="r1", key=KEY)
    assert (report.ok, report.problems) == (False, problems)


def test_reordering_removal_and_truncation_are_detected() -> None:
    events = chain()
    swapped = [events[0], events[2], events[1]]
    assert chain_verify(swapped, record_id="r1", key=KEY).problems == (
        "event 3: expected sequence number 2", "event 3: does not link to the event before it",
        "event 2: expected sequence number 3", "event 2: does not link to the event before it")
    middle_removed = [events[0], events[2]]
    assert "event 3: does not link to the event before it" in chain_verify(
        middle_removed, record_id="r1", key=KEY).problems
    # Cutting the tail leaves a valid-looking chain: only the record's head pointer reveals it.
    cut = events[:2]
    assert chain_verify(cut, record_id="r1", key=KEY).ok
    report = chain_verify(cut, record_id="r1", key=KEY, expected_head=events[-1].hash, expected_length=3)
    assert report.problems == ("the record expects 3 events, found 2",
                               "the last event is not the head the record points at")
    assert chain_verify([], record_id="r1", key=KEY).problems == ("the record has no events",)


def test_a_recomputed_hash_without_the_key_fails_the_seal() -> None:
    events = chain(1)
    forged = chain_next(record_id="r1", seq=1, kind="granted", at=T0, actor="user:1", data={"i": 5},
                        prev_hash=GENESIS_HASH, key=b"guess" * 7)
    assert chain_verify([forged], record_id="r1", key=KEY).problems == ("event 1: seal is not valid",)
    assert chain_verify(events, record_id="r1", key=b"other-key").problems == ("event 1: seal is not valid",)


def test_hash_input_is_canonical() -> None:
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()
    other_zone = T0.astimezone(timezone(timedelta(hours=5)))
    assert format_time(other_zone) == format_time(T0) == "2025-03-01T12:00:00.123456+00:00"
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="Out of range float"):
        canonical_json({"x": float("nan")})
