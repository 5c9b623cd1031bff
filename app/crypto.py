"""Encryption of CRM credentials at rest: Fernet, with rotation through MultiFernet."""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.config import Settings


def _key_file_key(settings: Settings) -> str:
    path = settings.encryption_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(Fernet.generate_key().decode())
    return path.read_text().strip()


def cipher(settings: Settings) -> MultiFernet:
    keys = [k.strip() for k in settings.encryption_keys.split(",") if k.strip()]
    if not keys:
        keys = [_key_file_key(settings)]
    return MultiFernet([Fernet(k.encode()) for k in keys])


def encrypt_json(settings: Settings, value: dict[str, Any]) -> bytes:
    return cipher(settings).encrypt(json.dumps(value, sort_keys=True).encode())


def decrypt_json(settings: Settings, token: bytes) -> dict[str, Any]:
    try:
        decoded: dict[str, Any] = json.loads(cipher(settings).decrypt(token))
    except InvalidToken as error:
        raise ValueError("credentials cannot be decrypted with the configured keys") from error
    return decoded


def rotate(settings: Settings, token: bytes) -> bytes:
    """Re-encrypt with the first (newest) key."""
    return cipher(settings).rotate(token)
