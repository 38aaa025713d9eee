"""System checks: refuse a deployment whose CHARCHA settings would weaken consent or encryption."""

from __future__ import annotations

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
    if not settings.CHARCHA_KEKS:
        problems.append(Warning("CHARCHA_KEKS is not set: users' data keys are wrapped with a key derived from "
                                "SECRET_KEY.", hint="Set CHARCHA_KEKS to id:base64(32 random bytes).",
                                id="charcha.W001"))
    else:
        try:
            parse_keyring(settings.CHARCHA_KEKS, active_id=settings.CHARCHA_ACTIVE_KEK_ID or None)
        except CryptoError as exc:
            problems.append(Error(f"CHARCHA_KEKS is invalid: {exc.message}", id="charcha.E003"))
    if not settings.CHARCHA_AUDIT_SEAL_KEY:
        problems.append(Warning("CHARCHA_AUDIT_SEAL_KEY is not set: consent events are sealed with a key derived "
                                "from SECRET_KEY.", id="charcha.W002"))
    return problems
