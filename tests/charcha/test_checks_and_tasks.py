"""Deployment checks for CHARCHA's settings, and the periodic retention task's wiring."""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pytest
from django.conf import settings as django_settings

from charcha.checks import charcha_engine_check, charcha_keys_check, charcha_settings_check, dlib_has_blas
from config.celery import app as celery_app


def ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_fixed_steps_with_debug_off_is_an_error(settings: Any) -> None:
    settings.DEBUG = False
    settings.CHARCHA_TEST_FIXED_STEPS = [{"action": "blink", "start_s": 1.0, "end_s": 2.0}]
    assert ids(charcha_settings_check()) == ["charcha.E001"]
    settings.DEBUG = True
    assert ids(charcha_settings_check()) == []


@pytest.mark.parametrize(("days", "expected"), [(0, ["charcha.E002"]), (1, []), (1095, []), (1096, ["charcha.E002"])])
def test_retention_is_at_most_3_years(settings: Any, days: int, expected: list[str]) -> None:
    settings.CHARCHA_RETENTION_DAYS = days
    assert ids(charcha_settings_check()) == expected


def test_a_malformed_key_ring_is_reported(settings: Any) -> None:
    # Missing keys never reach the checks: settings refuse to start without them (tests/config/test_layout.py).
    settings.CHARCHA_KEKS = "k1:" + base64.b64encode(b"k" * 32).decode()
    assert ids(charcha_keys_check()) == []
    settings.CHARCHA_KEKS = "k1:" + base64.b64encode(b"short").decode()
    assert ids(charcha_keys_check()) == ["charcha.E003"]


@pytest.fixture(autouse=True)
def _worker_tasks() -> None:
    celery_app.loader.import_default_modules()  # what a worker (and beat) does at start


def test_dlib_without_blas_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import dlib

    monkeypatch.setattr(dlib, "DLIB_USE_BLAS", False)
    assert dlib_has_blas() is False
    assert ids(charcha_engine_check()) == ["charcha.W003"]


def test_the_installed_dlib_has_blas() -> None:
    # make install builds dlib against Debian's OpenBLAS; a BLAS-less build misses the latency budget.
    assert dlib_has_blas() is True
    assert charcha_engine_check() == []


def test_the_retention_sweep_is_scheduled_and_registered() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["charcha-retention"]
    assert entry["task"] == "charcha.retention_sweep"
    assert entry["schedule"] == 3600.0
    assert "charcha.retention_sweep" in celery_app.tasks
    assert "charcha.verify_challenge" in celery_app.tasks


@pytest.mark.django_db
def test_the_retention_task_runs_the_sweep() -> None:
    result = celery_app.tasks["charcha.retention_sweep"].apply().get()
    assert result == {"consents_ended": 0, "erasures_resumed": 0, "challenges_expired": 0, "digests_pruned": 0,
                      "decisions_resumed": 0}


def test_an_identity_model_that_miscomputes_is_reported(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    import dlib

    settings.CHARCHA_IDENTITY_BACKEND = "dlib"
    real = dlib.face_recognition_model_v1

    class Skewed:
        def __init__(self, path: str) -> None:
            self._net = real(path)

        def compute_face_descriptor(self, chips: Any) -> Any:
            return [d * 1.5 for d in np.asarray(self._net.compute_face_descriptor(chips))]

    monkeypatch.setattr(dlib, "face_recognition_model_v1", Skewed)
    found = charcha_engine_check()
    assert ids(found) == ["charcha.E004"]
    assert "known value" in found[0].msg
