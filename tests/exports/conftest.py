"""Three workspaces in one database: the golden dataset, a small other company, and an empty one."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from app import bi
from app.config import Settings
from app.db import build_engine
from app.main import create_app
from tests.conftest import DEFAULT_NOW, Api, SettableClock, new_workspace
from tests.golden import loader

SMALL_OPPORTUNITY = "006-O10"


@dataclass
class Workspaces:
    golden: Api
    golden_run: int
    small: Api
    small_run: int
    empty: Api


def exports_app(settings: Settings) -> FastAPI:
    return create_app(settings, clock=SettableClock(DEFAULT_NOW))


def ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def load_small(api: Api) -> None:
    """One opportunity of the golden dataset (Pendant, O10) and its people's touches, with the
    touches renamed ``b-...`` so that nothing in it can be mistaken for the golden workspace's."""
    data = loader.dataset()
    opportunity = next(o for o in data["opportunities"] if o["external_id"] == SMALL_OPPORTUNITY)
    roles = [r for r in data["contact_roles"] if r["opportunity"] == SMALL_OPPORTUNITY]
    contacts = [c for c in data["contacts"] if c["external_id"] in {r["contact"] for r in roles}]
    emails = {c["email"].strip().lower() for c in contacts if c.get("email")}
    members = [m for m in data["members"] if emails & {e.strip().lower() for e in m["emails"]}]
    member_ids = {m["external_id"] for m in members}
    contact_ids = {c["external_id"] for c in contacts}

    def mine(touch: dict[str, Any]) -> bool:
        person = touch.get("person")
        return (
            (person is not None and person["external_id"] in contact_ids)
            or (touch.get("member_email") or "").strip().lower() in emails
            or touch.get("member_external_id") in member_ids
        )

    def clean(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if k != "notes"}

    for activity_type in data["activity_types"]:
        body = clean(activity_type)
        ok(api.put(f"/v1/activity-types/{body.pop('key')}", json=body))
    account = next(a for a in data["accounts"] if a["external_id"] == opportunity["account"])
    ok(
        api.post(
            "/v1/crm/import",
            json={
                "source": loader.CRM_SOURCE,
                "accounts": [clean(account)],
                "contacts": [clean(c) for c in contacts],
                "leads": [],
                "opportunities": [clean(opportunity)],
                "contact_roles": [clean(r) for r in roles],
                "exchange_rates": [clean(r) for r in data["exchange_rates"]],
            },
        )
    )
    ok(api.post("/v1/members:batch", json={"members": [clean(m) for m in members]}))
    touches = [
        {**clean(t), "external_id": f"b-{t['external_id']}"} for t in data["touchpoints"] if mine(t)
    ]
    assert touches
    ok(api.post("/v1/touchpoints:batch", json={"touchpoints": touches}))


@pytest.fixture(scope="package")
def workspaces(database_url: str) -> Iterator[Workspaces]:
    settings = Settings(database_url=database_url)
    with TestClient(exports_app(settings)) as client:
        golden = Api(client, *new_workspace(settings, "Golden"))
        small = Api(client, *new_workspace(settings, "Small"))
        empty = Api(client, *new_workspace(settings, "Empty"))
        loader.load(golden)
        golden_run = loader.run(golden, "linear")["id"]
        load_small(small)
        small_run = loader.run(small, "linear")["id"]
        yield Workspaces(golden, golden_run, small, small_run, empty)


def connect_as(database_url: str, role: str, password: str) -> psycopg.Connection[Any]:
    """A connection to the test database as ``role``, the way a BI tool logs in."""
    url = make_url(database_url)
    return psycopg.connect(
        host=url.host,
        port=url.port,
        dbname=url.database,
        user=role,
        password=password,
        autocommit=True,
    )


@dataclass
class BiLogin:
    role: str
    password: str


@pytest.fixture(scope="package")
def bi_logins(
    workspaces: Workspaces, database_url: str, backend: str
) -> Iterator[dict[int, BiLogin]]:
    """On PostgreSQL, the BI roles of the golden and the small workspace, dropped afterwards (roles
    outlive the test database: they belong to the server)."""
    if backend != "postgresql":
        yield {}
        return
    engine = build_engine(Settings(database_url=database_url))
    logins = {}
    try:
        for api in (workspaces.golden, workspaces.small):
            password = bi.generate_password()
            role = bi.create_bi_role(engine, api.workspace_id, password)
            logins[api.workspace_id] = BiLogin(role, password)
        yield logins
    finally:
        for workspace_id in logins:
            bi.drop_bi_role(engine, workspace_id)
        engine.dispose()


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def export(api: Api, name: str, **params: Any) -> str:
    response = api.get(f"/v1/exports/{name}.csv", params=params)
    assert response.status_code == 200, response.text
    text: str = response.text
    return text
