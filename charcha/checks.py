"""System checks: refuse a deployment whose CHARCHA settings would weaken consent or encryption."""

from __future__ import annotations

import importlib.util
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register


@register(Tags.security)
def charcha_settings_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    problems: list[CheckMessage] = []
    if settings.CHARCHA_TEST_FIXED_STEPS and not settings.DEBUG:
        problems.append(Error("CHARCHA_TEST_FIXED_STEPS is set with DEBUG off.",
                              hint="It is a test hook; remove it. It is ignored outside DEBUG and tests.",
                              id="charcha.E001"))
    if not 1 <= settings.CHARCHA_RETENTION_DAYS <= 3 * 365:
        problems.append(Error("CHARCHA_RETENTION_DAYS must be between 1 and 1095 (3 years).", id="charcha.E002"))
    return problems


@register(Tags.security, deploy=True)
def charcha_keys_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from charcha.crypto import CryptoError, parse_keyring

    problems: list[CheckMessage] = []
    # Settings refuse to start without keys when DEBUG is off; this catches a malformed key ring.
    try:
        parse_keyring(settings.CHARCHA_KEKS, active_id=settings.CHARCHA_ACTIVE_KEK_ID or None)
    except CryptoError as exc:
        problems.append(Error(f"CHARCHA_KEKS is invalid: {exc.message}", id="charcha.E003"))
    return problems


def dlib_has_blas() -> bool | None:
    """Whether the installed dlib was built with BLAS; None when dlib is not installed."""
    if importlib.util.find_spec("dlib") is None:
        return None
    import dlib

    return bool(dlib.DLIB_USE_BLAS)


@register(Tags.compatibility, deploy=True)
def charcha_engine_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # Without BLAS one dlib face embedding takes ~75 ms instead of ~15 ms, and a 10-second challenge
    # no longer verifies within its 1-second budget (bench/liveness.py).
    blas = dlib_has_blas()
    if blas is False:
        return [Warning("dlib was built without BLAS: face identity checks are about 5x slower.",
                        hint="apt-get install libopenblas-dev, then pip install --force-reinstall --no-cache-dir "
                             "--no-binary dlib dlib==20.0.1", id="charcha.W003")]
    if blas and settings.CHARCHA_IDENTITY_BACKEND in ("dlib", "auto"):
        from charcha.vision.identity import DlibIdentity, insightface_model_dir
        from charcha.vision.types import LivenessInputError

        if settings.CHARCHA_IDENTITY_BACKEND == "dlib" or insightface_model_dir() is None:
            # Loading runs the model's self-test on a fixed picture (~0.5 s).
            try:
                DlibIdentity()
            except LivenessInputError as exc:
                return [Error(exc.message, id="charcha.E004")]
    return []
