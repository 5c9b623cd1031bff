"""Builds a connector from a stored connection: decrypted credentials and its field mapping."""

from __future__ import annotations

from app.config import Settings
from app.connections.schemas import ConnectionTestResult, FieldMappingIn, SalesforceCredentialsIn
from app.connections.service import credentials_of
from app.models import CrmConnection
from connectors.base import Connector, FieldMapping
from connectors.errors import ConnectorError
from connectors.hubspot import HubSpotConnector, HubSpotCredentials
from connectors.retry import RetryPolicy
from connectors.salesforce import SalesforceConnector, SalesforceCredentials


def field_mapping(connection: CrmConnection) -> FieldMapping:
    stored = FieldMappingIn.model_validate(connection.field_mapping)
    return FieldMapping(
        amount_field=stored.amount_field,
        type_map=dict(stored.type_map),
        extra_fields={kind: tuple(fields) for kind, fields in stored.extra_fields.items()},
        campaign_activity_type=stored.campaign_activity_type,
    )


def build_connector(connection: CrmConnection, settings: Settings, retry: RetryPolicy) -> Connector:
    credentials = credentials_of(connection, settings)
    fields = credentials.model_dump(exclude={"kind"})
    if isinstance(credentials, SalesforceCredentialsIn):
        return SalesforceConnector(
            SalesforceCredentials(**fields), field_mapping(connection), retry
        )
    default_currency = fields.pop("default_currency")
    return HubSpotConnector(
        HubSpotCredentials(**fields),
        field_mapping(connection),
        retry,
        default_currency=default_currency,
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
        api_used=check.usage.used if check.usage else None,
        api_limit=check.usage.limit if check.usage else None,
        detail=check.detail,
    )
