"""Sign-in for the dashboard: the API key in a Secure, HttpOnly, SameSite=Strict cookie after one
form post, and CSRF tokens for every form that changes something.

Forms posted while signed in carry a token derived from the key in the cookie (a synchronizer
token bound to the session, which a page of another site can neither read nor compute); the
sign-in form, before there is a session, carries a random token that must match its own cookie
(double submit), so another site cannot sign a browser in to a key of its choosing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from fastapi import Request, Response
from sqlalchemy.orm import Session

from app.auth.service import Principal
from app.clock import Clock
from app.deps import authenticate_request

SESSION_COOKIE = "commattr_dashboard"
SIGN_IN_COOKIE = "commattr_dashboard_sign_in"
COOKIE_PATH = "/dashboard"
SESSION_SECONDS = 12 * 3600
SIGN_IN_SECONDS = 3600


class SignInRequired(Exception):
    """No valid key in the cookie: the reader is sent to the sign-in page."""


class AdminOnly(Exception):
    """A page or form for admin keys, asked for with another key: 403."""


@dataclass(frozen=True)
class Viewer:
    principal: Principal
    csrf_token: str

    @property
    def workspace_id(self) -> int:
        return self.principal.workspace_id

    @property
    def is_admin(self) -> bool:
        return self.principal.allows("admin")

    @property
    def can_write(self) -> bool:
        return self.principal.allows("write")


def session_token(secret: str) -> str:
    """The CSRF token of the forms of a session: an HMAC of a fixed label under the key."""
    return hmac.new(secret.encode(), b"commattr-dashboard-csrf", hashlib.sha256).hexdigest()


def current_viewer(request: Request, session: Session, clock: Clock) -> Viewer:
    """The signed-in reader, or SignInRequired. Uses the API's own key check and rate limits."""
    secret = request.cookies.get(SESSION_COOKIE)
    if not secret:
        raise SignInRequired
    principal = authenticate_request(request, session, secret, clock())
    if principal is None:
        raise SignInRequired
    return Viewer(principal=principal, csrf_token=session_token(secret))


def check_form_token(viewer: Viewer, submitted: str) -> bool:
    return hmac.compare_digest(viewer.csrf_token.encode(), submitted.encode())


def new_sign_in_token() -> str:
    """A random token for the sign-in form (``remember_sign_in_token`` sets its cookie)."""
    return secrets.token_urlsafe(32)


def remember_sign_in_token(response: Response, token: str) -> None:
    _set_cookie(response, SIGN_IN_COOKIE, token, SIGN_IN_SECONDS)


def check_sign_in_token(request: Request, submitted: str) -> bool:
    expected = request.cookies.get(SIGN_IN_COOKIE, "")
    return bool(expected) and hmac.compare_digest(expected.encode(), submitted.encode())


def start_session(response: Response, secret: str) -> None:
    _set_cookie(response, SESSION_COOKIE, secret, SESSION_SECONDS)
    response.delete_cookie(SIGN_IN_COOKIE, path=COOKIE_PATH, secure=True, httponly=True)


def end_session(response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path=COOKIE_PATH, secure=True, httponly=True, samesite="strict"
    )


def _set_cookie(response: Response, name: str, value: str, seconds: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=seconds,
        path=COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
