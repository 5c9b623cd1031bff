"""POST/PATCH /v1/connections refuse endpoints the service may not reach and credentials that
cannot work, with a 422 naming the field; /test reveals nothing about ports (issues 10 and 8)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from app.config import Settings
from app.connections.service import get_connection
from app.crypto import encrypt_json
from app.db import build_engine, build_sessionmaker, transaction
from app.main import create_app
from app.models import CrmConnection
from app.sync import factory
from connectors.errors import FatalError
from connectors.outbound import UNREACHABLE
from connectors.retry import RetryPolicy
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace
from tests.connections.conftest import Listener, Resolver

SALESFORCE = {
    "kind": "salesforce",
    "auth": "refresh_token",
    "instance_url": "https://acme.my.salesforce.com",
    "client_id": "consumer-key",
    "client_secret": "sf-secret-5e1f",
    "refresh_token": "sf-refresh-77aa",
}
HUBSPOT = {"kind": "hubspot", "access_token": "pat-na1-secret-9c0d"}


def create(api: Api, credentials: dict[str, Any]) -> Any:
    return api.post("/v1/connections", json={"name": "CRM", "credentials": credentials})


def assert_422_at(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "credentials", field]


@pytest.mark.parametrize(
    "instance_url",
    [
        "https://127.0.0.1:8451\\@x.my.salesforce.com",  # the reproduction
        "https://169.254.169.254\\@x.my.salesforce.com",
        "https://x.my.salesforce.com@169.254.169.254",
        "https://2130706433/",
        "https://0177.0.0.1/",
        "https://[::ffff:127.0.0.1]/",
    ],
)
def test_a_salesforce_url_that_reaches_elsewhere_is_422(
    api: Api, resolver: Resolver, instance_url: str
) -> None:
    assert_422_at(create(api, {**SALESFORCE, "instance_url": instance_url}), "instance_url")


def test_a_hubspot_base_url_that_reaches_elsewhere_is_422(api: Api, resolver: Resolver) -> None:
    url = "https://127.0.0.1:8451\\@api.hubapi.com"
    assert_422_at(create(api, {**HUBSPOT, "base_url": url}), "base_url")


def test_a_crm_name_resolving_to_an_internal_address_is_422(api: Api, resolver: Resolver) -> None:
    resolver.answers["intranet.my.salesforce.com"] = [["10.0.0.5"]]
    resolver.answers["metadata.my.salesforce.com"] = [["169.254.169.254"]]
    for host in ("intranet", "metadata"):
        url = f"https://{host}.my.salesforce.com"
        assert_422_at(create(api, {**SALESFORCE, "instance_url": url}), "instance_url")


def test_patch_checks_the_url_the_same_way(api: Api, resolver: Resolver) -> None:
    created = create(api, SALESFORCE)
    assert created.status_code == 201, created.text
    response = api.patch(
        f"/v1/connections/{created.json()['id']}",
        json={
            "credentials": {
                **SALESFORCE,
                "instance_url": "https://127.0.0.1:8451\\@x.my.salesforce.com",
            }
        },
    )
    assert_422_at(response, "instance_url")


def test_a_hubspot_token_with_a_lone_client_id_is_422_naming_what_is_missing(
    api: Api, resolver: Resolver
) -> None:
    response = create(api, {**HUBSPOT, "client_id": "an-app"})
    assert_422_at(response, "client_secret")
    assert "together" in response.json()["detail"][0]["msg"]
    assert HUBSPOT["access_token"] not in response.text


def test_salesforce_oauth_without_its_secret_is_422_and_echoes_no_secret(
    api: Api, resolver: Resolver
) -> None:
    response = create(api, {**SALESFORCE, "client_secret": None})
    assert_422_at(response, "client_secret")
    assert SALESFORCE["refresh_token"] not in response.text


def test_password_auth_without_its_token_is_422(api: Api, resolver: Resolver) -> None:
    body = {"kind": "salesforce", "auth": "password", "username": "u", "password": "p-secret"}
    response = create(api, body)
    assert_422_at(response, "security_token")
    assert "p-secret" not in response.text


def test_a_stored_connection_that_cannot_work_fails_its_job_instead_of_the_worker(
    api: Api, settings: Settings, resolver: Resolver
) -> None:
    """Saved before today's rules: building its connector is a FatalError, never a ValueError."""
    created = create(api, HUBSPOT)
    half_oauth = {**HUBSPOT, "client_id": "an-app", "base_url": "https://api.hubapi.com"}
    engine = build_engine(settings)
    with transaction(build_sessionmaker(engine)) as session:
        session.execute(
            update(CrmConnection)
            .where(CrmConnection.id == created.json()["id"])
            .values(credentials_encrypted=encrypt_json(settings, half_oauth))
        )
    with transaction(build_sessionmaker(engine)) as session:
        connection = get_connection(
            session, workspace_id=api.workspace_id, connection_id=created.json()["id"]
        )
        with pytest.raises(FatalError, match="client_secret"):
            factory.build_connector(connection, settings, RetryPolicy(attempts=1))
    engine.dispose()


# -- the connection test is no port scanner --------------------------------------------------


@pytest.fixture
def closed_port() -> int:
    probe = socket.create_server(("127.0.0.1", 0))
    port: int = probe.getsockname()[1]
    probe.close()
    return port


@pytest.fixture
def open_port() -> Iterator[int]:
    """Accepts and hangs up: TLS fails there, where a closed port refuses."""
    listener = Listener()
    yield listener.port
    listener.close()


def test_the_connection_test_says_the_same_for_an_open_and_a_closed_port(
    database_url: str, closed_port: int, open_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        factory,
        "RetryPolicy",
        lambda attempts: RetryPolicy(attempts=attempts, sleep=lambda _: None),
    )
    hosts = (f"127.0.0.1:{closed_port}", f"127.0.0.1:{open_port}")
    settings = Settings(database_url=database_url, crm_test_hosts=hosts)
    workspace_id, key = new_workspace(settings)
    details = []
    with TestClient(create_app(settings, clock=SettableClock(DEFAULT_NOW))) as client:
        api = Api(client=client, workspace_id=workspace_id, key=key)
        for host in hosts:
            made = create(api, {**SALESFORCE, "instance_url": f"https://{host}"})
            assert made.status_code == 201, made.text
            tested = api.post(f"/v1/connections/{made.json()['id']}/test")
            assert tested.status_code == 200
            details.append(tested.json())
    assert details[0] == details[1]
    assert details[0]["authenticated"] is False
    assert details[0]["detail"] == UNREACHABLE
