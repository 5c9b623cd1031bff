"""How each platform signs its requests, checked against a source's current and previous secret.

- Discourse: ``X-Discourse-Event-Signature: sha256=<hex>``, HMAC-SHA256 of the raw body.
- GitHub: ``X-Hub-Signature-256: sha256=<hex>``, HMAC-SHA256 of the raw body.
- Slack (signing secret, v0): ``X-Slack-Signature: v0=<hex>``, HMAC-SHA256 of
  ``v0:{X-Slack-Request-Timestamp}:{body}``; the timestamp within 5 minutes of now.
- Generic: ``X-Commattr-Signature: v1=<hex>``, HMAC-SHA256 of ``{X-Commattr-Timestamp}.{body}``
  (Unix seconds); the timestamp within 5 minutes of now.
Every comparison is constant-time."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from app.exceptions import Unauthorized

TOLERANCE_SECONDS = 300


@dataclass(frozen=True)
class Scheme:
    signature_header: str
    prefix: str
    timestamp_header: str | None = None
    version: str = ""

    def signed_text(self, body: bytes, timestamp: str | None) -> bytes:
        if self.timestamp_header is None:
            return body
        assert timestamp is not None
        if self.version:
            return f"{self.version}:{timestamp}:".encode() + body
        return f"{timestamp}.".encode() + body


SCHEMES = {
    "discourse": Scheme("X-Discourse-Event-Signature", "sha256="),
    "github": Scheme("X-Hub-Signature-256", "sha256="),
    "slack": Scheme("X-Slack-Signature", "v0=", "X-Slack-Request-Timestamp", version="v0"),
    "generic": Scheme("X-Commattr-Signature", "v1=", "X-Commattr-Timestamp"),
}


def sign(kind: str, secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The header value a platform would send (used by tests and by senders of the generic kind)."""
    scheme = SCHEMES[kind]
    digest = hmac.new(secret.encode(), scheme.signed_text(body, timestamp), hashlib.sha256)
    return scheme.prefix + digest.hexdigest()


def verify(
    kind: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    secrets: Sequence[str],
    now: datetime,
) -> None:
    """Raise 401 unless the request is signed with one of the secrets (and fresh, where the
    platform sends a timestamp)."""
    scheme = SCHEMES[kind]
    given = headers.get(scheme.signature_header)
    if not given:
        raise Unauthorized(f"missing {scheme.signature_header}")
    timestamp = None
    if scheme.timestamp_header is not None:
        timestamp = headers.get(scheme.timestamp_header, "")
        if not timestamp.isdigit():
            raise Unauthorized(f"missing or malformed {scheme.timestamp_header}")
        if abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
            raise Unauthorized(
                f"{scheme.timestamp_header} is more than {TOLERANCE_SECONDS // 60} minutes from now"
            )
    for secret in secrets:
        if hmac.compare_digest(sign(kind, secret, body, timestamp), given.strip()):
            return
    raise Unauthorized(f"{scheme.signature_header} does not match the body")
