"""Fixtures every test can use. Tests use the database named by DATABASE_URL (PostgreSQL in CI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.test import APIClient

from config.celery import app as celery_app


@pytest.fixture(autouse=True, scope="session")
def _celery_eager() -> None:
    # Unit tests run tasks in-process; tests marked "worker" start real workers instead.
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _isolated_media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.ENCORE_WORK_DIR = tmp_path / "work"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def user(db: None) -> User:
    return User.objects.create_user(username="ada", password="correct horse battery")


@pytest.fixture
def other_user(db: None) -> User:
    return User.objects.create_user(username="bob", password="correct horse battery")


@pytest.fixture
def client_user(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def api_user(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def stored_files(root: Path) -> list[str]:
    """Every file under a media root, relative (for 'nothing was left behind' assertions)."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> None:
    # Rate-limit counters live in the cache, which outlives a test; user ids repeat between tests.
    from django.core.cache import cache

    cache.clear()
