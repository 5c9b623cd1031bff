"""Builds a connector from a stored connection: decrypted credentials and its field mapping."""

from __future__ import annotations

from app.config import Settings
from app.connections.schemas import ConnectionTestResult, FieldMappingIn
from app.connections.service import (
    connector_credentials,
    credentials_of,
    outbound_guard,
    validate_credentials,
)
from app.exceptions import InvalidInput
from app.models import CrmConnection
from connectors.base import Connector, FieldMapping
from connectors.errors import ConnectorError, FatalError
from connectors.hubspot import HubSpotConnector
from connectors.retry import RetryPolicy
from connectors.salesforce import SalesforceConnector, SalesforceCredentials


def field_mapping(connection: CrmConnection) -> FieldMapping:
    stored = FieldMappingIn.model_validate(connection.field_mapping)
    return FieldMapping(
        amount_field=stored.amount_field,
        type_map=dict(stored.type_map),
        extra_fields={kind: tuple(fields) for kind, fields in stored.extra_fields.items()},
        campaign_activity_type=stored.campaign_activity_type,
        marketing_activity_types={
            state.strip().lower(): key for state, key in stored.marketing_activity_types.items()
        },
    )


def build_connector(connection: CrmConnection, settings: Settings, retry: RetryPolicy) -> Connector:
    """The connector of a stored connection, its endpoint and credentials checked again (they may
    predate today's rules): what cannot work is a FatalError, never a crash of the worker."""
    credentials = credentials_of(connection, settings)
    try:
        validate_credentials(credentials, settings)
    except InvalidInput as invalid:
        raise FatalError(f"the connection's credentials cannot work: {invalid.message}") from None
    connector = connector_credentials(credentials)
    guard = outbound_guard(settings)
    if isinstance(connector, SalesforceCredentials):
        return SalesforceConnector(connector, field_mapping(connection), retry, guard=guard)
    return HubSpotConnector(
        connector,
        field_mapping(connection),
        retry,
        default_currency=credentials.default_currency,
        guard=guard,
    )


def test_connection(connection: CrmConnection, settings: Settings) -> ConnectionTestResult:
    """Authenticate and look at the objects and fields the sync needs; failures are reported."""
    try:
        check = build_connector(connection, settings, RetryPolicy(attempts=2)).check()
    except ConnectorError as error:
        return ConnectionTestResult(
            authenticated=False, missing=[], api_used=None, api_limit=None, detail=error.detail
        )
    return ConnectionTestResult(
        authenticated=check.authenticated,
        missing=list(check.missing),
        scopes=dict(check.scopes),
        api_used=check.usage.used if check.usage else None,
        api_limit=check.usage.limit if check.usage else None,
        detail=check.detail,
    )
