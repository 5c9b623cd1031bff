"""Canaries (issue 10, "secrets never leave"): unique secret values (CRM client secrets, refresh and
access tokens, passwords, webhook signing secrets, API keys, the encryption key) are stored and
used through every route and error path with every logger at DEBUG, then looked for in every
response (status line aside: headers and body), every log line, and every text or binary column
of every table of the database, on SQLite and on PostgreSQL. A secret may appear only in the one
answer that hands it out (a new API key, a webhook source's signing secret), nowhere else."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.fernet import Fernet
from fastapi.testclient import TestClient
from sqlalchemy import MetaData, select

from app import migrate
from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.main import create_app
from app.observability.logging import RequestIdFilter, json_formatter
from app.webhooks.signatures import sign
from app.worker import drain
from connectors.retry import RetryPolicy
from tests.conftest import DEFAULT_NOW, SettableClock, fresh_database_url, new_workspace
from tests.fakes import salesforce as salesforce_fake
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce, fake_salesforce_server
from tests.security.roles import runtime_role

JSON = {"Content-Type": "application/json"}


@dataclass
class Canaries:
    """Every secret of the run, and the answers allowed to show it (the one that hands it out)."""

    values: dict[str, str] = field(default_factory=dict)  # value -> what it is
    shown_in: dict[str, set[int]] = field(default_factory=dict)  # value -> ids of answers

    def new(self, what: str) -> str:
        value = f"canary{uuid.uuid4().hex}"
        self.values[value] = what
        return value

    def known(self, value: str, what: str, shown_in: httpx.Response | None = None) -> str:
        self.values[value] = what
        if shown_in is not None:
            self.shown_in.setdefault(value, set()).add(id(shown_in))
        return value

    def found_in(self, text: str) -> list[str]:
        return [f"{what} ({value[:14]}…)" for value, what in self.values.items() if value in text]


@dataclass
class Recorder:
    """Every answer the service gives, kept as it went out."""

    answers: list[httpx.Response] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        self.answers.append(response)

    def leaks(self, canaries: Canaries) -> list[str]:
        found = []
        for answer in self.answers:
            text = "\n".join(f"{k}: {v}" for k, v in answer.headers.items())
            text += "\n" + answer.content.decode("latin-1")
            for value, what in canaries.values.items():
                if value in text and id(answer) not in canaries.shown_in.get(value, set()):
                    request = answer.request
                    found.append(
                        f"{what} in the {answer.status_code} of {request.method} {request.url.path}"
                    )
        return found


@contextmanager
def every_logger_at_debug() -> Iterator[io.StringIO]:
    """The service's JSON lines (its own formatter and filter) for every logger, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in list(root.manager.loggerDict)}
    root_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in levels:
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


