"""HubSpotConnector: the connector protocol (connectors.base.Connector) for HubSpot CRM."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from connectors.base import (
    ApiUsage,
    ConnectionCheck,
    FieldMapping,
    LinkStream,
    RecordKind,
    Stream,
)
from connectors.errors import FatalError
from connectors.hubspot.auth import HubSpotCredentials
from connectors.hubspot.client import HubSpotClient
from connectors.hubspot.errors import AuthenticationFailed
from connectors.hubspot.streams import (
    CompanyLinkStream,
    CompanyStream,
    ContactStream,
    DealContactStream,
    DealStream,
    ObjectStream,
)
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy

MAX_PAGE_SIZE = 200  # HubSpot's search limit per request


class HubSpotConnector:
    """Companies, contacts, deals and deal→contact links of one HubSpot account. HubSpot has
    no leads in this model and campaign responses are not read.

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
        page_size: int = 100,
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

    def streams(self) -> Mapping[RecordKind, Stream | LinkStream]:
        return dict(self._streams)

    def api_usage(self) -> ApiUsage | None:
        """From the X-HubSpot-RateLimit-Daily(-Remaining) headers of the latest response."""
        return self._client.usage()

    def server_time(self) -> datetime | None:
        return self._client.server_time()

    def check(self) -> ConnectionCheck:
        """Reads each object's property list and the deal pipelines. ``missing`` names
        ``"{object}.{property}"`` for each property the connection reads but the account
        lacks, and ``"{object}.*"`` for an object the credentials may not read."""
        try:
            missing = [name for stream in self._objects for name in self._missing(stream)]
            self._client.deal_stages()
        except AuthenticationFailed as refused:
            return ConnectionCheck(
                authenticated=False, usage=self._client.usage(), detail=refused.detail
            )
        return ConnectionCheck(
            authenticated=True, missing=tuple(missing), usage=self._client.usage()
        )

    def _missing(self, stream: ObjectStream) -> list[str]:
        try:
            names = self._client.property_names(stream.object_type)
        except AuthenticationFailed:
            raise
        except FatalError:
            return [f"{stream.object_type}.*"]
        return [f"{stream.object_type}.{name}" for name in stream.properties if name not in names]
