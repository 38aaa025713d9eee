"""Envelope encryption: data keys wrapped by KEKs, blobs bound to their context."""

from __future__ import annotations

import base64

import pytest

from charcha.crypto import (
    CryptoError,
    KeyRing,
    decrypt_blob,
    derive_key,
    encrypt_blob,
    new_data_key,
    parse_keyring,
    unwrap_data_key,
    wrap_data_key,
)

K1 = bytes(range(32))
K2 = bytes(range(32, 64))


def spec(*pairs: tuple[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in pairs)


def test_blob_round_trip_and_ciphertext_hides_plaintext() -> None:
    key = new_data_key()
    plaintext = b"\xff\xd8\xff\xe0" + b"JFIF face pixels" * 100
    blob = encrypt_blob(key, plaintext, context="frame:1:c:0")
    assert plaintext[:16] not in blob
    assert len(blob) == 4 + 12 + len(plaintext) + 16
    assert decrypt_blob(key, blob, context="frame:1:c:0") == plaintext
    # Fresh nonce each time: the same frame never encrypts to the same bytes.
    assert encrypt_blob(key, plaintext, context="frame:1:c:0") != blob


@pytest.mark.parametrize("mutation", ["context", "key", "bitflip", "truncate", "magic"])
def test_blob_fails_closed(mutation: str) -> None:
    key = new_data_key()
    blob = encrypt_blob(key, b"secret", context="frame:1:c:0")
    context = "frame:1:c:0"
    if mutation == "context":
        context = "frame:2:c:0"
    elif mutation == "key":
        key = new_data_key()
    elif mutation == "bitflip":
        blob = blob[:-1] + bytes([blob[-1] ^ 1])
    elif mutation == "truncate":
        blob = blob[:20]
    else:
        blob = b"XXXX" + blob[4:]
    with pytest.raises(CryptoError) as err:
        decrypt_blob(key, blob, context=context)
    assert err.value.code == "ciphertext_invalid"


def test_data_keys_are_wrapped_per_owner_and_survive_kek_rotation() -> None:
    data_key = new_data_key()
    old_ring = parse_keyring(spec(("k1", K1)))
    kek_id, wrapped = wrap_data_key(old_ring, data_key, owner="user:7")
    assert kek_id == "k1"
    assert data_key not in wrapped
    rotated = parse_keyring(spec(("k1", K1), ("k2", K2)))
    assert rotated.active_id == "k2"
    assert unwrap_data_key(rotated, kek_id, wrapped, owner="user:7") == data_key
    with pytest.raises(CryptoError):
        unwrap_data_key(rotated, kek_id, wrapped, owner="user:8")  # another user's row
    with pytest.raises(CryptoError) as err:
        unwrap_data_key(parse_keyring(spec(("k2", K2))), kek_id, wrapped, owner="user:7")
    assert err.value.code == "kek_missing"


@pytest.mark.parametrize(("text", "active", "code"), [
    ("", None, "kek_missing"),
    ("k1", None, "kek_invalid"),
    ("k1:not base64!", None, "kek_invalid"),
    (spec(("k1", b"short")), None, "kek_invalid"),
    (spec(("k1", K1)), "k9", "kek_missing"),
])
def test_bad_keyrings_are_refused(text: str, active: str | None, code: str) -> None:
    with pytest.raises(CryptoError) as err:
        parse_keyring(text, active_id=active)
    assert err.value.code == code


def test_derived_keys_differ_by_purpose() -> None:
    assert derive_key("s", purpose="kek") != derive_key("s", purpose="consent-chain-seal")
    assert len(derive_key("s", purpose="kek")) == 32
    assert KeyRing(keys={"a": K1}, active_id="a").keys["a"] == K1
