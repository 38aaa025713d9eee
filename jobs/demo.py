"""Stages of `manage.py demo`, registered by the apps that own them.

Each app registers its stages from ``AppConfig.ready()`` (as charcha/erasure.py takes erasure
hooks), so the jobs app names no other app. A stage is the dotted path of a function
``stage(user, out_dir) -> facts``, imported only when the demo runs; stages run in ``order``
(consent 10, song 20, adapter 30, music video 35, soundtrack 40).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DemoStage = Callable[["User", Path], dict[str, Any]]

_STAGES: dict[str, tuple[int, str]] = {}


def demo_stage_register(name: str, stage: str, *, order: int = 100) -> None:
    """Register (or re-register under the same name: ``ready()`` may run more than once)."""
    _STAGES[name] = (order, stage)


def demo_stages_registered() -> list[tuple[str, DemoStage]]:
    ordered = sorted(_STAGES.items(), key=lambda item: (item[1][0], item[0]))
    return [(name, import_string(path)) for name, (_, path) in ordered]
