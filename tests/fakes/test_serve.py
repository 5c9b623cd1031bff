"""`python -m tests.fakes.serve`: its seeded data are the same for a seed, and what it prints for a
CRM admin (connection bodies, environment) is accepted by the service as printed."""

from __future__ import annotations

import http.client
import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest

from app.config import Settings
from app.connections.schemas import ConnectionCreate
from app.connections.service import validate_credentials
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.serve import (
    Sizes,
    dataset_counts,
    instructions,
    running,
    seed_hubspot,
    seed_salesforce,
    service_environment,
)

SALESFORCE_OBJECTS = (
    "Account",
    "Contact",
    "Lead",
    "Opportunity",
    "OpportunityContactRole",
    "Campaign",
    "CampaignMember",
)


def salesforce_snapshot(seed: int) -> dict[str, Any]:
    fake = FakeSalesforce()
    seeded = seed_salesforce(fake, seed=seed)
    return {
        "ids": seeded.ids,
        **{name: fake.records(name, include_deleted=True) for name in SALESFORCE_OBJECTS},
    }


def hubspot_snapshot(seed: int) -> dict[str, Any]:
    fake = FakeHubSpot()
    seeded = seed_hubspot(fake, seed=seed)
    return {
        "ids": seeded.ids,
        **{kind: fake.records(kind) for kind in ("companies", "contacts", "deals")},
        "deal_contacts": fake.associations("deals", "contacts"),
        "deal_companies": fake.associations("deals", "companies"),
    }


def test_the_salesforce_dataset_is_the_same_for_a_seed() -> None:
    first = salesforce_snapshot(7)
    assert first == salesforce_snapshot(7)
    assert first != salesforce_snapshot(8)
    assert len(first["Account"]) == Sizes().accounts
    assert len(first["Opportunity"]) == Sizes().opportunities
    assert first["OpportunityContactRole"] and first["CampaignMember"]
    accounts = {row["Id"] for row in first["Account"]}
    assert {row["AccountId"] for row in first["Contact"]} <= accounts


def test_the_hubspot_dataset_is_the_same_for_a_seed() -> None:
    first = hubspot_snapshot(7)
    assert first == hubspot_snapshot(7)
    assert first != hubspot_snapshot(8)
    assert len(first["deals"]) == Sizes().opportunities
    assert len(first["deal_companies"]) == Sizes().opportunities
    assert first["deal_contacts"]
    stages = {(r["properties"]["pipeline"], r["properties"]["dealstage"]) for r in first["deals"]}
    assert {pipeline for pipeline, _ in stages} == {"default", "renewals"}


def json_blocks(text: str) -> list[Any]:
    """Each JSON object printed starting with a line "{" and ending with a line "}"."""
    blocks, current = [], None
    for line in text.splitlines():
        if line == "{":
            current = [line]
        elif current is not None:
            current.append(line)
            if line == "}":
                blocks.append(json.loads("\n".join(current)))
                current = None
    return blocks


def test_the_printed_connections_and_environment_are_accepted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ca_file = tmp_path / "ca.pem"
    with running(salesforce_port=0, hubspot_port=0, seed=7, ca_file=ca_file) as (sf, hs):
        printed = instructions(sf, hs, ca_file, dataset_counts(sf, hs))
        environment = service_environment(sf, hs, ca_file)
        for name, value in environment.items():
            assert f"export {name}='{value}'" in printed
            monkeypatch.setenv(name, value)
        settings = Settings()  # as `commattr serve` reads its environment
        assert settings.crm_test_hosts == (
            urlsplit(sf.instance_url).netloc,
            urlsplit(hs.base_url).netloc,
        )
        bodies = [ConnectionCreate.model_validate(block) for block in json_blocks(printed)]
        assert [body.credentials.kind for body in bodies] == ["salesforce", "hubspot"]
        for body in bodies:
            validate_credentials(body.credentials, settings)
        # the CA file written is the one the Salesforce fake's certificate chains to, and the
        # printed credentials get a token
        host, port = urlsplit(sf.instance_url).netloc.split(":")
        connection = http.client.HTTPSConnection(
            host, int(port), context=ssl.create_default_context(cafile=str(ca_file)), timeout=10
        )
        credentials = bodies[0].credentials.model_dump()
        form = {
            "grant_type": "refresh_token",
            **{k: credentials[k] for k in ("client_id", "client_secret", "refresh_token")},
        }
        connection.request(
            "POST",
            "/services/oauth2/token",
            body=urlencode(form),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        answer = connection.getresponse()
        assert answer.status == 200, answer.read()
        assert json.loads(answer.read())["access_token"]
        connection.close()
