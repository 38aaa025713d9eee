"""Envelope encryption for biometric data: one data key per user, wrapped by a key-encryption key.

The data key (256-bit AES-GCM) encrypts frames and embeddings. Only its wrapped form is stored
(``UserDataKey`` row); the key-encryption keys (KEKs) live in settings, never in the database.
Deleting a user's wrapped data key makes every ciphertext of that user unreadable even where a
copy of a file survives (object-store versions, backups): that is the crypto-shredding that
withdrawal relies on.

Pure Python: no Django here. Every ciphertext is bound to where it belongs through the AES-GCM
associated data, so a file swapped between users or frames fails to decrypt instead of decrypting
into the wrong place.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from mediakit.errors import EncoreError

# A version tag in front of every blob lets a later format coexist with this one.
_BLOB_MAGIC = b"EC1\x00"
_NONCE_BYTES = 12
KEY_BYTES = 32


class CryptoError(EncoreError):
    code = "crypto_error"


@dataclass(frozen=True)
class KeyRing:
    """The key-encryption keys known to this deployment and which one wraps new data keys.

    Old KEKs stay in the ring so data keys wrapped before a rotation still unwrap.
    """

    keys: dict[str, bytes]
    active_id: str

    def __post_init__(self) -> None:
        if self.active_id not in self.keys:
            raise CryptoError(f"The active key-encryption key {self.active_id!r} is not configured.",
                              code="kek_missing")
        for kek_id, key in self.keys.items():
            if len(key) != KEY_BYTES:
                raise CryptoError(f"Key-encryption key {kek_id!r} must be {KEY_BYTES} bytes.", code="kek_invalid")


def parse_keyring(spec: str, *, active_id: str | None = None) -> KeyRing:
    """Parse ``"id1:base64key,id2:base64key"``; the active key is ``active_id`` or the last one."""
    keys: dict[str, bytes] = {}
    last = ""
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        kek_id, sep, encoded = part.partition(":")
        if not sep or not kek_id:
            raise CryptoError("Key-encryption keys are written as id:base64key.", code="kek_invalid")
        try:
            keys[kek_id] = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError(f"Key-encryption key {kek_id!r} is not valid base64.", code="kek_invalid") from exc
        last = kek_id
    if not keys:
        raise CryptoError("No key-encryption key is configured.", code="kek_missing")
    return KeyRing(keys=keys, active_id=active_id or last)


def derive_key(secret: str, *, purpose: str) -> bytes:
    """A 32-byte key derived from a longer secret (used for development defaults and the audit seal).

    HMAC-SHA256 with a purpose label keeps keys for different uses independent of each other.
    """
    return hmac.new(secret.encode(), b"encore.charcha." + purpose.encode(), hashlib.sha256).digest()


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def _seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return _BLOB_MAGIC + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def _open(key: bytes, blob: bytes, aad: bytes) -> bytes:
    if len(blob) < len(_BLOB_MAGIC) + _NONCE_BYTES + 16 or not blob.startswith(_BLOB_MAGIC):
        raise CryptoError("The stored data is not in a format we can decrypt.", code="ciphertext_invalid")
    nonce = blob[len(_BLOB_MAGIC):len(_BLOB_MAGIC) + _NONCE_BYTES]
    try:
        return AESGCM(key).decrypt(nonce, blob[len(_BLOB_MAGIC) + _NONCE_BYTES:], aad)
    except InvalidTag as exc:
        raise CryptoError("The stored data failed its integrity check.", code="ciphertext_invalid") from exc


def wrap_data_key(ring: KeyRing, data_key: bytes, *, owner: str) -> tuple[str, bytes]:
    """Encrypt a data key with the active KEK; returns (kek_id, wrapped key)."""
    if len(data_key) != KEY_BYTES:
        raise CryptoError("A data key must be 32 bytes.", code="data_key_invalid")
    kek = ring.keys[ring.active_id]
    return ring.active_id, _seal(kek, data_key, b"wrap:" + owner.encode())


def unwrap_data_key(ring: KeyRing, kek_id: str, wrapped: bytes, *, owner: str) -> bytes:
    kek = ring.keys.get(kek_id)
    if kek is None:
        raise CryptoError(f"Key-encryption key {kek_id!r} is no longer configured.", code="kek_missing")
    return _open(kek, wrapped, b"wrap:" + owner.encode())


def encrypt_blob(data_key: bytes, plaintext: bytes, *, context: str) -> bytes:
    """Encrypt ``plaintext``; ``context`` (e.g. ``"frame:<user>:<challenge>:<index>"``) must match on decrypt."""
    return _seal(data_key, plaintext, b"blob:" + context.encode())


def decrypt_blob(data_key: bytes, blob: bytes, *, context: str) -> bytes:
    return _open(data_key, blob, b"blob:" + context.encode())