@pytest.fixture
def database(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database of its own, so the scan sees this test's rows only."""
    url = fresh_database_url(backend, tmp_path_factory)
    engine = build_engine(Settings(database_url=url))
    migrate.upgrade(engine)
    engine.dispose()
    return url


def columns_holding(url: str, canaries: Canaries) -> list[str]:
    """Every table, every column, every row: where a secret is stored as it is."""
    engine = build_engine(Settings(database_url=url))
    metadata = MetaData()
    metadata.reflect(engine)
    found = []
    try:
        with engine.connect() as connection:
            for table in metadata.sorted_tables:
                for row in connection.execute(select(table)).mappings():
                    for column, value in row.items():
                        for leak in canaries.found_in(_text(value)):
                            found.append(f"{leak} in {table.name}.{column}")
    finally:
        engine.dispose()
    return found


def _text(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode("latin-1")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return "" if value is None else str(value)


@dataclass
class Service:
    client: TestClient
    settings: Settings
    clock: SettableClock
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth, **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def work(self) -> None:
        factory = build_sessionmaker(build_engine(self.settings.as_owner()))  # as the worker
        drain(factory, settings=self.settings, clock=self.clock, retry=RetryPolicy(attempts=2))


@pytest.fixture
def served_as(backend: str, database: str) -> Iterator[Settings]:
    """On PostgreSQL the service connects as its runtime role, held by row-level security, so
    every route is driven through that wall too."""
    if backend != "postgresql":
        yield Settings(database_url=database)
        return
    with runtime_role(database) as settings:
        yield settings


def test_no_secret_leaves_in_an_answer_a_log_line_or_a_column(
    database: str, served_as: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    canaries = Canaries()
    control = Canaries()  # a value that is no secret: the searches below must find it
    recorder = Recorder()
    for name in ("CLIENT_SECRET", "PASSWORD", "SECURITY_TOKEN"):
        monkeypatch.setattr(salesforce_fake, name, canaries.new(f"Salesforce {name.lower()}"))
    hubspot_secrets = {
        "private_token": canaries.new("HubSpot private app token"),
        "client_secret": canaries.new("HubSpot client secret"),
        "refresh_token": canaries.new("HubSpot refresh token"),
    }
    with (
        every_logger_at_debug() as logs,
        fake_salesforce_server(monkeypatch) as salesforce,
        FakeHubSpot(**hubspot_secrets) as hubspot,
    ):
        salesforce.refresh_token = canaries.new("Salesforce refresh token")
        salesforce.rotate_refresh_tokens = True
        hosts = (urlsplit(salesforce.instance_url).netloc, urlsplit(hubspot.base_url).netloc)
        encryption_key = canaries.known(Fernet.generate_key().decode(), "encryption key")
        settings = served_as.model_copy(
            update={"crm_test_hosts": hosts, "encryption_keys": encryption_key}
        )
        clock = SettableClock(DEFAULT_NOW)
        _workspace, key = new_workspace(settings.as_owner())
        canaries.known(key, "the first admin API key")
        with TestClient(create_app(settings, clock=clock)) as client:
            client.event_hooks["response"].append(recorder)
            service = Service(client, settings, clock, key)
            drive_api_keys(service, canaries)
            drive_connections(service, canaries, salesforce, hubspot)
            drive_webhooks(service, canaries)
            drive_every_route(service, canaries)
            named = service.call("PATCH", "/v1/workspace", json={"name": control.new("a name")})
            assert named.status_code == 200
        canaries.known(salesforce.refresh_token, "Salesforce rotated refresh token")
        for token in salesforce_issued_tokens(salesforce) + hubspot_issued_tokens(hubspot):
            canaries.known(token, "an access token a CRM issued")
        drive_rate_limits(settings, canaries, recorder)

    assert recorder.answers, "the service was driven"
    assert recorder.leaks(control) and columns_holding(database, control)
    assert control.found_in(logs.getvalue())
    failed = [f"{a.status_code} {a.request.method} {a.request.url.path}" for a in recorder.answers]
    assert [line for line in failed if line.startswith("5")] == []
    in_answers = recorder.leaks(canaries)
    assert in_answers == [], "\n".join(in_answers)
    lines = logs.getvalue().splitlines()
    assert len(lines) > 100, "DEBUG lines were written"
    in_logs = [f"{leak}: {line[:300]}" for line in lines for leak in canaries.found_in(line)]
    assert in_logs == [], "\n".join(in_logs)
    in_columns = columns_holding(database, canaries)
    assert in_columns == [], "\n".join(in_columns)


def salesforce_issued_tokens(fake: FakeSalesforce) -> list[str]:
    return sorted(fake._tokens)


def hubspot_issued_tokens(fake: FakeHubSpot) -> list[str]:
    return [token for token in (fake._oauth_token, *fake._expired_tokens) if token]


def drive_api_keys(service: Service, canaries: Canaries) -> None:
    created = service.call("POST", "/v1/api-keys", json={"name": "bi", "scopes": ["read"]})
    assert created.status_code == 201, created.text
    first = canaries.known(created.json()["key"], "a new API key", shown_in=created)
    key_id = created.json()["id"]
    assert service.call("GET", "/v1/workspace", headers=bearer(first)).status_code == 200
    rotated = service.call("POST", f"/v1/api-keys/{key_id}/rotate")
    assert rotated.status_code in (200, 201), rotated.text
    canaries.known(rotated.json()["key"], "a rotated API key", shown_in=rotated)
    service.call("GET", "/v1/api-keys")
    service.call("GET", f"/v1/api-keys/{key_id}")
    assert service.call("DELETE", f"/v1/api-keys/{rotated.json()['id']}").status_code == 204
    assert (
        service.call("GET", "/v1/workspace", headers=bearer(rotated.json()["key"])).status_code
        == 401
    )
    service.call("POST", "/v1/api-keys", json={"name": "x", "scopes": ["root"]})  # 422


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def drive_connections(
    service: Service, canaries: Canaries, salesforce: FakeSalesforce, hubspot: FakeHubSpot
) -> None:
    refresh = {
        "kind": "salesforce",
        "auth": "refresh_token",
        "instance_url": salesforce.instance_url,
        "client_id": "canary-client-id",
        "client_secret": salesforce_fake.CLIENT_SECRET,
        "refresh_token": salesforce.refresh_token,
    }
    password = {
        "kind": "salesforce",
        "auth": "password",
        "instance_url": salesforce.instance_url,
        "username": salesforce_fake.USERNAME,
        "password": salesforce_fake.PASSWORD,
        "security_token": salesforce_fake.SECURITY_TOKEN,
    }
    private_app = {
        "kind": "hubspot",
        "base_url": hubspot.base_url,
        "access_token": hubspot.private_token,
    }
    oauth = {
        "kind": "hubspot",
        "base_url": hubspot.base_url,
        "client_id": hubspot.client_id,
        "client_secret": hubspot.client_secret,
        "refresh_token": hubspot.refresh_token,
    }
    for credentials in (refresh, password, private_app, oauth):
        connection = connect(service, credentials)
        drive_one_connection(service, connection)
        wrong = {**credentials}
        for name in ("client_secret", "password", "access_token"):
            if name in wrong:
                wrong[name] = canaries.new(f"a wrong {name}")
        patched = service.call(
            "PATCH", f"/v1/connections/{connection}", json={"credentials": wrong}
        )
        assert patched.status_code == 200, patched.text
        service.call("POST", f"/v1/connections/{connection}/test")
        service.call("POST", f"/v1/connections/{connection}/sync-runs", json={})
        service.work()  # fails to authenticate: the run's error names the credential
        service.call("GET", f"/v1/sync-runs?connection_id={connection}")
        for bad in bad_connection_bodies(credentials, canaries):
            answer = service.call("POST", "/v1/connections", json=bad)
            assert answer.status_code == 422, answer.text
        service.call(
            "POST",
            "/v1/connections",
            content=f"name=x&client_secret={canaries.new('a form-encoded secret')}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        service.call(
            "POST",
            "/v1/connections",
            content=json.dumps({"name": "x", "credentials": credentials})[:-3],  # cut short
            headers=JSON,
        )
        service.call("DELETE", f"/v1/connections/{connection}")


def connect(service: Service, credentials: dict[str, Any]) -> int:
    created = service.call(
        "POST", "/v1/connections", json={"name": "CRM", "credentials": credentials}
    )
    assert created.status_code == 201, created.text
    return int(created.json()["id"])


def drive_one_connection(service: Service, connection: int) -> None:
    assert service.call("POST", f"/v1/connections/{connection}/test").status_code == 200
    service.call("GET", f"/v1/connections/{connection}")
    service.call("GET", "/v1/connections")
    service.call("PATCH", f"/v1/connections/{connection}", json={"name": "Renamed"})
    job = service.call(
        "POST", f"/v1/connections/{connection}/sync-jobs", json={"cron": "0 * * * *"}
    ).json()["id"]
    service.call("GET", f"/v1/sync-jobs/{job}")
    service.call("PATCH", f"/v1/sync-jobs/{job}", json={"enabled": False})
    service.call("POST", f"/v1/sync-jobs/{job}/run", json={"full_resync": True})
    service.work()
    runs = service.call("GET", f"/v1/sync-runs?connection_id={connection}").json()
    for run in runs:
        service.call("GET", f"/v1/sync-runs/{run['id']}")
    service.call("DELETE", f"/v1/sync-jobs/{job}")


def bad_connection_bodies(credentials: dict[str, Any], canaries: Canaries) -> list[dict[str, Any]]:
    """Bodies that each answer 422 while carrying the secrets."""
    missing = {
        k: v
        for k, v in credentials.items()
        if k not in ("refresh_token", "username", "access_token", "client_id")
    }
    userinfo = urlsplit(credentials.get("instance_url") or credentials["base_url"])
    smuggled = f"https://user:{canaries.new('a secret in a URL')}@{userinfo.netloc}"
    url_field = "instance_url" if "instance_url" in credentials else "base_url"
    return [
        {"name": "CRM", "credentials": missing},
        {"credentials": credentials},
        {"name": "CRM", "credentials": {**credentials, "kind": "pipedrive"}},
        {"name": "CRM", "credentials": {**credentials, url_field: smuggled}},
        {"name": "CRM", "credentials": credentials, "api_budget_share": "lots"},
        {"name": ["CRM"], "credentials": json.dumps(credentials)},
    ]


def drive_webhooks(service: Service, canaries: Canaries) -> None:
    sources = []
    for kind in ("generic", "slack", "discourse", "github"):
        given = (
            {"secret": canaries.new(f"{kind} signing secret")}
            if kind in ("generic", "slack")
            else {}
        )
        created = service.call("POST", "/v1/webhook-sources", json={"kind": kind, **given})
        assert created.status_code == 201, created.text
        secret = canaries.known(
            created.json()["secret"], f"{kind} signing secret", shown_in=created
        )
        sources.append((kind, created.json()["source"], secret))
    service.call("GET", "/v1/webhook-sources")
    for kind, source, secret in sources:
        deliver(service, kind, source["url_path"], secret)
        deliver(service, kind, source["url_path"], canaries.new("a wrong signing secret"))
        new_secret = canaries.new(f"{kind} rotated signing secret")
        rotated = service.call(
            "POST",
            f"/v1/webhook-sources/{source['id']}/rotate",
            json={"secret": new_secret, "overlap_hours": 1},
        )
        assert rotated.status_code == 200, rotated.text
        canaries.shown_in.setdefault(new_secret, set()).add(id(rotated))
        deliver(service, kind, source["url_path"], new_secret)
        service.call("POST", f"/v1/webhook-sources/{source['id']}/rotate", json={"secret": 42})
        service.call("PATCH", f"/v1/webhook-sources/{source['id']}", json={"secret": new_secret})
    service.call("POST", "/v1/webhook-sources", json={"kind": "slack", "secret": ""})
    service.call(
        "POST",
        "/v1/webhook-sources",
        json={"kind": "myspace", "secret": canaries.new("a secret of a bad source")},
    )
    service.call("DELETE", f"/v1/webhook-sources/{sources[0][1]['id']}")


def deliver(service: Service, kind: str, path: str, secret: str) -> None:
    stamp = str(int(service.clock().timestamp()))
    payloads = {
        "generic": {
            "id": uuid.uuid4().hex,
            "type": "forum_question",
            "occurred_at": "2025-09-01T10:00:00Z",
            "person": {"email": "jo@example.com"},
        },
        "slack": {
            "type": "event_callback",
            "event_id": uuid.uuid4().hex,
            "event": {"type": "reaction_added", "user": "U1", "event_ts": stamp},
        },
        "discourse": {
            "post": {
                "id": 1,
                "topic_id": 2,
                "post_number": 1,
                "username": "jo",
                "created_at": "2025-09-01T10:00:00Z",
            }
        },
        "github": {
            "action": "created",
            "sender": {"id": 7, "login": "jo"},
            "starred_at": "2025-09-01T10:00:00Z",
        },
    }
    body = json.dumps(payloads[kind]).encode()
    headers = {**JSON}
    if kind == "slack":
        headers["X-Slack-Request-Timestamp"] = stamp
    if kind == "generic":
        headers["X-Commattr-Timestamp"] = stamp
    if kind == "discourse":
        headers |= {"X-Discourse-Event": "post_created", "X-Discourse-Event-Id": uuid.uuid4().hex}
    if kind == "github":
        headers |= {"X-GitHub-Event": "star", "X-GitHub-Delivery": uuid.uuid4().hex}
    header = {
        "discourse": "X-Discourse-Event-Signature",
        "github": "X-Hub-Signature-256",
        "slack": "X-Slack-Signature",
        "generic": "X-Commattr-Signature",
    }[kind]
    headers[header] = sign(kind, secret, body, stamp if kind in ("slack", "generic") else None)
    service.client.post(path, content=body, headers=headers)
    service.client.post(path, content=body, headers={**headers, header: f"sha256={secret}"})


def drive_every_route(service: Service, canaries: Canaries) -> None:
    """Each operation of the API: with no key, with a wrong key, and with the admin key and a body
    full of secret-named fields, a body cut short and a body too large."""
    secret = canaries.new("a secret sent to every route")
    junk = {
        "secret": secret,
        "password": secret,
        "token": secret,
        "api_key": secret,
        "credentials": {"client_secret": secret, "refresh_token": secret},
        "name": 12,
    }
    document = service.client.get("/openapi.json").json()
    wrong_key = canaries.new("a wrong API key")
    for template, operations in document["paths"].items():
        path = template
        for parameter in ("key", "kind"):
            path = path.replace("{" + parameter + "}", "touchpoints")
        for parameter in ("external_id",):
            path = path.replace("{" + parameter + "}", "m1")
        path = "/".join("1" if part.startswith("{") else part for part in path.split("/"))
        for method in operations:
            service.client.request(method, path)
            service.client.request(method, path, headers=bearer(f"ca_live_0badc0de_{wrong_key}"))
            service.client.request(method, path, headers=bearer(wrong_key))
            service.call(method, f"{path}?token={secret}&api_key={secret}", json=junk)
            service.call(method, path, content=json.dumps(junk)[:-5], headers=JSON)
    service.call(
        "PATCH", "/v1/workspace", content=json.dumps({"name": secret * 40_000}), headers=JSON
    )
    service.call("GET", "/v1/audit-log")


def drive_rate_limits(settings: Settings, canaries: Canaries, recorder: Recorder) -> None:
    limited = settings.model_copy(
        update={"rate_limit_failed_auth": "2/minute", "rate_limit_per_key": "2/minute"}
    )
    wrong_key = canaries.new("a wrong API key of a locked-out address")
    with TestClient(create_app(limited)) as client:
        client.event_hooks["response"].append(recorder)
        statuses = [
            client.get("/v1/workspace", headers=bearer(wrong_key)).status_code for _ in range(3)
        ]
    assert statuses == [401, 401, 429]
