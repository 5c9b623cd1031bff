"""Benchmark of CRM sync through the real service path, against the local fake CRMs.

    python -m benchmarks.sync --contacts 200000 --opportunities 50000 --backend both --crm both

For each CRM and backend: a fresh fake seeded with accounts (contacts / 10), contacts and
opportunities with 1-3 contact roles each (tests/fakes/serve.py's generators); a freshly migrated
database (app.migrate.upgrade; PostgreSQL from ``scripts/test-postgres start`` unless
``--postgres-url``); a workspace, a connection (Settings(crm_test_hosts=...)) and a sync job
created by the services; then runs queued with app.sync.jobs.queue_run and executed by
app.worker.sync_next, with a RetryPolicy that never sleeps:

* full: the first run of the job (it also reconciles junction rows, as a job's first run does);
* incremental: after 1% of contacts and opportunities changed and a few deleted (with their
  roles), the job's next run (no reconcile);
* reconcile: one more run with the full id comparison of junction rows switched on (every
  ``reconcile_every``-th run of a job); HubSpot roles of deleted contacts vanish only here.

Each stream is timed (sync engine functions wrapped, nothing else changed): total, the part spent
in the fake CRM's request handler (``crm``), in the database work of the engine (``db``: reading
stored rows, upserts, cursors, progress), and the rest (``client``: HTTP client, SDK parsing,
record building); ``recon`` is the database side of the junction reconcile (the CRM's full id
list is read within ``client``/``crm``). The fake runs in this process, so its time is part of
the wall time, as a remote CRM's latency would be. At the end, live row counts must equal the
fake's live counts.
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from app import migrate
from app.config import Settings
from app.connections.schemas import ConnectionCreate
from app.connections.service import create_connection
from app.db import build_engine, build_sessionmaker, transaction
from app.models import (
    Account,
    Contact,
    CrmConnection,
    Opportunity,
    OpportunityContact,
    SyncJob,
    SyncRun,
)
from app.sync import service as sync_service
from app.sync.jobs import create_job, queue_run
from app.sync.schemas import SyncJobCreate
from app.worker import sync_next
from app.workspaces.service import create_workspace
from connectors.retry import RetryPolicy
from tests.fakes.hubspot import FakeHubSpot
from tests.fakes.salesforce import FakeSalesforce
from tests.fakes.serve import (
    Seeded,
    Sizes,
    hubspot_connection,
    salesforce_connection,
    seed_hubspot,
    seed_salesforce,
)

ROOT = Path(__file__).resolve().parent.parent
MODELS: dict[str, Any] = {
    "account": Account,
    "contact": Contact,
    "opportunity": Opportunity,
    "opportunity_contact": OpportunityContact,
}
STREAMS = tuple(MODELS)


# -- timing ------------------------------------------------------------------------------------


@dataclass
class StreamTime:
    total: float = 0.0
    db: float = 0.0
    crm: float = 0.0
    reconcile: float = 0.0


@dataclass
class Meter:
    """Time per stream, split by where it went; ``current`` is the stream being synced."""

    streams: dict[str, StreamTime] = field(default_factory=dict)
    finish: float = 0.0
    current: str | None = None

    def stream(self) -> StreamTime:
        return self.streams.setdefault(self.current or "(none)", StreamTime())

    def reset(self) -> None:
        self.streams, self.finish, self.current = {}, 0.0, None


METER = Meter()


def _timed(attribute: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def wrap(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                setattr(
                    METER.stream(),
                    attribute,
                    getattr(METER.stream(), attribute) + time.perf_counter() - started,
                )

        return timed

    return wrap


@contextmanager
def instrumented() -> Iterator[None]:
    """Wrap the sync engine's per-stream, per-page and finishing steps with timers."""
    originals = {
        name: getattr(sync_service, name)
        for name in (
            "_sync_stream",
            "_apply_page",
            "_advance_cursor",
            "_save_progress",
            "_reconcile",
            "_finish",
        )
    }

    def sync_stream(context: Any, kind: Any) -> None:
        METER.current = kind.value
        started = time.perf_counter()
        try:
            originals["_sync_stream"](context, kind)
        finally:
            METER.stream().total += time.perf_counter() - started
            METER.current = None

    def finish(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        try:
            originals["_finish"](*args, **kwargs)
        finally:
            METER.finish += time.perf_counter() - started

    replacements = {
        "_sync_stream": sync_stream,
        "_apply_page": _timed("db")(originals["_apply_page"]),
        "_advance_cursor": _timed("db")(originals["_advance_cursor"]),
        "_save_progress": _timed("db")(originals["_save_progress"]),
        "_reconcile": _timed("reconcile")(originals["_reconcile"]),
        "_finish": finish,
    }
    for name, replacement in replacements.items():
        setattr(sync_service, name, replacement)
    try:
        yield
    finally:
        for name, original in originals.items():
            setattr(sync_service, name, original)


def _time_fake_handler(fake: Any, name: str) -> None:
    """Count the time the fake spends answering requests into the current stream's ``crm``."""
    handler = getattr(fake, name)

    @functools.wraps(handler)
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return handler(*args, **kwargs)
        finally:
            METER.stream().crm += time.perf_counter() - started

    setattr(fake, name, timed)


# -- the fakes ---------------------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Crm:
    """One seeded fake CRM and what the benchmark asks of it."""

    name: str

    def host(self) -> str:
        raise NotImplementedError

    def connection_body(self) -> dict[str, Any]:
        raise NotImplementedError

    def latest_change(self) -> datetime:
        raise NotImplementedError

    def live_counts(self) -> dict[str, int]:
        raise NotImplementedError

    def mutate(self, rng: random.Random, share: float, deletes: int) -> dict[str, int]:
        raise NotImplementedError


class SalesforceCrm(Crm):
    name = "salesforce"

    def __init__(self, fake: FakeSalesforce, seeded: Seeded) -> None:
        self.fake, self.seeded = fake, seeded

    def host(self) -> str:
        return urlsplit(self.fake.instance_url).netloc

    def connection_body(self) -> dict[str, Any]:
        return salesforce_connection(self.fake)

    def latest_change(self) -> datetime:
        return self.fake.clock  # the next stamp; every record is older

    def live_counts(self) -> dict[str, int]:
        objects = ("Account", "Contact", "Opportunity", "OpportunityContactRole")
        return {
            stream: len(self.fake.records(name))
            for stream, name in zip(STREAMS, objects, strict=True)
        }

    def mutate(self, rng: random.Random, share: float, deletes: int) -> dict[str, int]:
        contacts = self.seeded.ids["Contact"]
        deals = self.seeded.ids["Opportunity"]
        changed_contacts = rng.sample(contacts, int(len(contacts) * share))
        changed_deals = rng.sample(deals, int(len(deals) * share))
        for n, contact in enumerate(changed_contacts):
            self.fake.put("Contact", {"Id": contact, "Email": f"moved{n}@changed.example.com"})
        for deal in changed_deals:
            self.fake.put(
                "Opportunity",
                {
                    "Id": deal,
                    "StageName": "Negotiation/Review",
                    "Amount": Decimal(rng.randrange(1, 9_000)) * 100,
                },
            )
        gone_contacts = set(rng.sample(sorted(set(contacts) - set(changed_contacts)), deletes))
        gone_deals = set(rng.sample(sorted(set(deals) - set(changed_deals)), max(deletes // 4, 1)))
        roles = 0
        # Salesforce deletes a contact's and an opportunity's contact roles with it
        for role in self.fake.records("OpportunityContactRole"):
            if role["ContactId"] in gone_contacts or role["OpportunityId"] in gone_deals:
                self.fake.delete("OpportunityContactRole", role["Id"])
                roles += 1
        for contact in sorted(gone_contacts):
            self.fake.delete("Contact", contact)
        for deal in sorted(gone_deals):
            self.fake.delete("Opportunity", deal)
        return {
            "contacts changed": len(changed_contacts),
            "opportunities changed": len(changed_deals),
            "contacts deleted": len(gone_contacts),
            "opportunities deleted": len(gone_deals),
            "roles deleted": roles,
        }


class HubSpotCrm(Crm):
    name = "hubspot"

    def __init__(self, fake: FakeHubSpot, seeded: Seeded) -> None:
        self.fake, self.seeded = fake, seeded
        self.latest = max(
            datetime.fromisoformat(r["updatedAt"])
            for kind in ("companies", "contacts", "deals")
            for r in fake.records(kind)
        )

    def host(self) -> str:
        return urlsplit(self.fake.base_url).netloc

    def connection_body(self) -> dict[str, Any]:
        return hubspot_connection(self.fake)

    def latest_change(self) -> datetime:
        return self.latest + timedelta(milliseconds=1)

    def live_counts(self) -> dict[str, int]:
        return {
            "account": len(self.fake.records("companies")),
            "contact": len(self.fake.records("contacts")),
            "opportunity": len(self.fake.records("deals")),
            "opportunity_contact": len(self.fake.associations("deals", "contacts")),
        }

    def _tick(self) -> datetime:
        self.latest += timedelta(milliseconds=7)
        return self.latest

    def mutate(self, rng: random.Random, share: float, deletes: int) -> dict[str, int]:
        contacts = self.seeded.ids["contacts"]
        deals = self.seeded.ids["deals"]
        changed_contacts = rng.sample(contacts, int(len(contacts) * share))
        changed_deals = rng.sample(deals, int(len(deals) * share))
        for n, contact in enumerate(changed_contacts):
            self.fake.put(
                "contacts",
                contact,
                {"email": f"moved{n}@changed.example.com"},
                modified_at=self._tick(),
            )
        for deal in changed_deals:
            self.fake.put(
                "deals",
                deal,
                {"dealstage": "contractsent", "amount": str(rng.randrange(1, 9_000) * 100)},
                modified_at=self._tick(),
            )
        gone_contacts = rng.sample(sorted(set(contacts) - set(changed_contacts)), deletes)
        gone_deals = rng.sample(sorted(set(deals) - set(changed_deals)), max(deletes // 4, 1))
        before = len(self.fake.associations("deals", "contacts"))
        for contact in gone_contacts:
            self.fake.archive("contacts", contact, at=self._tick())
        for deal in gone_deals:
            self.fake.archive("deals", deal, at=self._tick())
        return {
            "contacts changed": len(changed_contacts),
            "opportunities changed": len(changed_deals),
            "contacts deleted": len(gone_contacts),
            "opportunities deleted": len(gone_deals),
            "roles deleted": before - len(self.fake.associations("deals", "contacts")),
        }


@contextmanager
def seeded_crm(name: str, sizes: Sizes, seed: int) -> Iterator[tuple[Crm, float]]:
    """A fresh fake of the CRM, seeded; answers it and the seconds seeding took."""
    if name == "salesforce":
        with FakeSalesforce() as salesforce:
            started = time.perf_counter()
            seeded = seed_salesforce(salesforce, seed=seed, sizes=sizes)
            seconds = time.perf_counter() - started
            _time_fake_handler(salesforce, "respond")
            previous = os.environ.get("REQUESTS_CA_BUNDLE")
            # this machine sets REQUESTS_CA_BUNDLE, which overrides requests' own verify
            os.environ["REQUESTS_CA_BUNDLE"] = salesforce.ca_path
            try:
                yield SalesforceCrm(salesforce, seeded), seconds
            finally:
                if previous is None:
                    os.environ.pop("REQUESTS_CA_BUNDLE", None)
                else:
                    os.environ["REQUESTS_CA_BUNDLE"] = previous
    else:
        with FakeHubSpot() as hubspot:
            started = time.perf_counter()
            seeded = seed_hubspot(hubspot, seed=seed, sizes=sizes)
            seconds = time.perf_counter() - started
            _time_fake_handler(hubspot, "handle")
            yield HubSpotCrm(hubspot, seeded), seconds


# -- the bare pull: the same records through the SDKs alone, no database ---------------------


SALESFORCE_PULL = {
    "Account": "Id, Name, Website, NumberOfEmployees, AnnualRevenue, MasterRecordId",
    "Contact": "Id, AccountId, Name, Email, CreatedDate, MasterRecordId",
    "Opportunity": "Id, Name, AccountId, Type, StageName, IsClosed, IsWon, CreatedDate, "
    "CloseDate, Amount",
    "OpportunityContactRole": "Id, OpportunityId, ContactId, Role, IsPrimary",
}
HUBSPOT_PULL = {
    "companies": ["name", "domain", "numberofemployees", "annualrevenue"],
    "contacts": ["firstname", "lastname", "email", "associatedcompanyid", "createdate"],
    "deals": ["dealname", "amount", "dealstage", "pipeline", "createdate", "closedate"],
}


def bare_pull(crm: Crm) -> tuple[float, int, float | None]:
    """Seconds to read every record the sync reads with the bare SDK (simple-salesforce REST
    queryAll; hubspot-api-client list pages and v4 batch association reads), how many, and for
    Salesforce the seconds of the same read through Bulk API 2.0 queryAll jobs (simple-salesforce
    ``bulk2``, CSV rows parsed), which the sync uses for large full reads."""
    started = time.perf_counter()
    if isinstance(crm, SalesforceCrm):
        sf = _salesforce_session(crm.fake)
        count = _salesforce_pull(sf)
        rest = time.perf_counter() - started
        started = time.perf_counter()
        bulk_count = _salesforce_bulk_pull(sf)
        assert bulk_count == count, f"Bulk API read {bulk_count} records, REST {count}"
        return rest, count, time.perf_counter() - started
    assert isinstance(crm, HubSpotCrm)
    count = _hubspot_pull(crm.fake)
    return time.perf_counter() - started, count, None


def _salesforce_session(fake: FakeSalesforce) -> Any:
    import requests
    from simple_salesforce.api import Salesforce

    from tests.fakes.salesforce import CLIENT_ID, CLIENT_SECRET

    token = requests.post(
        f"{fake.instance_url}/services/oauth2/token",
        data={
            "grant_type": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": fake.refresh_token,
        },
        timeout=30,
    ).json()
    return Salesforce(
        session_id=token["access_token"], instance_url=fake.instance_url, version="59.0"
    )


def _salesforce_soql(name: str, fields: str) -> str:
    return f"SELECT {fields}, SystemModstamp, IsDeleted FROM {name} ORDER BY SystemModstamp, Id"


def _salesforce_pull(sf: Any) -> int:
    count = 0
    for name, fields in SALESFORCE_PULL.items():
        soql = _salesforce_soql(name, fields)
        count += sum(1 for _ in sf.query_all_iter(soql, include_deleted=True))
    return count


def _salesforce_bulk_pull(sf: Any) -> int:
    count = 0
    for name, fields in SALESFORCE_PULL.items():
        job = getattr(sf.bulk2, name)
        for result in job.query_all(_salesforce_soql(name, fields), wait=0):
            count += sum(1 for _ in csv.DictReader(io.StringIO(result)))
    return count


def _hubspot_pull(fake: FakeHubSpot) -> int:
    import hubspot.crm.associations.v4 as associations_v4
    import hubspot.crm.objects as crm_objects

    def client(package: Any) -> Any:
        configuration = package.Configuration(host=fake.base_url)
        configuration.access_token = fake.private_token
        return package.ApiClient(configuration=configuration)

    objects = crm_objects.BasicApi(client(crm_objects))
    batch = associations_v4.BatchApi(client(associations_v4))
    count = 0
    ids: dict[str, list[str]] = {}
    for object_type, properties in HUBSPOT_PULL.items():
        after, found = None, []
        while True:
            options = {"after": after} if after else {}
            page = objects.get_page(object_type, limit=100, properties=properties, **options)
            found += [item.id for item in page.results]
            following = page.paging.next if page.paging else None
            if following is None:
                break
            after = following.after
        ids[object_type] = found
        count += len(found)
    for from_type, to_type in (
        ("deals", "contacts"),
        ("companies", "contacts"),
        ("companies", "deals"),
    ):
        pending = [{"id": record_id} for record_id in ids[from_type]]
        while pending:
            chunk, pending = pending[:1000], pending[1000:]
            result = batch.get_page(from_type, to_type, {"inputs": chunk})
            for row in result.results:
                count += len(row.to or ())
                if row.paging and row.paging.next:
                    pending.append({"id": row._from.id, "after": row.paging.next.after})
    return count


# -- databases ---------------------------------------------------------------------------------


@contextmanager
def postgres_server(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    script = ROOT / "scripts" / "test-postgres"
    started = subprocess.run([str(script), "start"], check=True, capture_output=True, text=True)
    directory, server_url = started.stdout.split()
    try:
        yield server_url
    finally:
        subprocess.run([str(script), "stop", directory], check=False)


def fresh_database(backend: str, name: str, scratch: Path, server_url: str | None) -> str:
    if backend == "sqlite":
        return f"sqlite:///{scratch / f'{name}.db'}"
    assert server_url is not None
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def stored_counts(factory: sessionmaker[Session], workspace_id: int, source: str) -> dict[str, int]:
    counts = {}
    with factory() as session:
        for stream, model in MODELS.items():
            counts[stream] = (
                session.scalar(
                    select(func.count()).where(
                        model.workspace_id == workspace_id,
                        model.source == source,
                        model.deleted_at.is_(None),
                    )
                )
                or 0
            )
    return counts


# -- one case ----------------------------------------------------------------------------------


@dataclass
class Phase:
    crm: str
    backend: str
    phase: str
    seconds: float
    status: str
    counts: dict[str, dict[str, int]]
    streams: dict[str, dict[str, float]]
    finish: float
    check: str
    bare_pull: float = 0.0  # seconds to pull the same records with the bare SDK, no database
    bare_bulk_pull: float | None = None  # the same over Bulk API 2.0 (Salesforce)


def _run(
    factory: sessionmaker[Session],
    settings: Settings,
    clock: Clock,
    job_id: int,
    *,
    reconcile: bool | None = None,
) -> tuple[float, SyncRun]:
    with transaction(factory) as session:
        job = session.get_one(SyncJob, job_id)
        connection = session.get_one(CrmConnection, job.connection_id)
        run = queue_run(session, connection=connection, job=job, full_resync=False, now=clock())
        if reconcile is not None:
            run.reconcile = reconcile
        run_id = run.id
    METER.reset()
    retry = RetryPolicy(attempts=5, sleep=lambda _seconds: None)
    started = time.perf_counter()
    executed = sync_next(factory, settings=settings, clock=clock, retry=retry)
    seconds = time.perf_counter() - started
    assert executed == run_id, f"expected run {run_id}, executed {executed}"
    with factory() as session:
        return seconds, session.get_one(SyncRun, run_id)


def run_case(
    crm_name: str, backend: str, args: argparse.Namespace, server_url: str | None, scratch: Path
) -> list[Phase]:
    sizes = Sizes(
        accounts=max(args.contacts // 10, 1),
        contacts=args.contacts,
        leads=0,
        opportunities=args.opportunities,
        campaign_members=0,
        max_roles=3,
    )
    phases: list[Phase] = []
    with seeded_crm(crm_name, sizes, args.seed) as (crm, seeding):
        _say(f"{crm_name}/{backend}: fake seeded in {seeding:.1f}s: {crm.live_counts()}")
        pull_seconds, pulled, bulk_seconds = bare_pull(crm)
        _say(f"{crm_name}/{backend}: bare SDK pull of {pulled} records in {pull_seconds:.1f}s")
        if bulk_seconds is not None:
            _say(f"{crm_name}/{backend}: the same over Bulk API 2.0 in {bulk_seconds:.1f}s")
        url = fresh_database(backend, f"bench_sync_{crm_name}", scratch, server_url)
        engine = build_engine(Settings(database_url=url))
        migrate.upgrade(engine)
        factory = build_sessionmaker(engine)
        settings = Settings(
            database_url=url,
            crm_test_hosts=(crm.host(),),
            encryption_keys=Fernet.generate_key().decode(),
        )
        clock = Clock(crm.latest_change() + timedelta(minutes=1))
        with transaction(factory) as session:
            workspace = create_workspace(
                session,
                name="Benchmark Co",
                now=clock(),
                free_mail_domains=list(settings.free_mail_domains),
            ).workspace
            connection = create_connection(
                session,
                workspace_id=workspace.id,
                body=ConnectionCreate.model_validate(crm.connection_body()),
                settings=settings,
                now=clock(),
            )
            job = create_job(
                session,
                connection=connection,
                body=SyncJobCreate(cron="0 * * * *", enabled=False, reconcile_every=24),
                now=clock(),
            )
            workspace_id, job_id = workspace.id, job.id
        rng = random.Random(args.seed + 1)
        plan: list[tuple[str, bool | None]] = [
            ("full", None),
            ("incremental", False),
            ("reconcile", True),
        ]
        for phase, reconcile in plan:
            if phase == "incremental":
                changes = crm.mutate(rng, args.change_share, args.deletes)
                _say(f"{crm_name}/{backend}: changed in the fake: {changes}")
            clock.now = max(clock.now, crm.latest_change()) + timedelta(minutes=1)
            seconds, run = _run(factory, settings, clock, job_id, reconcile=reconcile)
            stored = stored_counts(factory, workspace_id, crm_name)
            live = crm.live_counts()
            if phase == "incremental" and crm_name == "hubspot":
                # HubSpot drops a deleted contact's associations without touching the deal:
                # only the reconcile pass can see them go
                compared = [s for s in STREAMS if s != "opportunity_contact"]
            else:
                compared = list(STREAMS)
            wrong = [
                f"{s}: stored {stored[s]} != CRM {live[s]}"
                for s in compared
                if stored[s] != live[s]
            ]
            phases.append(
                Phase(
                    bare_pull=pull_seconds,
                    bare_bulk_pull=bulk_seconds,
                    crm=crm_name,
                    backend=backend,
                    phase=phase,
                    seconds=seconds,
                    status=run.status,
                    counts=dict(run.counts),
                    streams={k: asdict(v) for k, v in METER.streams.items()},
                    finish=METER.finish,
                    check="ok" if not wrong else "; ".join(wrong),
                )
            )
            _say(
                f"{crm_name}/{backend}: {phase} {run.status} in {seconds:.1f}s, check {phases[-1].check}"
            )
            if run.status != "succeeded":
                _say(f"  error: {run.error}")
                break
        engine.dispose()
    return phases


# -- report ------------------------------------------------------------------------------------


def table(phases: list[Phase]) -> str:
    header = (
        f"{'crm':<10} {'backend':<10} {'phase':<11} {'object':<19} {'read':>8} {'written':>8} "
        f"{'total s':>8} {'crm s':>7} {'client s':>8} {'db s':>7} {'recon s':>7} {'rec/s':>8}"
    )
    lines = [header, "-" * len(header)]
    for p in phases:
        total_read = 0
        for stream in STREAMS:
            counts = p.counts.get(stream, {})
            t = p.streams.get(stream, {})
            read = counts.get("read", 0)
            total_read += read
            written = sum(counts.get(k, 0) for k in ("created", "updated", "deleted"))
            total = t.get("total", 0.0)
            client = total - t.get("crm", 0.0) - t.get("db", 0.0) - t.get("reconcile", 0.0)
            rate = read / total if total else 0.0
            lines.append(
                f"{p.crm:<10} {p.backend:<10} {p.phase:<11} {stream:<19} {read:>8} {written:>8} "
                f"{total:>8.2f} {t.get('crm', 0.0):>7.2f} {client:>8.2f} {t.get('db', 0.0):>7.2f} "
                f"{t.get('reconcile', 0.0):>7.2f} {rate:>8.0f}"
            )
        rate = total_read / p.seconds if p.seconds else 0.0
        lines.append(
            f"{p.crm:<10} {p.backend:<10} {p.phase:<11} {'TOTAL (wall)':<19} {total_read:>8} {'':>8} "
            f"{p.seconds:>8.2f} {'':>7} {'':>8} {'':>7} {'':>7} {rate:>8.0f}   "
            f"status={p.status} finish={p.finish:.2f}s check={p.check}"
        )
        lines.append("")
    return "\n".join(lines)


def side_by_side(phases: list[Phase]) -> str:
    """Bare SDK pull against the full sync with database writes, per CRM and database: the
    ratio to the REST pull, and for Salesforce to the Bulk API 2.0 pull."""
    header = (
        f"{'crm':<10} {'backend':<10} {'bare REST s':>11} {'bare Bulk s':>11} "
        f"{'full sync s':>11} {'ratio':>6} {'to Bulk':>7}"
    )
    lines = [header, "-" * len(header)]
    for p in phases:
        if p.phase == "full":
            ratio = p.seconds / p.bare_pull if p.bare_pull else 0.0
            bulk = f"{p.bare_bulk_pull:>11.2f}" if p.bare_bulk_pull else f"{'-':>11}"
            to_bulk = f"{p.seconds / p.bare_bulk_pull:>6.1f}x" if p.bare_bulk_pull else f"{'-':>7}"
            lines.append(
                f"{p.crm:<10} {p.backend:<10} {p.bare_pull:>11.2f} {bulk} {p.seconds:>11.2f} "
                f"{ratio:>5.1f}x {to_bulk}"
            )
    return "\n".join(lines)


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--opportunities", type=int, default=50_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres-url", help="a server to create databases on (default: start one)"
    )
    parser.add_argument("--crm", choices=("salesforce", "hubspot", "both"), default="both")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--change-share", type=float, default=0.01, help="share changed (0.01 = 1%%)"
    )
    parser.add_argument(
        "--deletes", type=int, default=100, help="contacts deleted (opportunities: a quarter)"
    )
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    args = parser.parse_args(argv)
    crms = ("salesforce", "hubspot") if args.crm == "both" else (args.crm,)
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    phases: list[Phase] = []
    with (
        instrumented(),
        tempfile.TemporaryDirectory() as scratch,
        (
            postgres_server(args.postgres_url) if "postgresql" in backends else _nothing()
        ) as server_url,
    ):
        for crm_name in crms:
            for backend in backends:
                phases.extend(run_case(crm_name, backend, args, server_url, Path(scratch)))
    print(table(phases))
    print(side_by_side(phases))
    if args.json:
        args.json.write_text(json.dumps([asdict(p) for p in phases], indent=2) + "\n")
    failed = [p for p in phases if p.status != "succeeded" or p.check != "ok"]
    return 1 if failed else 0


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


if __name__ == "__main__":
    sys.exit(main())
