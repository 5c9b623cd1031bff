"""HubSpotConnector: the connector protocol (connectors.base.Connector) for HubSpot CRM."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from connectors.base import (
    ApiUsage,
    ConnectionCheck,
    FieldMapping,
    LinkStream,
    RecordKind,
    Stream,
)
from connectors.hubspot.auth import HubSpotCredentials
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.errors import AuthenticationFailed, ScopeMissing
from connectors.hubspot.search import ID_PROPERTY
from connectors.hubspot.streams import (
    CompanyLinkStream,
    CompanyStream,
    ContactStream,
    DealContactStream,
    DealStream,
    MarketingTouchStream,
    ObjectStream,
)
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy

MAX_PAGE_SIZE = 200  # HubSpot's search limit per request
MARKETING_EVENTS_SCOPE = "crm.objects.marketing_events.read"
FORMS_SCOPE = "forms"


class HubSpotConnector:
    """Companies, contacts, deals, deal→contact links, every company link, and marketing event
    participations as campaign touches of one HubSpot account. HubSpot has no leads here.

    ``default_currency`` is the currency of deals without ``deal_currency_code`` (HubSpot's
    account currency); ``page_size`` is the search page size."""

    source = "hubspot"

    def __init__(
        self,
        credentials: HubSpotCredentials,
        mapping: FieldMapping,
        retry: RetryPolicy,
        *,
        default_currency: str = "USD",
        page_size: int = MAX_PAGE_SIZE,
        guard: OutboundGuard = OutboundGuard(),
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        self._client = HubSpotClient(credentials, retry, guard=guard)
        self._objects: tuple[ObjectStream, ...] = (
            CompanyStream(self._client, mapping, page_size=page_size),
            ContactStream(self._client, mapping, page_size=page_size),
            DealStream(
                self._client, mapping, page_size=page_size, default_currency=default_currency
            ),
        )
        self._streams: dict[RecordKind, Stream | LinkStream] = {
            stream.kind: stream for stream in self._objects
        }
        self._streams[RecordKind.OPPORTUNITY_CONTACT] = DealContactStream(self._client)
        self._streams[RecordKind.ACCOUNT_LINK] = CompanyLinkStream(self._client)
        self._streams[RecordKind.CAMPAIGN_TOUCH] = MarketingTouchStream(
            self._client, mapping, page_size=page_size
        )

    @property
    def on_token_rotated(self) -> Callable[[str], None] | None:
        return self._client.on_token_rotated

    @on_token_rotated.setter
    def on_token_rotated(self, callback: Callable[[str], None] | None) -> None:
        self._client.on_token_rotated = callback

    def streams(self) -> Mapping[RecordKind, Stream | LinkStream]:
        return dict(self._streams)

    def api_usage(self) -> ApiUsage | None:
        """From the X-HubSpot-RateLimit-Daily(-Remaining) headers of the latest response."""
        return self._client.usage()

    def server_time(self) -> datetime | None:
        return self._client.server_time()

    def check(self) -> ConnectionCheck:
        """Authenticates, then tries each object the sync reads with the smallest read there
        is: ``scopes`` tells which of ``crm.objects.{object}.read`` and
        ``crm.schemas.{object}.read`` the token has (a 403 is a missing scope, never a failed
        authentication), and ``missing`` names ``"{object}.{property}"`` for each property the
        sync needs that the account lacks (properties HubSpot computes or may hide, like
        ``hs_merged_object_ids``, or may not have, like ``dealtype``, are not needed)."""
        scopes: dict[str, bool] = {}
        missing: list[str] = []
        try:
            for stream in self._objects:
                missing += self._check_object(stream, scopes)
            scopes[MARKETING_EVENTS_SCOPE] = self._may_read(self._client.marketing_events)
            scopes[FORMS_SCOPE] = self._may_read(self._client.forms)
        except AuthenticationFailed as refused:
            return ConnectionCheck(
                authenticated=False, usage=self._client.usage(), detail=refused.detail
            )
        return ConnectionCheck(
            authenticated=True, missing=tuple(missing), usage=self._client.usage(), scopes=scopes
        )

    def _may_read(self, first_page: Callable[[str | None], object]) -> bool:
        try:
            first_page(None)
        except ScopeMissing:
            return False
        return True

    def _check_object(self, stream: ObjectStream, scopes: dict[str, bool]) -> list[str]:
        name = stream.object_type
        try:
            self._client.search(name, {"limit": 1, "properties": [ID_PROPERTY]})
            scopes[f"crm.objects.{name}.read"] = True
        except ScopeMissing:
            scopes[f"crm.objects.{name}.read"] = False
        try:
            names = self._client.property_names(name)
            scopes[f"crm.schemas.{name}.read"] = True
        except ScopeMissing:
            scopes[f"crm.schemas.{name}.read"] = False
            return []
        return [f"{name}.{prop}" for prop in stream.needed_properties if prop not in names]
