"""Commit, then answer: once a write route's response arrives, its result is in the database for
every other connection to see; a commit that fails answers 500 and stores nothing.

The app is served over real HTTP (uvicorn in a thread), and the database is read through a second,
independent engine the moment the response arrives. The server's commits are made slow (a
``commit`` event that waits a little), so an answer sent before its commit is caught every time,
not in 2 tries out of 3.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError

from app.config import Settings
from app.db import build_engine
from app.main import create_app
from app.models import (
    ActivityType,
    ApiKey,
    AttributionRun,
    Credit,
    CrmConnection,
    DefaultRun,
    ExchangeRate,
    ImportJob,
    ImportSource,
    Member,
    MemberLink,
    MemberLinkBlock,
    Opportunity,
    Program,
    SyncJob,
    SyncRun,
    Touchpoint,
    WebhookSource,
    Workspace,
)
from app.webhooks.signatures import sign
from tests.conftest import DEFAULT_NOW, SettableClock, new_workspace
from tests.fakes.salesforce import FakeSalesforce
from tests.golden.loader import CRM_SOURCE, dataset
from tests.live import live_server

COMMIT_DELAY_SECONDS = 0.3
WRITE_METHODS = ("post", "put", "patch", "delete")


@dataclass
class Call:
    """The request a case drives: a path and its JSON body (or a file as the body)."""

    path: str
    body: dict[str, Any] | None = None
    content: bytes | None = None


class Server:
    """The served app, a client per workspace, and an independent reader of the same database."""

    def __init__(
        self, url: str, engine: Engine, reader: Engine, settings: Settings, fake: FakeSalesforce
    ) -> None:
        self.url = url
        self.fake = fake
        self.reader = reader
        self.settings = settings
        self._slow = threading.Event()
        self.fail_commits = threading.Event()
        event.listen(engine, "commit", self._on_commit)

    def _on_commit(self, _connection: Any) -> None:
        if self.fail_commits.is_set():
            raise OperationalError("COMMIT", {}, Exception("the disk is full"))
        if self._slow.is_set():
            time.sleep(COMMIT_DELAY_SECONDS)

    @contextmanager
    def slow_commits(self) -> Iterator[None]:
        self._slow.set()
        try:
            yield
        finally:
            self._slow.clear()

    def scalar(self, statement: Any) -> Any:
        with self.reader.connect() as connection:
            return connection.execute(statement).scalar()


@dataclass
class World:
    """One new workspace on the live server, reached with its admin key."""

    server: Server
    http: httpx.Client
    workspace_id: int
    fake: FakeSalesforce

    def ok(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, path, json=body)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def count(self, model: Any, *where: Any) -> int:
        statement = select(func.count()).select_from(model).where(*where)
        return int(self.server.scalar(statement.where(model.workspace_id == self.workspace_id)))


# -- the golden dataset, step by step, as the README's "Using it" loads it -------------------------


def _clean(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if k != "notes"}


def workspace_body() -> dict[str, Any]:
    workspace = dataset()["workspace"]
    return {
        "name": workspace["name"],
        "reporting_currency": workspace["reporting_currency"],
        "time_zone": workspace["time_zone"],
        "fiscal_year_start_month": workspace["fiscal_year_start_month"],
        "staff_domains": workspace["staff_domains"],
    }


def crm_body() -> dict[str, Any]:
    data = dataset()
    parts = ("accounts", "contacts", "leads", "opportunities", "contact_roles", "exchange_rates")
    return {"source": CRM_SOURCE, **{part: [_clean(r) for r in data[part]] for part in parts}}


def members_body() -> dict[str, Any]:
    return {"members": [_clean(m) for m in dataset()["members"]]}


def touchpoints_body() -> dict[str, Any]:
    return {"touchpoints": [_clean(t) for t in dataset()["touchpoints"]]}


def touchpoints_file() -> bytes:
    activity_type = dataset()["activity_types"][0]["key"]
    return (
        "external_id,occurred_at,activity_type,member_email\n"
        f"t-1,2025-03-01T12:00:00Z,{activity_type},ada@example.com\n"
    ).encode()


def a_webhook_source(world: World, kind: str = "github") -> Any:
    return world.ok("POST", "/v1/webhook-sources", {"kind": kind})


def a_signed_delivery(world: World) -> Call:
    world.ok("PUT", "/v1/activity-types/reaction", {"name": "Reaction", "category": "engagement"})
    created = a_webhook_source(world)
    body = json.dumps(
        {
            "action": "created",
            "starred_at": "2025-09-30T15:55:00Z",
            "repository": {"id": 1296269, "full_name": "octocat/Hello-World"},
            "sender": {"login": "mona", "id": 9919},
        }
    ).encode()
    world.http.headers.update(
        {
            "X-GitHub-Event": "star",
            "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
            "X-Hub-Signature-256": sign("github", created["secret"], body),
        }
    )
    return Call(created["source"]["url_path"], content=body)


def run_body(model: str = "linear") -> dict[str, Any]:
    settings = dataset()["run_settings"]
    return {
        "model": model,
        "lookback_days": settings["lookback_days"],
        "scope": settings["scope"],
        "exclude_staff": settings["exclude_staff"],
    }


def load_catalog(world: World) -> None:
    world.ok("PATCH", "/v1/workspace", workspace_body())
    for activity_type in dataset()["activity_types"]:
        body = _clean(activity_type)
        world.ok("PUT", f"/v1/activity-types/{body.pop('key')}", body)
    for program in dataset()["programs"]:
        body = _clean(program)
        world.ok("PUT", f"/v1/programs/{body.pop('external_id')}", body)


def load_crm(world: World) -> None:
    load_catalog(world)
    world.ok("POST", "/v1/crm/import", crm_body())


def load_members(world: World) -> None:
    load_crm(world)
    world.ok("POST", "/v1/members:batch", members_body())


def load_all(world: World) -> None:
    load_members(world)
    world.ok("POST", "/v1/touchpoints:batch", touchpoints_body())


def a_run(world: World) -> int:
    load_all(world)
    run_id: int = world.ok("POST", "/v1/attribution-runs", run_body())["id"]
    return run_id


FREEZE = {"from": "2025-01-01", "to": "2025-03-31", "note": "Q1 board deck"}


def a_frozen_run(world: World) -> int:
    run_id = a_run(world)
    world.ok("POST", f"/v1/attribution-runs/{run_id}/freeze", FREEZE)
    return run_id


def connection_body(world: World) -> dict[str, Any]:
    given = asdict(world.fake.refresh_token_credentials())
    credentials = {k: v for k, v in given.items() if v is not None}
    return {"name": "Production org", "credentials": {"kind": "salesforce", **credentials}}


def a_member_link(world: World) -> int:
    load_members(world)
    link_id: int = world.ok("GET", "/v1/members/mem-alice")["links"][0]["id"]
    return link_id


def a_connection(world: World) -> int:
    connection_id: int = world.ok("POST", "/v1/connections", connection_body(world))["id"]
    return connection_id


def a_queued_run(world: World) -> int:
    run_id: int = world.ok("POST", "/v1/attribution-runs?wait=false", {"model": "linear"})["id"]
    return run_id


def a_queued_sync(world: World) -> int:
    path = f"/v1/connections/{a_connection(world)}/sync-runs"
    run_id: int = world.ok("POST", path, {})["id"]
    return run_id


def a_queued_import(world: World) -> int:
    path = "/v1/members:import?source=bevy&format=csv&wait=false"
    response = world.http.post(path, content=b"external_id,email\nm-1,ada@example.com\n")
    assert response.status_code == 202, response.text
    import_id: int = response.json()["id"]
    return import_id


def a_sync_job(world: World) -> int:
    connection_id = a_connection(world)
    path = f"/v1/connections/{connection_id}/sync-jobs"
    job_id: int = world.ok("POST", path, {"cron": "0 * * * *"})["id"]
    return job_id


def a_key(world: World) -> int:
    key_id: int = world.ok("POST", "/v1/api-keys", {"name": "BI", "scopes": ["read"]})["id"]
    return key_id


# -- every write route: how to reach it, and what the database must hold once it has answered -----


@dataclass
class Case:
    prepare: Callable[[World], Call]
    stored: Callable[[World, httpx.Response], None]


def _created_connection(world: World, response: httpx.Response) -> None:
    connection_id = response.json()["id"]
    assert world.count(CrmConnection, CrmConnection.id == connection_id) == 1


def _tested_connection(world: World, response: httpx.Response) -> None:
    # the check writes nothing: the connection it read is there, as it was
    connection_id = int(response.request.url.path.split("/")[-2])
    assert response.json()["authenticated"] is True
    assert world.count(CrmConnection, CrmConnection.id == connection_id) == 1


def _run_stored(world: World, response: httpx.Response) -> None:
    run_id = response.json()["id"]
    status = world.server.scalar(select(AttributionRun.status).where(AttributionRun.id == run_id))
    assert status == response.json()["status"] == "succeeded"
    assert world.count(Credit, Credit.run_id == run_id) > 0


def _frozen(expected: str | None) -> Callable[[World, httpx.Response], None]:
    def stored(world: World, response: httpx.Response) -> None:
        frozen_from = world.server.scalar(
            select(AttributionRun.frozen_from).where(AttributionRun.id == response.json()["id"])
        )
        assert (None if frozen_from is None else frozen_from.isoformat()) == expected

    return stored


def _last_path_id(response: httpx.Response) -> int:
    return int(response.request.url.path.rstrip("/").split("/")[-1])


CASES: dict[str, Case] = {
    "PATCH /v1/workspace": Case(
        prepare=lambda w: Call("/v1/workspace", workspace_body()),
        stored=lambda w, r: _expect(
            w.server.scalar(select(Workspace.time_zone).where(Workspace.id == w.workspace_id)),
            workspace_body()["time_zone"],
        ),
    ),
    "PUT /v1/activity-types/{key}": Case(
        prepare=lambda w: Call(
            f"/v1/activity-types/{dataset()['activity_types'][0]['key']}",
            {k: v for k, v in _clean(dataset()["activity_types"][0]).items() if k != "key"},
        ),
        stored=lambda w, r: _expect(w.count(ActivityType, ActivityType.key == r.json()["key"]), 1),
    ),
    "POST /v1/activity-types": Case(
        prepare=lambda w: Call(
            "/v1/activity-types", {"key": "podcast", "name": "Podcast", "category": "acquisition"}
        ),
        stored=lambda w, r: _expect(w.count(ActivityType, ActivityType.key == "podcast"), 1),
    ),
    "PATCH /v1/activity-types/{key}": Case(
        prepare=lambda w: Call("/v1/activity-types/referral", {"name": "Referral made"}),
        stored=lambda w, r: _expect(w.count(ActivityType, ActivityType.name == "Referral made"), 1),
    ),
    "DELETE /v1/activity-types/{key}": Case(
        prepare=lambda w: Call("/v1/activity-types/referral"),
        stored=lambda w, r: _expect(w.count(ActivityType, ActivityType.key == "referral"), 0),
    ),
    "POST /v1/programs": Case(
        prepare=lambda w: Call(
            "/v1/programs", {"key": "summit", "name": "Summit", "cost": "100", "currency": "USD"}
        ),
        stored=lambda w, r: _expect(w.count(Program), 1),
    ),
    "PATCH /v1/programs/{key}": Case(
        prepare=lambda w: (
            load_catalog(w),
            Call(f"/v1/programs/{dataset()['programs'][0]['external_id']}", {"name": "Renamed"}),
        )[1],
        stored=lambda w, r: _expect(w.count(Program, Program.name == "Renamed"), 1),
    ),
    "DELETE /v1/programs/{key}": Case(
        prepare=lambda w: (
            load_catalog(w),
            Call(f"/v1/programs/{dataset()['programs'][0]['external_id']}"),
        )[1],
        stored=lambda w, r: _expect(w.count(Program), len(dataset()["programs"]) - 1),
    ),
    "POST /v1/privacy/erase": Case(
        prepare=lambda w: (load_members(w), Call("/v1/privacy/erase", {"member": "mem-zed"}))[1],
        stored=lambda w, r: _expect(w.count(Member), len(dataset()["members"]) - 1),
    ),
    "PUT /v1/programs/{key}": Case(
        prepare=lambda w: Call(
            f"/v1/programs/{dataset()['programs'][0]['external_id']}",
            {k: v for k, v in _clean(dataset()["programs"][0]).items() if k != "external_id"},
        ),
        stored=lambda w, r: _expect(w.count(Program), 1),
    ),
    "POST /v1/crm/import": Case(
        prepare=lambda w: (load_catalog(w), Call("/v1/crm/import", crm_body()))[1],
        stored=lambda w, r: _expect(w.count(Opportunity), len(dataset()["opportunities"])),
    ),
    "PUT /v1/exchange-rates": Case(
        prepare=lambda w: (
            load_catalog(w),
            Call("/v1/exchange-rates", {"rates": crm_body()["exchange_rates"]}),
        )[1],
        stored=lambda w, r: _expect(w.count(ExchangeRate), len(dataset()["exchange_rates"])),
    ),
    "POST /v1/members:batch": Case(
        prepare=lambda w: (load_crm(w), Call("/v1/members:batch", members_body()))[1],
        stored=lambda w, r: _expect(w.count(Member), len(dataset()["members"])),
    ),
    "POST /v1/members/{external_id}/links": Case(
        prepare=lambda w: (
            load_members(w),
            Call("/v1/members/mem-zed/links", {"target": "account", "external_id": "001-HOOLI"}),
        )[1],
        stored=lambda w, r: _expect(w.count(MemberLink, MemberLink.method == "manual"), 1),
    ),
    "DELETE /v1/members/{external_id}/links/{link_id}": Case(
        prepare=lambda w: Call(f"/v1/members/mem-alice/links/{a_member_link(w)}"),
        stored=lambda w, r: _expect(w.count(MemberLinkBlock), 1),
    ),
    "POST /v1/members:merge": Case(
        prepare=lambda w: (
            load_members(w),
            Call("/v1/members:merge", {"into": "mem-alice", "members": ["mem-zed"]}),
        )[1],
        stored=lambda w, r: _expect(w.count(Member), len(dataset()["members"]) - 1),
    ),
    "POST /v1/touchpoints:batch": Case(
        prepare=lambda w: (load_members(w), Call("/v1/touchpoints:batch", touchpoints_body()))[1],
        stored=lambda w, r: _expect(w.count(Touchpoint), r.json()["stored"]),
    ),
    "POST /v1/touchpoints:import": Case(
        prepare=lambda w: (
            load_catalog(w),
            Call("/v1/touchpoints:import?source=zoom&format=csv", content=touchpoints_file()),
        )[1],
        stored=lambda w, r: _expect(w.count(Touchpoint), r.json()["stored"]),
    ),
    "POST /v1/members:import": Case(
        prepare=lambda w: Call(
            "/v1/members:import?source=bevy&format=csv",
            content=b"external_id,email\nm-1,ada@example.com\n",
        ),
        stored=lambda w, r: _expect(w.count(Member), 1),
    ),
    "POST /v1/imports/{import_id}/cancel": Case(
        prepare=lambda w: Call(f"/v1/imports/{a_queued_import(w)}/cancel"),
        stored=lambda w, r: _expect(
            w.count(ImportJob, ImportJob.id == r.json()["id"], ImportJob.status == "cancelled"), 1
        ),
    ),
    "PUT /v1/import-sources/{kind}/{key}": Case(
        prepare=lambda w: Call("/v1/import-sources/touchpoints/zoom", {"mapping": {}}),
        stored=lambda w, r: _expect(w.count(ImportSource), 1),
    ),
    "DELETE /v1/import-sources/{kind}/{key}": Case(
        prepare=lambda w: (
            w.ok("PUT", "/v1/import-sources/members/bevy", {"mapping": {}}),
            Call("/v1/import-sources/members/bevy"),
        )[1],
        stored=lambda w, r: _expect(w.count(ImportSource), 0),
    ),
    "POST /v1/webhook-sources": Case(
        prepare=lambda w: Call("/v1/webhook-sources", {"kind": "github"}),
        stored=lambda w, r: _expect(w.count(WebhookSource), 1),
    ),
    "PATCH /v1/webhook-sources/{source_id}": Case(
        prepare=lambda w: Call(
            f"/v1/webhook-sources/{a_webhook_source(w)['source']['id']}",
            {"event_map": {"star.created": None}},
        ),
        stored=lambda w, r: _expect(
            w.server.scalar(
                select(WebhookSource.event_map).where(WebhookSource.id == r.json()["id"])
            ),
            {"star.created": None},
        ),
    ),
    "POST /v1/webhook-sources/{source_id}/rotate": Case(
        prepare=lambda w: Call(
            f"/v1/webhook-sources/{a_webhook_source(w)['source']['id']}/rotate", {}
        ),
        stored=lambda w, r: _expect(
            w.count(WebhookSource, WebhookSource.rotated_at.is_not(None)), 1
        ),
    ),
    "DELETE /v1/webhook-sources/{source_id}": Case(
        prepare=lambda w: Call(f"/v1/webhook-sources/{a_webhook_source(w)['source']['id']}"),
        stored=lambda w, r: _expect(w.count(WebhookSource), 0),
    ),
    "POST /v1/webhooks/{key}": Case(
        prepare=a_signed_delivery,
        stored=lambda w, r: _expect(w.count(Touchpoint), r.json()["touchpoints"]),
    ),
    "POST /v1/attribution-runs": Case(
        prepare=lambda w: (load_all(w), Call("/v1/attribution-runs", run_body()))[1],
        stored=_run_stored,
    ),
    "POST /v1/attribution-runs/{run_id}/freeze": Case(
        prepare=lambda w: Call(f"/v1/attribution-runs/{a_run(w)}/freeze", FREEZE),
        stored=_frozen(FREEZE["from"]),
    ),
    "DELETE /v1/attribution-runs/{run_id}/freeze": Case(
        prepare=lambda w: Call(f"/v1/attribution-runs/{a_frozen_run(w)}/freeze"),
        stored=_frozen(None),
    ),
    "POST /v1/attribution-runs/{run_id}/cancel": Case(
        prepare=lambda w: Call(f"/v1/attribution-runs/{a_queued_run(w)}/cancel"),
        stored=lambda w, r: _expect(
            w.count(
                AttributionRun,
                AttributionRun.id == r.json()["id"],
                AttributionRun.status == "cancelled",
            ),
            1,
        ),
    ),
    "POST /v1/sync-runs/{run_id}/cancel": Case(
        prepare=lambda w: Call(f"/v1/sync-runs/{a_queued_sync(w)}/cancel"),
        stored=lambda w, r: _expect(
            w.count(SyncRun, SyncRun.id == r.json()["id"], SyncRun.status == "cancelled"), 1
        ),
    ),
    "PUT /v1/workspace/default-runs": Case(
        prepare=lambda w: Call("/v1/workspace/default-runs", {"runs": [run_body("markov")]}),
        stored=lambda w, r: _expect(w.count(DefaultRun), 1),
    ),
    "POST /v1/connections": Case(
        prepare=lambda w: Call("/v1/connections", connection_body(w)),
        stored=_created_connection,
    ),
    "PATCH /v1/connections/{connection_id}": Case(
        prepare=lambda w: Call(f"/v1/connections/{a_connection(w)}", {"name": "Renamed org"}),
        stored=lambda w, r: _expect(w.count(CrmConnection, CrmConnection.name == "Renamed org"), 1),
    ),
    "DELETE /v1/connections/{connection_id}": Case(
        prepare=lambda w: Call(f"/v1/connections/{a_connection(w)}"),
        stored=lambda w, r: _expect(
            w.count(CrmConnection, CrmConnection.id == _last_path_id(r)), 0
        ),
    ),
    "POST /v1/connections/{connection_id}/test": Case(
        prepare=lambda w: Call(f"/v1/connections/{a_connection(w)}/test"),
        stored=_tested_connection,
    ),
    "POST /v1/connections/{connection_id}/sync-jobs": Case(
        prepare=lambda w: Call(
            f"/v1/connections/{a_connection(w)}/sync-jobs", {"cron": "*/5 * * * *"}
        ),
        stored=lambda w, r: _expect(w.count(SyncJob, SyncJob.id == r.json()["id"]), 1),
    ),
    "POST /v1/connections/{connection_id}/sync-runs": Case(
        prepare=lambda w: Call(f"/v1/connections/{a_connection(w)}/sync-runs", {}),
        stored=lambda w, r: _expect(
            w.count(SyncRun, SyncRun.id == r.json()["id"], SyncRun.status == "queued"), 1
        ),
    ),
    "PATCH /v1/sync-jobs/{job_id}": Case(
        prepare=lambda w: Call(f"/v1/sync-jobs/{a_sync_job(w)}", {"enabled": False}),
        stored=lambda w, r: _expect(
            w.count(SyncJob, SyncJob.id == r.json()["id"], SyncJob.enabled.is_(False)), 1
        ),
    ),
    "DELETE /v1/sync-jobs/{job_id}": Case(
        prepare=lambda w: Call(f"/v1/sync-jobs/{a_sync_job(w)}"),
        stored=lambda w, r: _expect(w.count(SyncJob, SyncJob.id == _last_path_id(r)), 0),
    ),
    "POST /v1/sync-jobs/{job_id}/run": Case(
        prepare=lambda w: Call(f"/v1/sync-jobs/{a_sync_job(w)}/run", {}),
        stored=lambda w, r: _expect(w.count(SyncRun, SyncRun.id == r.json()["id"]), 1),
    ),
    "POST /v1/api-keys": Case(
        prepare=lambda w: Call("/v1/api-keys", {"name": "BI", "scopes": ["read"]}),
        stored=lambda w, r: _expect(w.count(ApiKey, ApiKey.id == r.json()["id"]), 1),
    ),
    "DELETE /v1/api-keys/{key_id}": Case(
        prepare=lambda w: Call(f"/v1/api-keys/{a_key(w)}"),
        stored=lambda w, r: _expect(
            w.count(ApiKey, ApiKey.id == _last_path_id(r), ApiKey.revoked_at.is_not(None)), 1
        ),
    ),
    "POST /v1/api-keys/{key_id}/rotate": Case(
        prepare=lambda w: Call(f"/v1/api-keys/{a_key(w)}/rotate"),
        stored=lambda w, r: _expect(w.count(ApiKey, ApiKey.replaced_by_id == r.json()["id"]), 1),
    ),
}


def _expect(found: Any, wanted: Any) -> None:
    assert found == wanted, f"a second connection sees {found!r}, the answer promised {wanted!r}"


# -- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[Server]:
    with FakeSalesforce() as fake, pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", fake.ca_path)
        settings = Settings(
            database_url=database_url, crm_test_hosts=(urlsplit(fake.instance_url).netloc,)
        )
        app = create_app(settings, clock=SettableClock(DEFAULT_NOW))
        reader = build_engine(settings)
        with live_server(app) as url:
            yield Server(url, app.state.engine, reader, settings, fake)
        reader.dispose()


@pytest.fixture
def world(server: Server) -> Iterator[World]:
    workspace_id, key = new_workspace(server.settings)
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60) as http:
        yield World(server, http, workspace_id, server.fake)


# -- the specification -----------------------------------------------------------------------------


def write_routes() -> set[str]:
    document = create_app(Settings()).openapi()
    return {
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        for method in operations
        if method in WRITE_METHODS
    }


def test_every_write_route_of_the_api_has_a_case_here() -> None:
    missing = write_routes() - set(CASES)
    assert not missing, f"write routes without a case in {__name__}: add one for each: {missing}"
    assert not set(CASES) - write_routes(), "cases for routes the API no longer has"


@pytest.mark.parametrize("route", sorted(CASES))
def test_a_write_is_visible_to_another_connection_when_its_answer_arrives(
    route: str, world: World
) -> None:
    method, _template = route.split(" ", 1)
    case = CASES[route]
    call = case.prepare(world)
    with world.server.slow_commits():
        response = world.http.request(method, call.path, json=call.body, content=call.content)
        assert response.status_code < 300, response.text
        case.stored(world, response)


def test_a_commit_that_fails_answers_500_with_the_request_id_and_stores_nothing(
    world: World,
) -> None:
    load_crm(world)
    world.server.fail_commits.set()
    try:
        response = world.http.post(
            "/v1/members:batch", json=members_body(), headers={"X-Request-ID": "commit-fails-1"}
        )
    finally:
        world.server.fail_commits.clear()
    assert response.status_code == 500
    assert response.headers["X-Request-ID"] == "commit-fails-1"
    assert response.json()["request_id"] == "commit-fails-1"
    assert world.count(Member) == 0
