"""Where erasure cascades: apps that build things from a user's biometric data register here.

When consent ends (withdrawn by the user, revoked by an admin, retention reached) charcha erases
its own frames, embedding and the user's data key, and first calls every registered hook so that
adapters trained on those frames and the videos rendered with them go too. Apps register from
``AppConfig.ready()``; this is an explicit call list instead of Django signals so that the order
is fixed, failures stop the erasure, and each hook's count lands in the consent record's event.

    # personalize/apps.py
    def ready(self) -> None:
        from charcha.erasure import erasure_hook_register
        from personalize.services import adapters_erase_for_consent
        erasure_hook_register("personalize.adapters", adapters_erase_for_consent, order=20)

A hook is ``hook(*, user, consent, reason) -> int`` (how many items it erased). It must be
idempotent: a retried erasure calls it again. Videos (order 10) run before adapters (order 20)
because a video points at the adapter it was made with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from charcha.models import ConsentRecord


class ErasureHook(Protocol):
    def __call__(self, *, user: User, consent: ConsentRecord, reason: str) -> int: ...


_HOOKS: dict[str, tuple[int, ErasureHook]] = {}


def erasure_hook_register(name: str, hook: ErasureHook, *, order: int = 100) -> None:
    """Register (or re-register under the same name: ``ready()`` may run more than once)."""
    _HOOKS[name] = (order, hook)


def erasure_hook_unregister(name: str) -> None:
    _HOOKS.pop(name, None)


def erasure_hooks() -> list[tuple[str, ErasureHook]]:
    return [(name, hook) for name, (_, hook) in sorted(_HOOKS.items(), key=lambda item: (item[1][0], item[0]))]
