"""CRM connections: credentials encrypted at rest and never shown, endpoints validated."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from app.config import Settings
from app.connections import repository
from app.connections.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionUpdate,
    Credentials,
    FieldMappingIn,
    HubSpotCredentialsIn,
    SalesforceCredentialsIn,
)
from app.crypto import decrypt_json, encrypt_json
from app.exceptions import InvalidInput, NotFound
from app.models import CrmConnection
from connectors.errors import InvalidCredentials
from connectors.hubspot import HubSpotCredentials
from connectors.outbound import Blocked, OutboundGuard
from connectors.salesforce import SalesforceCredentials

SALESFORCE_DOMAINS = (".salesforce.com", ".force.com", ".cloudforce.com", ".database.com")
HUBSPOT_HOSTS = ("api.hubapi.com", "api.hubspot.com")


def outbound_guard(settings: Settings) -> OutboundGuard:
    """The guard every CRM request goes through; the test hosts are exempt from its checks."""
    return OutboundGuard(frozenset(settings.crm_test_hosts))


def connector_credentials(credentials: Credentials) -> SalesforceCredentials | HubSpotCredentials:
    """The connector's own credentials, whose constructor holds the rules of what can work."""
    fields = credentials.model_dump(exclude={"kind"})
    if isinstance(credentials, SalesforceCredentialsIn):
        return SalesforceCredentials(**fields)
    fields.pop("default_currency")
    return HubSpotCredentials(**fields)


def _check_endpoint(
    url: str | None, guard: OutboundGuard, field: str, allowed: Callable[[str], bool]
) -> None:
    """The URL as the HTTP client reads it, on the CRM's hosts, resolving to public addresses."""
    if url is None:
        return
    loc = ("body", "credentials", field)
    try:
        destination = guard.check_url(url)
        if not guard.allows_test_host(destination.host, destination.port) and not allowed(
            destination.host
        ):
            raise InvalidInput.at(loc, f"{url[:200]} is not an https endpoint of the CRM")
        guard.check_resolved(destination)
    except Blocked as blocked:
        raise InvalidInput.at(
            loc, f"not an endpoint the service may reach: {blocked.reason}"
        ) from None


def validate_credentials(credentials: Credentials, settings: Settings) -> None:
    """422 naming the field for credentials that cannot work or an endpoint that is not the CRM."""
    try:
        connector_credentials(credentials)
    except InvalidCredentials as error:
        raise InvalidInput.at(("body", "credentials", error.field), str(error)) from None
    guard = outbound_guard(settings)
    if isinstance(credentials, SalesforceCredentialsIn):
        _check_endpoint(
            credentials.instance_url,
            guard,
            "instance_url",
            lambda host: host.rstrip(".").endswith(SALESFORCE_DOMAINS),
        )
    else:
        _check_endpoint(
            credentials.base_url, guard, "base_url", lambda host: host.rstrip(".") in HUBSPOT_HOSTS
        )


def get_connection(session: Session, *, workspace_id: int, connection_id: int) -> CrmConnection:
    connection = repository.get(session, workspace_id, connection_id)
    if connection is None:
        raise NotFound(f"connection {connection_id} not found")
    return connection


def create_connection(
    session: Session,
    *,
    workspace_id: int,
    body: ConnectionCreate,
    settings: Settings,
    now: datetime,
) -> CrmConnection:
    validate_credentials(body.credentials, settings)
    connection = CrmConnection(
        workspace_id=workspace_id,
        kind=body.credentials.kind,
        name=body.name,
        credentials_encrypted=encrypt_json(settings, body.credentials.model_dump()),
        field_mapping=body.field_mapping.model_dump(),
        api_budget_share=body.api_budget_share,
        overlap_seconds=body.overlap_seconds,
        created_at=now,
        updated_at=now,
    )
    session.add(connection)
    session.flush()
    return connection


def update_connection(
    session: Session,
    *,
    connection: CrmConnection,
    body: ConnectionUpdate,
    settings: Settings,
    now: datetime,
) -> CrmConnection:
    if body.credentials is not None:
        if body.credentials.kind != connection.kind:
            raise InvalidInput.at(
                ("body", "credentials", "kind"), f"this is a {connection.kind} connection"
            )
        validate_credentials(body.credentials, settings)
        connection.credentials_encrypted = encrypt_json(settings, body.credentials.model_dump())
    if body.name is not None:
        connection.name = body.name
    if body.field_mapping is not None:
        connection.field_mapping = body.field_mapping.model_dump()
    if body.api_budget_share is not None:
        connection.api_budget_share = body.api_budget_share
    if body.overlap_seconds is not None:
        connection.overlap_seconds = body.overlap_seconds
    connection.updated_at = now
    session.flush()
    return connection


def credentials_of(connection: CrmConnection, settings: Settings) -> Credentials:
    stored = decrypt_json(settings, connection.credentials_encrypted)
    if connection.kind == "salesforce":
        return SalesforceCredentialsIn.model_validate(stored)
    return HubSpotCredentialsIn.model_validate(stored)


def describe(connection: CrmConnection, settings: Settings) -> ConnectionOut:
    credentials = credentials_of(connection, settings).model_dump(exclude={"kind"})
    return ConnectionOut(
        id=connection.id,
        kind=connection.kind,
        name=connection.name,
        credential_fields=sorted(name for name, value in credentials.items() if value),
        field_mapping=FieldMappingIn.model_validate(connection.field_mapping),
        api_budget_share=connection.api_budget_share,
        overlap_seconds=connection.overlap_seconds,
        syncing_run_id=connection.locked_by_run_id,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
    )
