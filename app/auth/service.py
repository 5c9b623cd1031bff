"""API keys: minted once, stored as a digest, checked on every request."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.auth import repository
from app.models import ApiKey

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "ca"


@dataclass(frozen=True)
class Principal:
    workspace_id: int
    api_key_id: int
    scopes: frozenset[str]

    def allows(self, scope: str) -> bool:
        """Scopes nest: admin can write, write can read."""
        needed = SCOPES.index(scope)
        return any(SCOPES.index(held) >= needed for held in self.scopes if held in SCOPES)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_key(
    session: Session, *, workspace_id: int, name: str, scopes: list[str], now: datetime
) -> str:
    """Store a new key and return its secret, which is never shown again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}")
    public = secrets.token_hex(4)
    secret = f"{KEY_PREFIX}_{public}_{secrets.token_urlsafe(32)}"
    session.add(
        ApiKey(
            workspace_id=workspace_id,
            name=name,
            prefix=public,
            key_hash=digest(secret),
            scopes=sorted(set(scopes)),
            created_at=now,
        )
    )
    session.flush()
    return secret


def authenticate(session: Session, *, secret: str) -> Principal | None:
    key = repository.active_key_by_hash(session, digest(secret))
    if key is None:
        return None
    return Principal(workspace_id=key.workspace_id, api_key_id=key.id, scopes=frozenset(key.scopes))
