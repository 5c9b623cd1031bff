"""API keys: minted once, stored as a digest, checked on every request; expiry, revocation and
rotation with a grace period (issue 10, finding 7)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from app.auth import repository
from app.db import transaction
from app.exceptions import Conflict, InvalidInput, NotFound
from app.models import ApiKey

SCOPES = ("read", "write", "admin")
KEY_PREFIX = "ca_live_"  # typed: secret scanners and people can tell what leaked
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class Principal:
    workspace_id: int
    api_key_id: int
    scopes: frozenset[str]
    last_used_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """Scopes nest: admin can write, write can read."""
        needed = SCOPES.index(scope)
        return any(SCOPES.index(held) >= needed for held in self.scopes if held in SCOPES)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_active(key: ApiKey, now: datetime) -> bool:
    return key.revoked_at is None and (key.expires_at is None or key.expires_at > now)


def create_key(
    session: Session,
    *,
    workspace_id: int,
    name: str,
    scopes: list[str],
    now: datetime,
    expires_at: datetime | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; answer it and its secret, which is never shown again."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown scopes: {', '.join(unknown)}" if unknown else "no scope given")
    if expires_at is not None and expires_at <= now:
        raise InvalidInput.at(("body", "expires_at"), "must be in the future")
    public = f"{KEY_PREFIX}{secrets.token_hex(4)}"
    secret = f"{public}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        workspace_id=workspace_id,
        name=name,
        prefix=public,
        key_hash=digest(secret),
        scopes=sorted(set(scopes)),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(key)
    session.flush()
    return key, secret


def mint_key(
    session: Session, *, workspace_id: int, name: str, scopes: list[str], now: datetime
) -> str:
    return create_key(session, workspace_id=workspace_id, name=name, scopes=scopes, now=now)[1]


def authenticate(session: Session, *, secret: str, now: datetime) -> Principal | None:
    key = repository.active_key_by_hash(session, digest(secret), now)
    if key is None:
        return None
    return Principal(
        workspace_id=key.workspace_id,
        api_key_id=key.id,
        scopes=frozenset(key.scopes),
        last_used_at=key.last_used_at,
    )


def note_use(factory: sessionmaker[Session], principal: Principal, now: datetime) -> None:
    """last_used_at, written at most once a minute per key in its own short transaction, so a
    read request holds no write lock while it runs."""
    last = principal.last_used_at
    if last is None or last <= now - LAST_USED_RESOLUTION:
        with transaction(factory) as session:
            repository.touch(session, principal.api_key_id, now, LAST_USED_RESOLUTION)


def get_key(session: Session, *, workspace_id: int, key_id: int) -> ApiKey:
    key = repository.get(session, workspace_id, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} not found")
    return key


def revoke(session: Session, *, key: ApiKey, now: datetime) -> ApiKey:
    """Stops the key at once; refused when it would leave the workspace without an admin key."""
    if key.revoked_at is not None:
        return key
    admins = repository.active_admin_ids(session, key.workspace_id, now)
    if admins == {key.id}:
        raise Conflict("this is the workspace's last active admin key: create another first")
    key.revoked_at = now
    session.flush()
    return key


def rotate(session: Session, *, key: ApiKey, now: datetime, grace: timedelta) -> tuple[ApiKey, str]:
    """A new key with the same name, scopes and expiry; the old one works for ``grace`` more."""
    if not is_active(key, now) or key.replaced_by_id is not None:
        raise Conflict(f"API key {key.id} is revoked, expired or already rotated")
    new, secret = create_key(
        session,
        workspace_id=key.workspace_id,
        name=key.name,
        scopes=list(key.scopes),
        now=now,
        expires_at=key.expires_at,
    )
    ends = now + grace
    key.expires_at = ends if key.expires_at is None else min(key.expires_at, ends)
    key.replaced_by_id = new.id
    session.flush()
    return new, secret
