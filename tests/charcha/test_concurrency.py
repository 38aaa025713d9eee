"""Races against the real database: threads with their own connections, released together."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.utils import timezone

from charcha.errors import ChallengeError
from charcha.models import Challenge, ConsentEvent, ConsentRecord
from charcha.services import challenge_finish, challenge_verdict_apply, consent_verify, consent_withdraw
from jobs.models import Job
from tests.charcha.conftest import at, cadence, issue, passing_verdict, stream

THREADS = 4


def race(work: Callable[[], str], threads: int = THREADS) -> list[str]:
    """Run ``work`` in ``threads`` threads that start at the same instant; collect their outcomes."""
    barrier = threading.Barrier(threads)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait()
            outcome = work()
        except ChallengeError as exc:
            outcome = exc.code
        except OperationalError:
            outcome = "database_busy"  # SQLite refusing a second writer: also not a success
        finally:
            connection.close()
        with lock:
            outcomes.append(outcome)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=60)
    return sorted(outcomes)


def streamed(user: User, now: datetime) -> tuple[Challenge, str]:
    issued = issue(user, now)
    stream(user, issued, cadence(6))
    return issued.challenge, issued.nonce


@pytest.mark.django_db(transaction=True)
def test_concurrent_finishes_start_one_verification(user: User, settings: object) -> None:
    challenge, nonce = streamed(user, timezone.now())

    def finish() -> str:
        challenge_finish(user=user, challenge_id=challenge.pk, nonce=nonce, now=at(challenge, 800))
        return "finished"

    outcomes = race(finish)
    assert outcomes.count("finished") == 1
    assert all(o in ("challenge_not_open", "database_busy") for o in outcomes if o != "finished")
    challenge.refresh_from_db()
    # Each batch was analysed on arrival (eagerly, on commit) with the real engine, so the one
    # finish that got through decided inline, without a verify job: 0.3 s of frames cannot cover
    # a challenge whose prompts run for 10 s.
    assert Job.objects.filter(kind=Job.Kind.VERIFY).count() == 0
    assert challenge.verdict["timings"]["inline"] is True
    assert (challenge.state, challenge.reason) == (Challenge.State.FAILED, "too_few_frames")


@pytest.mark.django_db(transaction=True)
def test_concurrent_verdicts_for_one_challenge_record_one_consent(user: User) -> None:
    challenge, _ = streamed(user, timezone.now())
    Challenge.objects.filter(pk=challenge.pk).update(state=Challenge.State.VERIFYING)
    challenge.refresh_from_db()
    verdict = passing_verdict(challenge, (0, 2))

    def apply() -> str:
        return challenge_verdict_apply(challenge=challenge, verdict=verdict).state

    outcomes = race(apply)
    # Every call that got through reports the one pass; none makes a second record.
    assert set(outcomes) <= {"passed", "database_busy"}
    assert "passed" in outcomes
    assert ConsentRecord.objects.filter(user=user).count() == 1
    assert ConsentEvent.objects.filter(record__user=user).count() == 1
    assert consent_verify(consent=ConsentRecord.objects.get(user=user)).ok


@pytest.mark.django_db(transaction=True)
def test_concurrent_withdrawals_end_the_consent_once(user: User) -> None:
    challenge, _ = streamed(user, timezone.now())
    Challenge.objects.filter(pk=challenge.pk).update(state=Challenge.State.VERIFYING)
    challenge.refresh_from_db()
    challenge_verdict_apply(challenge=challenge, verdict=passing_verdict(challenge, (1,)))
    consent = ConsentRecord.objects.get(user=user)

    def withdraw() -> str:
        return consent_withdraw(consent=ConsentRecord.objects.get(pk=consent.pk), by=user,
                                now=consent.granted_at + timedelta(minutes=5)).end_reason

    outcomes = race(withdraw)
    assert outcomes.count("withdrawn") == 1
    assert set(outcomes) <= {"withdrawn", "consent_already_ended", "database_busy"}
    consent.refresh_from_db()
    assert list(ConsentEvent.objects.filter(record=consent).order_by("seq").values_list("kind", flat=True)) == [
        "granted", "withdrawn", "erased"]
    assert consent_verify(consent=consent).ok
