"""Credentials of one HubSpot connection: a private app token, or an OAuth app's refresh grant."""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors.errors import InvalidCredentials

DEFAULT_BASE_URL = "https://api.hubapi.com"


@dataclass(frozen=True)
class HubSpotCredentials:
    """Either ``access_token`` alone (a private app: it never expires, so a 401 is final) or
    ``client_id``, ``client_secret`` and ``refresh_token`` (an OAuth app; ``access_token`` may
    carry a still-valid token, and a new one is fetched from ``POST /oauth/v1/token`` when
    HubSpot reports it expired). ``base_url`` points the client elsewhere, e.g. at a test fake."""

    access_token: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL

    def __post_init__(self) -> None:
        oauth_parts = {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        missing = [name for name, value in oauth_parts.items() if not value]
        if len(missing) not in (0, len(oauth_parts)):
            raise InvalidCredentials(
                missing[0], "OAuth needs client_id, client_secret and refresh_token together"
            )
        if not self.access_token and missing:
            raise InvalidCredentials(
                "access_token", "HubSpot needs a private app access_token or OAuth credentials"
            )

    @property
    def is_oauth(self) -> bool:
        return self.refresh_token is not None
