"""Secrets for settings: refuse weak or placeholder values, and make development ones per installation.

No secret is ever derived from a constant in the repository: a development machine gets random
secrets generated on first use into its var folder (mode 0600), and a deployment (DEBUG off) must
set its own, which are checked for strength at start. Imported by settings: no Django here.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

# Fragments of the placeholders in platform/env.example and other well-known non-secrets.
PLACEHOLDERS = ("change-me", "changeme", "base64-of", "another-long-random", "example", "secret-key",
                "dev-only", "insecure", "password", "xxxxxxxx")
MIN_LENGTH = 32
MIN_DISTINCT = 12


class WeakSecret(ValueError):
    pass


def secret_problem(value: str) -> str | None:
    """Why ``value`` is not fit to be a secret, or None."""
    lowered = value.lower()
    for fragment in PLACEHOLDERS:
        if fragment in lowered:
            return f"it contains the placeholder text {fragment!r}"
    if len(value) < MIN_LENGTH:
        return f"it has {len(value)} characters; use at least {MIN_LENGTH} random ones"
    if len(set(value)) < MIN_DISTINCT:
        return f"it repeats too few different characters ({len(set(value))}); use random ones"
    return None


def keyring_problem(spec: str) -> str | None:
    """Placeholder or weak key-encryption keys ("id:base64(32 bytes)", comma-separated)."""
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        _, _, encoded = part.partition(":")
        if any(fragment in encoded.lower() for fragment in PLACEHOLDERS):
            return "a key is a placeholder"
        try:
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            return "a key is not base64"
        if len(raw) != 32 or len(set(raw)) < 16:
            return "a key is not 32 random bytes"
    return None


def installation_secret(var_dir: Path, name: str, *, nbytes: int = 48) -> str:
    """A random secret of this installation, made on first use (base64, ``nbytes`` random bytes).

    Created with O_EXCL so that processes starting together agree on one value.
    """
    folder = var_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    value = base64.b64encode(secrets.token_bytes(nbytes)).decode()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value
