"""The Salesforce connector: streams for the six record kinds, a connection check, API usage."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from connectors.base import ApiUsage, ConnectionCheck, FieldMapping, RecordKind, Stream
from connectors.errors import ConnectorError, FatalError
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy
from connectors.salesforce.bulk import BulkQuery
from connectors.salesforce.client import SalesforceClient, SalesforceCredentials
from connectors.salesforce.objects import SPECS, ObjectSpec, OrgFacts, required_fields
from connectors.salesforce.streams import SalesforceStream


class SalesforceConnector:
    source = "salesforce"

    def __init__(
        self,
        credentials: SalesforceCredentials,
        mapping: FieldMapping,
        retry: RetryPolicy,
        *,
        login_url: str | None = None,
        bulk_threshold: int = 50_000,
        bulk_page_size: int = 50_000,
        guard: OutboundGuard = OutboundGuard(),
    ) -> None:
        """``login_url`` overrides where to authenticate (a My Domain, or a test server);
        full reads of objects with more than ``bulk_threshold`` rows use Bulk API 2.0."""
        self._client = SalesforceClient(credentials, retry, login_url=login_url, guard=guard)
        self._mapping = mapping
        self._org = OrgFacts(self._client)
        self._bulk = BulkQuery(self._client, page_size=bulk_page_size)
        self._bulk_threshold = bulk_threshold

    @property
    def on_token_rotated(self) -> Callable[[str], None] | None:
        return self._client.on_token_rotated

    @on_token_rotated.setter
    def on_token_rotated(self, callback: Callable[[str], None] | None) -> None:
        self._client.on_token_rotated = callback

    def streams(self) -> Mapping[RecordKind, Stream]:
        return {kind: self._stream(spec) for kind, spec in SPECS.items()}

    def check(self) -> ConnectionCheck:
        """Authenticates, then describes each object to list the fields the API user cannot read."""
        try:
            self._client.authenticate()
            missing = tuple(name for spec in SPECS.values() for name in self._missing(spec))
            usage = self._client.api_usage()
        except ConnectorError as error:
            return ConnectionCheck(authenticated=self._client.authenticated, detail=error.detail)
        scopes = {
            spec.name: self._org.has_object(spec.name)
            for spec in SPECS.values()
            if not spec.optional or self._org.has_object(spec.name)
        }
        return ConnectionCheck(authenticated=True, missing=missing, usage=usage, scopes=scopes)

    def api_usage(self) -> ApiUsage | None:
        return self._client.api_usage()

    def server_time(self) -> datetime | None:
        return self._client.server_time()

    def _stream(self, spec: ObjectSpec) -> SalesforceStream:
        return SalesforceStream(
            spec,
            client=self._client,
            org=self._org,
            mapping=self._mapping,
            bulk=self._bulk,
            bulk_threshold=self._bulk_threshold,
        )

    def _missing(self, spec: ObjectSpec) -> list[str]:
        if spec.optional and not self._org.has_object(spec.name):
            return []
        needed = required_fields(spec, self._mapping)
        try:
            described = self._org.describe(spec.name)
        except FatalError:
            return [f"{spec.name}.{name}" for name in needed]
        return [f"{spec.name}.{name}" for name in needed if not described.has(name)]
