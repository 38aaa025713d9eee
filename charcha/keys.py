"""Keys from settings and each user's data key row (see charcha.crypto for the scheme)."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from charcha.crypto import KeyRing, derive_key, new_data_key, parse_keyring, unwrap_data_key, wrap_data_key
from charcha.models import UserDataKey


def keyring() -> KeyRing:
    """The KEKs from ``CHARCHA_KEKS`` (settings make a per-installation one on a development machine)."""
    return parse_keyring(settings.CHARCHA_KEKS, active_id=settings.CHARCHA_ACTIVE_KEK_ID or None)


def audit_seal_key() -> bytes:
    return derive_key(settings.CHARCHA_AUDIT_SEAL_KEY, purpose="consent-chain-seal")


def _owner(user_id: int) -> str:
    return f"user:{user_id}"


def user_data_key(*, user_id: int, create: bool) -> bytes | None:
    """The user's unwrapped data key; created on first use when ``create``; None when there is none."""
    row = UserDataKey.objects.filter(user_id=user_id).first()
    if row is None:
        if not create:
            return None
        kek_id, wrapped = wrap_data_key(keyring(), new_data_key(), owner=_owner(user_id))
        try:
            with transaction.atomic():
                row = UserDataKey.objects.create(user_id=user_id, kek_id=kek_id, wrapped_key=wrapped)
        except IntegrityError:
            # Two first frames of one user at once: both use the key that won.
            row = UserDataKey.objects.get(user_id=user_id)
    return unwrap_data_key(keyring(), row.kek_id, bytes(row.wrapped_key), owner=_owner(user_id))


def user_data_key_destroy(*, user_id: int) -> int:
    """Crypto-shredding: without this row no ciphertext of the user can be read again."""
    deleted, _ = UserDataKey.objects.filter(user_id=user_id).delete()
    return deleted
