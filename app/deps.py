"""Annotated dependencies shared by every router."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app import rls
from app.audit import service as audit
from app.auth import service as auth_service
from app.auth.service import Principal
from app.clock import Clock
from app.config import Settings
from app.edge.rate_limit import STATE_KEY as RATE_LIMIT_STATE
from app.edge.rate_limit import RateLimits
from app.exceptions import Forbidden, Unauthorized


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the handler returns, rolled back if it raises.

    Used with ``scope="function"`` (``SessionDep``): the commit runs as soon as the handler returns,
    before the response is sent, so a client told "stored" can read it back from any connection,
    and a commit that fails answers 500 instead of a success. (A yield dependency's default scope
    would run this exit code after the response has gone out.)
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
ClockDep = Annotated[Clock, Depends(get_clock)]
SessionDep = Annotated[Session, Depends(get_session, scope="function")]

_bearer = HTTPBearer(
    auto_error=False, description="An API key made by `commattr create-workspace`."
)


def authenticate_request(
    request: Request, session: Session, secret: str | None, now: datetime
) -> Principal | None:
    """The principal of an API key sent with a request (a header, or the dashboard's cookie), or
    None, counted as a failure of the client's address. Raises a 429 while the address is locked
    out (before the key is looked at) or the key is over its rate limit."""
    limits: RateLimits = request.app.state.rate_limits
    address = request.client.host if request.client else "unknown"
    limits.refuse_locked_out(address)
    rls.begin_lookup(session)
    principal = auth_service.authenticate(session, secret=secret, now=now) if secret else None
    if principal is None:
        limits.note_failure(address)
        return None
    rls.enter_workspace(session, principal.workspace_id)
    request.state.workspace_id = principal.workspace_id  # for the request's log line
    setattr(request.state, RATE_LIMIT_STATE, limits.spend(principal.api_key_id))
    auth_service.note_use(request.app.state.sessionmaker, principal, now)
    return principal


def _principal(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    secret = None if credentials is None else credentials.credentials
    principal = authenticate_request(request, session, secret, clock())
    if principal is None and credentials is None:
        raise Unauthorized("missing Authorization: Bearer <api key>")
    if principal is None:
        raise Unauthorized("unknown or revoked API key")
    return principal


def require(scope: str) -> object:
    """A dependency that admits keys holding ``scope`` (``admin`` implies ``write`` implies ``read``)."""

    def check(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
        if not principal.allows(scope):
            raise Forbidden(f"this API key lacks the '{scope}' scope")
        return principal

    return Depends(check)


async def _audited_admin(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    principal: Annotated[Principal, require("admin")],
) -> AsyncIterator[Principal]:
    """Admin keys are audited: a change that succeeds is logged in its own transaction (the log
    entry is written right after the handler returns, before the commit)."""
    reads = request.method in ("GET", "HEAD", "OPTIONS")
    body = b"" if reads else await request.body()
    yield principal
    if reads:
        return
    route = request.scope.get("route")
    audit.record(
        session,
        workspace_id=principal.workspace_id,
        api_key_id=principal.api_key_id,
        action=f"{request.method} {getattr(route, 'path', request.url.path)}",
        target=dict(request.path_params),
        change=audit.parse_body(body),
        now=clock(),
    )


ReadKey = Annotated[Principal, require("read")]
WriteKey = Annotated[Principal, require("write")]
AdminKey = Annotated[Principal, Depends(_audited_admin, scope="function")]
