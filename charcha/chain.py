"""The hash chain behind consent records: each event commits to the one before it.

``hash = SHA-256(canonical JSON of the event, including prev_hash)`` makes any edit, insertion,
reordering or removal inside the chain visible. A hash chain alone can be recomputed by anyone
who can write to the database, so each hash is also sealed with an HMAC under a key that lives
in the application's settings and not in the database: rewriting history then needs both.

Pure Python: no Django here. The Django side maps rows onto :class:`ChainEvent`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64


def canonical_json(value: Any) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8, no NaN."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


def format_time(at: datetime) -> str:
    """Times enter the hash as UTC ISO-8601 with microseconds, whatever time zone they came in."""
    if at.tzinfo is None:
        raise ValueError("chain times must be timezone-aware")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class ChainEvent:
    record_id: str
    seq: int
    kind: str
    at: datetime
    actor: str
    data: dict[str, Any]
    prev_hash: str
    hash: str = ""
    seal: str = ""

    def payload(self) -> dict[str, Any]:
        return {"record": self.record_id, "seq": self.seq, "kind": self.kind, "at": format_time(self.at),
                "actor": self.actor, "data": self.data, "prev": self.prev_hash}


def event_hash(event: ChainEvent) -> str:
    return hashlib.sha256(canonical_json(event.payload())).hexdigest()


def event_seal(event_hash_hex: str, *, key: bytes) -> str:
    return hmac.new(key, event_hash_hex.encode("ascii"), hashlib.sha256).hexdigest()


def chain_next(*, record_id: str, seq: int, kind: str, at: datetime, actor: str, data: dict[str, Any],
               prev_hash: str, key: bytes) -> ChainEvent:
    """Build the next event with its hash and seal filled in."""
    draft = ChainEvent(record_id=record_id, seq=seq, kind=kind, at=at, actor=actor, data=data, prev_hash=prev_hash)
    digest = event_hash(draft)
    return ChainEvent(record_id=record_id, seq=seq, kind=kind, at=at, actor=actor, data=data,
                      prev_hash=prev_hash, hash=digest, seal=event_seal(digest, key=key))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    length: int
    head_hash: str
    problems: tuple[str, ...] = field(default_factory=tuple)


def chain_verify(events: Sequence[ChainEvent], *, record_id: str, key: bytes,
                 expected_head: str | None = None, expected_length: int | None = None) -> ChainReport:
    """Check sequence numbers, links, hashes and seals of one record's events (in seq order).

    ``expected_head``/``expected_length`` (kept on the record row) catch a chain cut short at its
    end, which the links alone cannot show.
    """
    problems: list[str] = []
    prev = GENESIS_HASH
    for position, event in enumerate(events, start=1):
        where = f"event {event.seq}"
        if event.record_id != record_id:
            problems.append(f"{where}: belongs to another record")
        if event.seq != position:
            problems.append(f"{where}: expected sequence number {position}")
        if event.prev_hash != prev:
            problems.append(f"{where}: does not link to the event before it")
        digest = event_hash(event)
        if not hmac.compare_digest(digest, event.hash):
            problems.append(f"{where}: content does not match its hash")
        if not hmac.compare_digest(event_seal(event.hash, key=key), event.seal):
            problems.append(f"{where}: seal is not valid")
        prev = event.hash
    if not events:
        problems.append("the record has no events")
    if expected_length is not None and expected_length != len(events):
        problems.append(f"the record expects {expected_length} events, found {len(events)}")
    if expected_head is not None and not hmac.compare_digest(expected_head, prev):
        problems.append("the last event is not the head the record points at")
    return ChainReport(ok=not problems, length=len(events), head_hash=prev, problems=tuple(problems))
