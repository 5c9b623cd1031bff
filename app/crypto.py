"""Encryption of CRM credentials at rest: Fernet, with rotation through MultiFernet."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.config import Settings


def _key_file_key(settings: Settings) -> str:
    path = settings.key_file()
    if not path.exists():
        _create_key_file(path)
    return path.read_text().strip()


def _create_key_file(path: Path) -> None:
    """Write a new key beside ``path`` and link it into place: a server and a worker starting
    together never see a half-written file, and the first one's key wins."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".key-", delete=False) as new:
        os.chmod(new.name, 0o600)
        new.write(Fernet.generate_key().decode())
    try:
        os.link(new.name, path)
    except FileExistsError:
        pass  # another process made it first: use theirs
    finally:
        os.unlink(new.name)


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
