"""Quotas people and operators expect: how many sign-ups, challenges, uploads and jobs in a window.

Counted in the cache (Redis in production, so every web process and worker shares the counts) with
a fixed window per scope and key. A refusal raises RateLimited (HTTP 429 with Retry-After through
the API; a message on the pages) before anything is created.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache

from jobs.errors import RateLimited

PERIODS_S = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """``"20/hour"`` -> (20, 3600)."""
    count, _, period = rate.partition("/")
    return int(count), PERIODS_S[period.strip().rstrip("s")]


def rate_limit(scope: str, key: object, *, now: float | None = None) -> None:
    """Count one more ``scope`` action for ``key`` (a user id, an IP); raise RateLimited past the quota."""
    rate = settings.ENCORE_RATE_LIMITS.get(scope)
    if not rate:
        return
    limit, period_s = parse_rate(rate)
    now = time.time() if now is None else now
    window = int(now // period_s)
    cache_key = f"rl:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=period_s + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=period_s + 5)
        count = 1
    if count > limit:
        retry_after = max(1, int((window + 1) * period_s - now + 0.999))
        raise RateLimited(f"You have reached the limit of {limit} {SCOPE_WORDS.get(scope, scope)} per "
                          f"{_period_word(period_s)}. Try again in {_duration(retry_after)}.",
                          retry_after_s=retry_after)


SCOPE_WORDS = {"signup": "new accounts from one place", "challenge": "consent attempts", "upload": "uploads",
               "job": "new jobs"}


def _period_word(period_s: int) -> str:
    return {v: k for k, v in PERIODS_S.items()}[period_s]


def _duration(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 7200:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"
