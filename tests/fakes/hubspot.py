"""FakeHubSpot: a local HTTP server speaking the HubSpot CRM API shapes the connector uses.

It serves the search, list, association, pipeline, property and OAuth token endpoints over real
HTTP, so tests drive the official SDK (hubspot-api-client) end to end. Each response shape cites
the documentation page it follows. Beyond data, tests can inject faults (429 with Retry-After
and a policy name, 5xx, truncated JSON bodies, 4xx), expire the OAuth token, and read every
request it received. Like HubSpot it refuses search ``after`` offsets at or past 10,000 results.

Large data stays fast: each object type keeps a lazily rebuilt index sorted by
(modification time, scrambled tie key, id), and search requests shaped like a time range or a
single-timestamp id walk are answered by bisection instead of a scan.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

OBJECT_TYPES = ("companies", "contacts", "deals")
CURSOR_PROPERTY = {
    "companies": "hs_lastmodifieddate",
    "contacts": "lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
SEARCH_CAP = 10_000
SEARCH_MAX_LIMIT = 200
LIST_MAX_LIMIT = 100
ASSOCIATION_BATCH_LIMIT = 1000
DATETIME_PROPERTIES = {"createdate", "closedate", "lastmodifieddate", "hs_lastmodifieddate"}

# Properties every account has (a subset of HubSpot's defaults), by object type:
# https://developers.hubspot.com/docs/api/crm/properties
DEFAULT_PROPERTIES = {
    "companies": (
        "name",
        "domain",
        "numberofemployees",
        "annualrevenue",
        "createdate",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_merged_object_ids",
    ),
    "contacts": (
        "firstname",
        "lastname",
        "email",
        "hs_additional_emails",
        "associatedcompanyid",
        "createdate",
        "lastmodifieddate",
        "hs_object_id",
        "hs_merged_object_ids",
    ),
    "deals": (
        "dealname",
        "amount",
        "deal_currency_code",
        "dealstage",
        "pipeline",
        "createdate",
        "closedate",
        "dealtype",
        "hs_lastmodifieddate",
        "hs_object_id",
        "hs_merged_object_ids",
    ),
}

# HubSpot-defined association type ids, unlabeled and "Primary", per direction:
# https://developers.hubspot.com/docs/api/crm/associations/v4#association-type-id-values
UNLABELED_TYPE = {
    ("deals", "contacts"): 3,
    ("contacts", "deals"): 4,
    ("deals", "companies"): 341,
    ("companies", "deals"): 342,
    ("contacts", "companies"): 279,
    ("companies", "contacts"): 280,
}
PRIMARY_TYPE = {
    ("deals", "companies"): 5,
    ("companies", "deals"): 6,
    ("contacts", "companies"): 1,
    ("companies", "contacts"): 2,
}

# The default sales pipeline of a new HubSpot account:
# https://knowledge.hubspot.com/object-settings/set-up-and-customize-pipelines
DEFAULT_PIPELINES: dict[str, tuple[str, list[tuple[str, str, bool, float]]]] = {
    "default": (
        "Sales Pipeline",
        [
            ("appointmentscheduled", "Appointment Scheduled", False, 0.2),
            ("qualifiedtobuy", "Qualified To Buy", False, 0.4),
            ("presentationscheduled", "Presentation Scheduled", False, 0.6),
            ("decisionmakerboughtin", "Decision Maker Bought-In", False, 0.8),
            ("contractsent", "Contract Sent", False, 0.9),
            ("closedwon", "Closed Won", True, 1.0),
            ("closedlost", "Closed Lost", True, 0.0),
        ],
    )
}

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MS


def iso(millis: int) -> str:
    moment = _EPOCH + millis * _MS
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"


def _now_ms() -> int:
    return to_ms(datetime.now(UTC))


def _tie(record_id: int) -> int:
    """HubSpot orders records that share the sort value in no documented order: scramble ids
    so a connector that relies on id order among ties fails here too."""
    return (record_id * 2654435761) % 4294967296


def _property_ms(value: str | None) -> int | None:
    if value in (None, ""):
        return None
    assert value is not None
    if value.isdigit():
        return int(value)
    return to_ms(datetime.fromisoformat(value))


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class _Fault:
    status: int
    remaining: int
    path: str | None
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    truncate: bool = False
    after: int = 0  # matching requests answered normally before the fault applies


@dataclass
class Hold:
    """A request held by the fake until ``release()``: ``reached`` is set when it arrives, so a
    test can act on its client (kill it, stop it, cancel its run) at a known point."""

    path: str
    skip: int
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Stored:
    id: int
    properties: dict[str, str | None]
    created_ms: int
    modified_ms: int
    archived_ms: int | None = None


class _Table:
    """One object type: records plus lazily rebuilt sorted indexes of the live ones."""

    def __init__(self, object_type: str) -> None:
        self.object_type = object_type
        self.cursor_property = CURSOR_PROPERTY[object_type]
        self.records: dict[int, _Stored] = {}
        self.redirects: dict[int, int] = {}  # merged-away id -> survivor
        self.property_names: set[str] = set(DEFAULT_PROPERTIES[object_type])
        self._index: list[tuple[int, int, int]] | None = None
        self._by_timestamp: dict[int, list[int]] = {}
        self._live_ids: list[int] = []

    def changed(self) -> None:
        self._index = None

    def index(self) -> list[tuple[int, int, int]]:
        if self._index is None:
            live = [record for record in self.records.values() if record.archived_ms is None]
            self._index = sorted((r.modified_ms, _tie(r.id), r.id) for r in live)
            self._by_timestamp = {}
            for timestamp, _, record_id in self._index:
                self._by_timestamp.setdefault(timestamp, []).append(record_id)
            for ids in self._by_timestamp.values():
                ids.sort()
            self._live_ids = sorted(record.id for record in live)
        return self._index

    def ids_at(self, timestamp: int) -> list[int]:
        self.index()
        return self._by_timestamp.get(timestamp, [])

    def live_ids(self) -> list[int]:
        self.index()
        return self._live_ids

    def archived_ids(self) -> list[int]:
        return sorted(r.id for r in self.records.values() if r.archived_ms is not None)

    def live(self, record_id: int) -> _Stored:
        record = self.records.get(record_id)
        if record is None or record.archived_ms is not None:
            raise KeyError(f"no live {self.object_type} {record_id}")
        return record


class _BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FakeHubSpot:
    """Use as a context manager; ``base_url`` is the server's root (plain http on 127.0.0.1)."""

    def __init__(
        self,
        *,
        private_token: str = "pat-na1-fake",
        client_id: str = "fake-client",
        client_secret: str = "fake-secret",
        refresh_token: str = "fake-refresh",
        daily_limit: int = 500_000,
        association_page_size: int = 500,
        port: int = 0,
    ) -> None:
        self.port = port  # 0: any free port
        self.private_token = private_token
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_token = refresh_token
        self.daily_limit = daily_limit
        self.association_page_size = association_page_size
        self.requests_log: list[LoggedRequest] = []
        self.tokens_issued = 0
        self.rotate_refresh_tokens = False  # each refresh issues a new refresh token
        # The portal's clock as its responses' Date header tells it; None: this machine's clock.
        self.server_time: datetime | None = None
        # Scopes the token was granted (None: every scope); calls needing another answer 403.
        self.granted_scopes: set[str] | None = None
        self._oauth_token: str | None = None
        self._expired_tokens: set[str] = set()
        self._tables = {name: _Table(name) for name in OBJECT_TYPES}
        # (from type, to type) -> from id -> to id -> association types
        self._associations: dict[tuple[str, str], dict[int, dict[int, list[dict[str, Any]]]]] = {}
        self._label_types: dict[str, int] = {}
        self._pipelines = {
            key: (label, list(stages)) for key, (label, stages) in DEFAULT_PIPELINES.items()
        }
        self._faults: list[_Fault] = []
        self._events: dict[int, str] = {}  # marketing event id -> name
        self._forms: dict[str, str] = {}  # form guid -> name
        # form guid -> [(conversion id, submitted ms, email, page url)]
        self._submissions: dict[str, list[tuple[str, int, str, str | None]]] = {}
        # (event id, contact id) -> (participation id, state, occurred ms, created ms)
        self._participations: dict[tuple[int, int], tuple[int, str, int, int]] = {}
        self._holds: list[Hold] = []
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeHubSpot:
        handler = _handler_for(self)
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use FakeHubSpot as a context manager"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- test data ------------------------------------------------------------------------

    def put(
        self,
        object_type: str,
        id: str,
        properties: Mapping[str, str | None],
        *,
        modified_at: datetime | None = None,
    ) -> None:
        """Create or update a record (properties merge into the existing ones); the
        modification time (default: now) becomes ``updatedAt`` and the cursor property."""
        with self._lock:
            table = self._tables[object_type]
            record_id = int(id)
            modified = to_ms(modified_at) if modified_at else _now_ms()
            record = table.records.get(record_id)
            if record is None:
                created = _property_ms(properties.get("createdate")) or modified
                record = _Stored(record_id, {"createdate": iso(created)}, created, modified)
                table.records[record_id] = record
            record.properties.update(properties)
            record.properties["hs_object_id"] = str(record_id)
            self._touch(table, record, modified)
            table.property_names.update(properties)

    def archive(self, object_type: str, id: str, *, at: datetime | None = None) -> None:
        with self._lock:
            table = self._tables[object_type]
            table.live(int(id)).archived_ms = to_ms(at) if at else _now_ms()
            table.changed()

    def restore(self, object_type: str, id: str, *, modified_at: datetime | None = None) -> None:
        """Undelete from the recycle bin; like HubSpot, a restore modifies the record."""
        with self._lock:
            table = self._tables[object_type]
            record = table.records[int(id)]
            assert record.archived_ms is not None, f"{object_type} {id} is not archived"
            record.archived_ms = None
            self._touch(table, record, to_ms(modified_at) if modified_at else _now_ms())

    def merge(
        self, object_type: str, loser: str, survivor: str, *, modified_at: datetime | None = None
    ) -> None:
        """Merge ``loser`` into ``survivor`` like POST /crm/v3/objects/{type}/merge: the loser
        disappears (reading it redirects to the survivor), its associations move to the
        survivor, and the survivor's ``hs_merged_object_ids`` lists it."""
        with self._lock:
            table = self._tables[object_type]
            gone = table.records.pop(int(loser))
            kept = table.live(int(survivor))
            table.redirects[gone.id] = kept.id
            merged = [
                *(kept.properties.get("hs_merged_object_ids") or "").split(";"),
                *(gone.properties.get("hs_merged_object_ids") or "").split(";"),
                str(gone.id),
            ]
            kept.properties["hs_merged_object_ids"] = ";".join(m for m in merged if m)
            self._move_associations(object_type, gone.id, kept.id)
            self._touch(table, kept, to_ms(modified_at) if modified_at else _now_ms())

    def associate(
        self, from_type: str, from_id: str, to_type: str, to_id: str, label: str | None = None
    ) -> None:
        """Associate two records (both directions), optionally with a label; "Primary" is
        HubSpot's own label, any other is a custom (USER_DEFINED) one. Timestamps unchanged."""
        with self._lock:
            for source, target, a, b in (
                (from_type, to_type, from_id, to_id),
                (to_type, from_type, to_id, from_id),
            ):
                kinds = self._association_types(source, target, label)
                links = self._associations.setdefault((source, target), {}).setdefault(int(a), {})
                links[int(b)] = kinds

    def dissociate(self, from_type: str, from_id: str, to_type: str, to_id: str) -> None:
        """Remove an association in both directions, touching neither record."""
        with self._lock:
            self._associations.get((from_type, to_type), {}).get(int(from_id), {}).pop(
                int(to_id), None
            )
            self._associations.get((to_type, from_type), {}).get(int(to_id), {}).pop(
                int(from_id), None
            )

    def remove_property(self, object_type: str, name: str) -> None:
        """The property list no longer shows ``name`` (records may still carry it)."""
        with self._lock:
            self._tables[object_type].property_names.discard(name)

    def add_marketing_event(self, event_id: str, name: str) -> None:
        with self._lock:
            self._events[int(event_id)] = name

    def participate(
        self, event_id: str, contact_id: str, state: str, *, occurred_at: datetime
    ) -> str:
        """A contact's participation in an event enters ``state`` (REGISTERED, ATTENDED,
        CANCELLED, NO_SHOW); one participation per contact and event. Answers its id."""
        with self._lock:
            key = (int(event_id), int(contact_id))
            known = self._participations.get(key)
            participation_id = known[0] if known else 9_000_000 + len(self._participations)
            created = known[3] if known else to_ms(occurred_at)
            self._participations[key] = (participation_id, state, to_ms(occurred_at), created)
            return str(participation_id)

    def add_form(self, form_id: str, name: str) -> None:
        with self._lock:
            self._forms[form_id] = name
            self._submissions.setdefault(form_id, [])

    def submit_form(
        self, form_id: str, email: str, *, submitted_at: datetime, page_url: str | None = None
    ) -> str:
        """A submission of the form with this email; answers its conversion id."""
        with self._lock:
            conversion = f"{len(self._submissions[form_id]) + 1:08d}-{form_id}"
            self._submissions[form_id].append((conversion, to_ms(submitted_at), email, page_url))
            return conversion

    def set_pipelines(
        self, pipelines: Mapping[str, tuple[str, Sequence[tuple[str, str, bool, float]]]]
    ) -> None:
        """Replace the deal pipelines: ``{pipeline id: (label, [(stage id, label, is closed,
        probability), ...])}`` (see DEFAULT_PIPELINES)."""
        with self._lock:
            self._pipelines = {
                key: (label, list(stages)) for key, (label, stages) in pipelines.items()
            }

    def records(self, object_type: str, archived: bool = False) -> list[dict[str, Any]]:
        """Every live (or archived) record in the API's JSON shape, by id."""
        with self._lock:
            table = self._tables[object_type]
            ids = table.archived_ids() if archived else table.live_ids()
            return [self._json(table, table.records[i], None) for i in ids]

    def associations(self, from_type: str, to_type: str) -> list[tuple[str, str, str | None]]:
        """(from id, to id, label) of each association between live records."""
        with self._lock:
            rows = []
            for from_id, links in self._associations.get((from_type, to_type), {}).items():
                for to_id, kinds in self._visible_links(from_type, from_id, to_type, links):
                    labels = [kind["label"] for kind in kinds if kind["label"]]
                    rows.append((str(from_id), str(to_id), labels[0] if labels else None))
            return sorted(rows, key=lambda row: (int(row[0]), int(row[1])))

    # -- auth and faults ------------------------------------------------------------------

    def expire_token(self) -> None:
        """The current OAuth access token expires: requests with it get HubSpot's 401."""
        with self._lock:
            if self._oauth_token is not None:
                self._expired_tokens.add(self._oauth_token)
                self._oauth_token = None

    def rate_limit(
        self,
        times: int = 1,
        *,
        retry_after: float | None = 1.0,
        policy: str = "TEN_SECONDLY_ROLLING",
        path: str | None = None,
    ) -> None:
        """The next ``times`` requests (whose path contains ``path``) get a 429."""
        headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
        # https://developers.hubspot.com/docs/guides/apps/api-usage/usage-details#error-responses
        body = {
            "status": "error",
            "message": "You have reached your daily limit."
            if policy == "DAILY"
            else "You have reached your ten_secondly_rolling limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "c033cdaa-2c40-4a64-ae48-b4cec88dad24",
            "policyName": policy,
        }
        self._add_fault(_Fault(429, times, path, headers, body))

    def server_error(self, times: int = 1, *, status: int = 502, path: str | None = None) -> None:
        body = {"status": "error", "message": "internal error", "category": "INTERNAL_ERROR"}
        self._add_fault(_Fault(status, times, path, body=body))

    def client_error(
        self,
        times: int = 1,
        *,
        status: int = 400,
        message: str = "There was a problem with the request.",
        path: str | None = None,
        after: int = 0,
    ) -> None:
        """The next ``times`` matching requests, once ``after`` more went through, get this
        4xx (a 401 as HubSpot words it: category INVALID_AUTHENTICATION)."""
        category = "INVALID_AUTHENTICATION" if status == 401 else "VALIDATION_ERROR"
        body = {"status": "error", "message": message, "category": category}
        self._add_fault(_Fault(status, times, path, body=body, after=after))

    def truncate(self, times: int = 1, *, path: str | None = None) -> None:
        """The next ``times`` matching requests get a 200 whose JSON body is cut in half."""
        self._add_fault(_Fault(200, times, path, truncate=True))

    def hold(self, path: str, *, after: int = 0) -> Hold:
        """Hold the request whose path contains ``path`` that comes after ``after`` such requests
        (answered at once) until the returned hold is released."""
        held = Hold(path, after)
        with self._lock:
            self._holds.append(held)
        return held

    def _take_hold(self, path: str) -> Hold | None:
        with self._lock:
            for held in self._holds:
                if held.path in path:
                    if held.skip:
                        held.skip -= 1
                        return None
                    self._holds.remove(held)
                    return held
        return None

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path is None or fault.path in path:
                    if fault.after > 0:
                        fault.after -= 1
                        return None
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- internals ------------------------------------------------------------------------

    def _touch(self, table: _Table, record: _Stored, modified: int) -> None:
        record.modified_ms = modified
        record.properties[table.cursor_property] = iso(modified)
        table.changed()

    def _association_types(
        self, from_type: str, to_type: str, label: str | None
    ) -> list[dict[str, Any]]:
        kinds: list[dict[str, Any]] = [
            {
                "category": "HUBSPOT_DEFINED",
                "typeId": UNLABELED_TYPE[(from_type, to_type)],
                "label": None,
            }
        ]
        if label == "Primary" and (from_type, to_type) in PRIMARY_TYPE:
            kinds.append(
                {
                    "category": "HUBSPOT_DEFINED",
                    "typeId": PRIMARY_TYPE[(from_type, to_type)],
                    "label": label,
                }
            )
        elif label:
            type_id = self._label_types.setdefault(label, 1000 + len(self._label_types))
            kinds.append({"category": "USER_DEFINED", "typeId": type_id, "label": label})
        return kinds

    def _move_associations(self, object_type: str, loser: int, survivor: int) -> None:
        for (source, target), by_id in list(self._associations.items()):
            if source == object_type and loser in by_id:
                moved = by_id.pop(loser)
                by_id.setdefault(survivor, {}).update(moved)
            if target == object_type:
                for links in by_id.values():
                    if loser in links:
                        links[survivor] = links.pop(loser)

    def _visible_links(
        self, from_type: str, from_id: int, to_type: str, links: Mapping[int, list[dict[str, Any]]]
    ) -> list[tuple[int, list[dict[str, Any]]]]:
        source, target = self._tables[from_type], self._tables[to_type]
        if from_id not in source.records or source.records[from_id].archived_ms is not None:
            return []
        return [
            (to_id, kinds)
            for to_id, kinds in sorted(links.items())
            if to_id in target.records and target.records[to_id].archived_ms is None
        ]

    def _json(
        self, table: _Table, record: _Stored, properties: Sequence[str] | None
    ) -> dict[str, Any]:
        # https://developers.hubspot.com/docs/api/crm/understanding-the-crm (a record's shape)
        if properties is None:
            shown = dict(record.properties)
        else:
            names = [*properties, "hs_object_id", "createdate", table.cursor_property]
            shown = {name: record.properties.get(name) for name in names}
        body: dict[str, Any] = {
            "id": str(record.id),
            "properties": shown,
            "createdAt": iso(record.created_ms),
            "updatedAt": iso(record.modified_ms),
            "archived": record.archived_ms is not None,
        }
        if record.archived_ms is not None:
            body["archivedAt"] = iso(record.archived_ms)
        return body

    # -- request handling -----------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = _decode_body(headers.get("content-type", ""), raw)
        with self._lock:
            self.requests_log.append(LoggedRequest(method, parts.path, query, body))
            served = len(self.requests_log)
        held = self._take_hold(parts.path)
        if held is not None:
            held.reached.set()
            held.released.wait(timeout=120)
        extra = {
            "X-HubSpot-RateLimit-Daily": str(self.daily_limit),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(self.daily_limit - served, 0)),
        }
        fault = self._take_fault(parts.path)
        if fault is not None and not fault.truncate:
            return fault.status, {**extra, **fault.headers}, json.dumps(fault.body).encode()
        status, payload, more = self._dispatch(method, parts.path, query, headers, body)
        encoded = json.dumps(payload).encode()
        if fault is not None and status == 200:
            encoded = encoded[: len(encoded) // 2]
        return status, {**extra, **more}, encoded

    def _dispatch(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: Mapping[str, str],
        body: Any,
    ) -> tuple[int, Any, dict[str, str]]:
        if method == "POST" and path == "/oauth/v1/token":
            return self._token(body)
        refused = self._unauthorized(headers.get("authorization", ""))
        if refused is not None:
            return 401, refused, {}
        lacking = (
            sorted(set(_scopes_needed(path)) - self.granted_scopes)
            if (self.granted_scopes is not None)
            else []
        )
        if lacking:
            return 403, _missing_scopes(lacking), {}
        for route_method, pattern, handler in self._routes():
            match = pattern.fullmatch(path)
            if match and route_method == method:
                try:
                    with self._lock:
                        return handler(match, query, body)
                except _BadRequest as bad:
                    return 400, _error(bad.message), {}
        return (
            404,
            {
                "status": "error",
                "message": f"no route {method} {path}",
                "category": "OBJECT_NOT_FOUND",
            },
            {},
        )

    def _routes(
        self,
    ) -> list[tuple[str, re.Pattern[str], Callable[..., tuple[int, Any, dict[str, str]]]]]:
        objects = "(?P<type>companies|contacts|deals)"
        return [
            ("POST", re.compile(rf"/crm/v3/objects/{objects}/search"), self._search),
            ("GET", re.compile(rf"/crm/v3/objects/{objects}"), self._list),
            ("GET", re.compile(rf"/crm/v3/objects/{objects}/(?P<id>\d+)"), self._read),
            (
                "GET",
                re.compile(
                    rf"/crm/v4/objects/{objects}/(?P<id>\d+)/associations/(?P<to>companies|contacts|deals)"
                ),
                self._associations_of,
            ),
            (
                "POST",
                re.compile(
                    rf"/crm/v4/associations/{objects}/(?P<to>companies|contacts|deals)/batch/read"
                ),
                self._batch_associations,
            ),
            ("GET", re.compile(r"/crm/v3/pipelines/deals"), self._pipelines_json),
            ("GET", re.compile(r"/marketing/v3/marketing-events/?"), self._marketing_events),
            ("GET", re.compile(r"/marketing/v3/forms/?"), self._forms_json),
            (
                "GET",
                re.compile(r"/form-integrations/v1/submissions/forms/(?P<id>[\w-]+)"),
                self._form_submissions,
            ),
            (
                "GET",
                re.compile(r"/marketing/v3/marketing-events/participations/(?P<id>\d+)/breakdown"),
                self._participation_breakdown,
            ),
            ("GET", re.compile(rf"/crm/v3/properties/{objects}"), self._properties),
        ]

    def _unauthorized(self, authorization: str) -> dict[str, Any] | None:
        token = authorization.removeprefix("Bearer ").strip()
        with self._lock:
            if token and token in (self.private_token, self._oauth_token):
                return None
            if token in self._expired_tokens:
                # https://developers.hubspot.com/docs/api/oauth/tokens (401 on an expired token)
                return {
                    "status": "error",
                    "message": "The OAuth token used to make this call expired 1 minute(s) ago.",
                    "category": "EXPIRED_AUTHENTICATION",
                }
        return {
            "status": "error",
            "message": "Authentication credentials not found.",
            "category": "INVALID_AUTHENTICATION",
        }

    def _token(self, form: Any) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api/oauth/tokens (refresh an access token)
        expected = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.refresh_token,
        }
        if not isinstance(form, dict) or any(form.get(k) != v for k, v in expected.items()):
            return (
                400,
                {"status": "BAD_REFRESH_TOKEN", "message": "missing or unknown refresh token"},
                {},
            )
        with self._lock:
            self.tokens_issued += 1
            self._oauth_token = f"oauth-access-{self.tokens_issued}"
            token = self._oauth_token
            if self.rotate_refresh_tokens:  # the old refresh token stops working
                self.refresh_token = f"fake-refresh-{self.tokens_issued}"
        return (
            200,
            {
                "access_token": token,
                "refresh_token": self.refresh_token,
                "expires_in": 1800,
                "token_type": "bearer",
            },
            {},
        )

    def _search(
        self, match: re.Match[str], _query: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api/crm/search (request and response shapes,
        # the 200-per-page limit and the 10,000-result limit)
        table = self._tables[match["type"]]
        request = body if isinstance(body, dict) else {}
        try:
            limit = int(request.get("limit") or 10)
            offset = int(request.get("after") or 0)
        except ValueError:
            raise _BadRequest("limit and after must be integers") from None
        if limit > SEARCH_MAX_LIMIT:
            raise _BadRequest(f"limit must be at most {SEARCH_MAX_LIMIT}")
        if offset >= SEARCH_CAP:
            raise _BadRequest(
                f"Paging past {SEARCH_CAP} results is not supported; narrow the search."
            )
        matches = _Search(table, request).matches()
        chosen = matches[offset : min(offset + limit, SEARCH_CAP)]
        properties = list(request.get("properties") or DEFAULT_PROPERTIES[table.object_type][:3])
        payload: dict[str, Any] = {
            "total": len(matches),
            "results": [self._json(table, table.records[i], properties) for i in chosen],
        }
        if offset + limit < len(matches):
            payload["paging"] = {"next": {"after": str(offset + limit)}}
        return 200, payload, {}

    def _list(
        self, match: re.Match[str], query: dict[str, list[str]], _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api/crm/understanding-the-crm#retrieve-records
        # (GET /crm/v3/objects/{object}?limit&after&properties&archived; archived records carry
        # archivedAt: https://developers.hubspot.com/docs/api/crm/objects#restore-archived-records)
        table = self._tables[match["type"]]
        limit = int(query.get("limit", ["10"])[0])
        if limit > LIST_MAX_LIMIT:
            raise _BadRequest(f"limit must be at most {LIST_MAX_LIMIT}")
        archived = query.get("archived", ["false"])[0].lower() == "true"
        ids = table.archived_ids() if archived else table.live_ids()
        start = bisect.bisect_left(ids, int(query["after"][0])) if "after" in query else 0
        chosen = ids[start : start + limit]
        properties = _split_properties(query.get("properties"))
        payload: dict[str, Any] = {
            "results": [self._json(table, table.records[i], properties or None) for i in chosen]
        }
        if start + limit < len(ids):
            following = str(ids[start + limit])
            payload["paging"] = {"next": {"after": following, "link": f"?after={following}"}}
        return 200, payload, {}

    def _read(
        self, match: re.Match[str], _query: Any, _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # A merged-away id answers 301 to the survivor:
        # https://developers.hubspot.com/docs/api/crm/contacts#merge-contacts
        table = self._tables[match["type"]]
        record_id = int(match["id"])
        if record_id in table.redirects:
            survivor = table.redirects[record_id]
            location = f"/crm/v3/objects/{table.object_type}/{survivor}"
            return 301, {"status": "error", "message": "Moved Permanently"}, {"Location": location}
        record = table.records.get(record_id)
        if record is None or record.archived_ms is not None:
            return (
                404,
                {"status": "error", "message": "Object not found", "category": "OBJECT_NOT_FOUND"},
                {},
            )
        return 200, self._json(table, record, None), {}

    def _links(self, from_type: str, from_id: int, to_type: str) -> list[dict[str, Any]]:
        links = self._associations.get((from_type, to_type), {}).get(from_id, {})
        return [
            {"toObjectId": str(to_id), "associationTypes": kinds}
            for to_id, kinds in self._visible_links(from_type, from_id, to_type, links)
        ]

    def _page_of(
        self, items: list[dict[str, Any]], after: str | None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        start = int(after or 0)
        size = self.association_page_size
        chosen = items[start : start + size]
        if start + size < len(items):
            return chosen, {"next": {"after": str(start + size), "link": None}}
        return chosen, None

    def _associations_of(
        self, match: re.Match[str], query: dict[str, list[str]], _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api/crm/associations/v4#retrieve-associated-records
        after = query.get("after", [None])[0]
        chosen, paging = self._page_of(
            self._links(match["type"], int(match["id"]), match["to"]), after
        )
        payload: dict[str, Any] = {"results": chosen}
        if paging:
            payload["paging"] = paging
        return 200, payload, {}

    def _batch_associations(
        self, match: re.Match[str], _query: Any, body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations
        # (inputs [{id, after}]; results [{from: {id}, to: [{toObjectId, associationTypes}],
        # paging}]; ids without associations come back as errors in a 207 multi-status)
        results: list[dict[str, Any]] = []
        empty: list[str] = []
        inputs = (body or {}).get("inputs", [])
        if len(inputs) > ASSOCIATION_BATCH_LIMIT:
            # https://developers.hubspot.com/changelog/bug-fix-batch-read-limit-for-hubspot-associations-api
            raise _BadRequest(f"inputs may hold at most {ASSOCIATION_BATCH_LIMIT} ids")
        for item in inputs:
            links = self._links(match["type"], int(item["id"]), match["to"])
            if not links:
                empty.append(str(item["id"]))
                continue
            chosen, paging = self._page_of(links, item.get("after"))
            row: dict[str, Any] = {"from": {"id": str(item["id"])}, "to": chosen}
            if paging:
                row["paging"] = paging
            results.append(row)
        now = iso(_now_ms())
        payload: dict[str, Any] = {
            "status": "COMPLETE",
            "results": results,
            "startedAt": now,
            "completedAt": now,
        }
        if not empty:
            return 200, payload, {}
        payload["numErrors"] = 1
        payload["errors"] = [
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                "context": {"fromObjectId": empty},
                "message": f"No {match['to']} is associated with {match['type']} {', '.join(empty)}.",
            }
        ]
        return 207, payload, {}

    def _paged(
        self, items: list[Any], query: dict[str, list[str]], limit_max: int = 100
    ) -> tuple[list[Any], dict[str, Any] | None]:
        limit = min(int(query.get("limit", ["10"])[0]), limit_max)
        start = int(query.get("after", ["0"])[0] or 0)
        chosen = items[start : start + limit]
        if start + limit < len(items):
            return chosen, {"next": {"after": str(start + limit), "link": None}}
        return chosen, None

    def _marketing_events(
        self, _match: re.Match[str], query: dict[str, list[str]], _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # GET /marketing/v3/marketing-events/ (sorted by objectId; limit at most 100):
        # https://developers.hubspot.com/docs/api-reference/marketing-marketing-events-v3/basic/get-marketing-v3-marketing-events-
        now = iso(0)
        events = [
            {
                "objectId": str(event_id),
                "eventName": name,
                "eventType": "WEBINAR",
                "createdAt": now,
                "updatedAt": now,
                "customProperties": [],
                "eventCancelled": False,
                "eventCompleted": True,
            }
            for event_id, name in sorted(self._events.items())
        ]
        chosen, paging = self._paged(events, query)
        payload: dict[str, Any] = {"results": chosen}
        if paging:
            payload["paging"] = paging
        return 200, payload, {}

    def _forms_json(
        self, _match: re.Match[str], query: dict[str, list[str]], _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # GET /marketing/v3/forms/ (limit, after):
        # https://developers.hubspot.com/docs/api-reference/marketing-forms-v3/forms/get-marketing-v3-forms-
        now = iso(0)
        forms = [
            {
                "id": form_id,
                "name": name,
                "formType": "hubspot",
                "createdAt": now,
                "updatedAt": now,
                "archived": False,
            }
            for form_id, name in sorted(self._forms.items())
        ]
        chosen, paging = self._paged(forms, query)
        payload: dict[str, Any] = {"results": chosen}
        if paging:
            payload["paging"] = paging
        return 200, payload, {}

    def _form_submissions(
        self, match: re.Match[str], query: dict[str, list[str]], _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # GET /form-integrations/v1/submissions/forms/{form_guid} (newest first, limit <= 50):
        # https://developers.hubspot.com/docs/api-reference/legacy/marketing/forms/v1/get-form-integrations-v1-submissions-forms-form_guid
        if match["id"] not in self._forms:
            return 404, _error(f"form {match['id']} not found"), {}
        if int(query.get("limit", ["20"])[0]) > 50:
            raise _BadRequest("limit must be at most 50")
        rows = [
            {
                "conversionId": conversion,
                "submittedAt": submitted,
                "values": [{"name": "email", "value": email}],
                "pageUrl": page_url,
            }
            for conversion, submitted, email, page_url in sorted(
                self._submissions[match["id"]], key=lambda row: (-row[1], row[0])
            )
        ]
        chosen, paging = self._paged(rows, query, limit_max=50)
        payload: dict[str, Any] = {"results": chosen}
        if paging:
            payload["paging"] = paging
        return 200, payload, {}

    def _participation_breakdown(
        self, match: re.Match[str], query: dict[str, list[str]], _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # GET /marketing/v3/marketing-events/participations/{marketingEventId}/breakdown:
        # https://developers.hubspot.com/docs/api-reference/legacy/marketing/marketing-events/participant-state/get-breakdown
        event_id = int(match["id"])
        contacts = self._tables["contacts"]
        rows = []
        for (event, contact_id), found in sorted(self._participations.items()):
            participation_id, state, occurred, created = found
            contact = contacts.records.get(contact_id)
            if event != event_id or contact is None or contact.archived_ms is not None:
                continue
            rows.append(
                {
                    "id": str(participation_id),
                    "createdAt": iso(created),
                    "properties": {"attendanceState": state, "occurredAt": occurred},
                    "associations": {
                        "contact": {
                            "contactId": str(contact_id),
                            "email": contact.properties.get("email") or "",
                            "firstname": contact.properties.get("firstname"),
                            "lastname": contact.properties.get("lastname"),
                        },
                        "marketingEvent": {
                            "marketingEventId": str(event_id),
                            "name": self._events.get(event_id, ""),
                        },
                    },
                }
            )
        chosen, paging = self._paged(rows, query)
        payload: dict[str, Any] = {"total": len(rows), "results": chosen}
        if paging:
            payload["paging"] = paging
        return 200, payload, {}

    def _pipelines_json(
        self, _match: re.Match[str], _query: Any, _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api/crm/pipelines (GET /crm/v3/pipelines/deals;
        # stage metadata values are strings: isClosed "true"/"false", probability "0.0"-"1.0")
        now = iso(0)
        results = []
        for order, (pipeline_id, (label, stages)) in enumerate(self._pipelines.items()):
            results.append(
                {
                    "id": pipeline_id,
                    "label": label,
                    "displayOrder": order,
                    "archived": False,
                    "createdAt": now,
                    "updatedAt": now,
                    "stages": [
                        {
                            "id": stage_id,
                            "label": stage_label,
                            "displayOrder": position,
                            "metadata": {
                                "isClosed": str(closed).lower(),
                                "probability": f"{probability:.1f}",
                            },
                            "archived": False,
                            "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                            "createdAt": now,
                            "updatedAt": now,
                        }
                        for position, (stage_id, stage_label, closed, probability) in enumerate(
                            stages
                        )
                    ],
                }
            )
        return 200, {"results": results}, {}

    def _properties(
        self, match: re.Match[str], _query: Any, _body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        # https://developers.hubspot.com/docs/api/crm/properties (GET /crm/v3/properties/{object})
        table = self._tables[match["type"]]
        results: list[dict[str, Any]] = [
            {
                "name": name,
                "label": name,
                "type": "datetime" if name in DATETIME_PROPERTIES else "string",
                "fieldType": "date" if name in DATETIME_PROPERTIES else "text",
                "groupName": f"{table.object_type[:-1]}information",
                "options": [],
                "hidden": False,
                "calculated": False,
                "hasUniqueValue": name == "hs_object_id",
            }
            for name in sorted(table.property_names)
        ]
        return 200, {"results": results}, {}


class _Search:
    """Evaluates one search body against a table. Filter groups OR, filters AND; only the
    first sort is honoured, as in HubSpot; ties keep the index's scrambled order."""

    def __init__(self, table: _Table, request: Mapping[str, Any]) -> None:
        self.table = table
        self.groups = [group.get("filters", []) for group in request.get("filterGroups") or []]
        sorts = request.get("sorts") or []
        first = sorts[0] if sorts else {}
        if isinstance(first, str):
            first = {
                "propertyName": first.lstrip("-"),
                "direction": "DESCENDING" if first.startswith("-") else "ASCENDING",
            }
        self.sort_property = first.get("propertyName", "hs_object_id")
        self.descending = first.get("direction") == "DESCENDING"

    def matches(self) -> Sequence[int]:
        if len(self.groups) == 1 and not self.descending:
            fast = self._fast(self.groups[0])
            if fast is not None:
                return fast
        found: dict[int, None] = {}
        for filters in self.groups or [[]]:
            for record_id in self._candidates(filters):
                if all(self._accepts(record_id, f) for f in filters):
                    found[record_id] = None
        return sorted(found, key=self._sort_key, reverse=self.descending)

    def _fast(self, filters: list[dict[str, Any]]) -> Sequence[int] | None:
        cursor = self.table.cursor_property
        on_cursor = [f for f in filters if f.get("propertyName") == cursor]
        others = [f for f in filters if f.get("propertyName") != cursor]
        if self.sort_property == cursor and not others:
            lo, hi = self._bounds(on_cursor)
            return _IdView(self.table.index(), lo, hi)
        pinned = [f for f in on_cursor if f.get("operator") == "EQ"]
        if (
            self.sort_property == "hs_object_id"
            and len(on_cursor) == 1
            and pinned
            and all(
                f.get("propertyName") == "hs_object_id" and f.get("operator") in ("GT", "GTE")
                for f in others
            )
        ):
            ids = self.table.ids_at(_property_ms(str(pinned[0]["value"])) or 0)
            start = 0
            for f in others:
                side = bisect.bisect_right if f["operator"] == "GT" else bisect.bisect_left
                start = max(start, side(ids, int(f["value"])))
            return ids[start:]
        return None

    def _bounds(self, filters: list[dict[str, Any]]) -> tuple[int, int]:
        index = self.table.index()
        lo, hi = 0, len(index)
        for f in filters:
            value, operator = _property_ms(str(f["value"])) or 0, f.get("operator")
            if operator in ("GT", "GTE", "EQ"):
                edge = value + 1 if operator == "GT" else value
                lo = max(lo, bisect.bisect_left(index, (edge,)))
            if operator in ("LT", "LTE", "EQ"):
                edge = value if operator == "LT" else value + 1
                hi = min(hi, bisect.bisect_left(index, (edge,)))
        return lo, max(lo, hi)

    def _candidates(self, filters: list[dict[str, Any]]) -> Iterator[int]:
        cursor = self.table.cursor_property
        lo, hi = self._bounds(
            [f for f in filters if f.get("propertyName") == cursor and "value" in f]
        )
        return iter(_IdView(self.table.index(), lo, hi))

    def _accepts(self, record_id: int, f: Mapping[str, Any]) -> bool:
        name, operator = f.get("propertyName", ""), f.get("operator", "EQ")
        value = self.table.records[record_id].properties.get(name)
        if operator == "HAS_PROPERTY":
            return value not in (None, "")
        if operator == "NOT_HAS_PROPERTY":
            return value in (None, "")
        if value in (None, ""):
            return False
        mine = _comparable(name, value)
        if operator in ("IN", "NOT_IN"):
            wanted = {_comparable(name, v) for v in f.get("values", [])}
            return bool((mine in wanted) == (operator == "IN"))
        other = _comparable(name, str(f.get("value")))
        return bool(_COMPARE[operator](mine, other))

    def _sort_key(self, record_id: int) -> tuple[Any, int]:
        value = self.table.records[record_id].properties.get(self.sort_property)
        comparable = _comparable(self.sort_property, value) if value not in (None, "") else ""
        return (comparable, _tie(record_id))


class _IdView(Sequence[int]):
    """Ids of index[lo:hi] without copying the slice."""

    def __init__(self, index: list[tuple[int, int, int]], lo: int, hi: int) -> None:
        self._index, self._lo, self._hi = index, lo, hi

    def __len__(self) -> int:
        return self._hi - self._lo

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, slice):
            start, stop, _ = item.indices(len(self))
            return [row[2] for row in self._index[self._lo + start : self._lo + stop]]
        return self._index[self._lo + item][2]


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "EQ": lambda a, b: a == b,
    "NEQ": lambda a, b: a != b,
    "GT": lambda a, b: a > b,
    "GTE": lambda a, b: a >= b,
    "LT": lambda a, b: a < b,
    "LTE": lambda a, b: a <= b,
}


def _comparable(name: str, value: str | None) -> Any:
    if name in DATETIME_PROPERTIES:
        return _property_ms(value)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return value.lower() if value is not None else None


def _split_properties(values: list[str] | None) -> list[str]:
    return [name for value in values or [] for name in value.split(",") if name]


def _decode_body(content_type: str, raw: bytes) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8")
    if "x-www-form-urlencoded" in content_type:
        return {key: values[0] for key, values in parse_qs(text).items()}
    try:
        return json.loads(text)
    except ValueError:
        return text


def _scopes_needed(path: str) -> list[str]:
    """The scopes a path needs (https://developers.hubspot.com/scopes): reading records and
    their associations needs crm.objects.{object}.read, reading properties
    crm.schemas.{object}.read."""
    parts = path.strip("/").split("/")
    if parts[:3] == ["crm", "v3", "properties"] and len(parts) > 3:
        return [f"crm.schemas.{parts[3]}.read"]
    if parts[:3] == ["crm", "v3", "objects"] and len(parts) > 3:
        return [f"crm.objects.{parts[3]}.read"]
    if parts[:3] == ["crm", "v4", "associations"] and len(parts) > 4:
        return [f"crm.objects.{parts[3]}.read", f"crm.objects.{parts[4]}.read"]
    if parts[:3] == ["crm", "v3", "pipelines"]:
        return ["crm.objects.deals.read"]
    if parts[:3] == ["marketing", "v3", "forms"] or parts[:1] == ["form-integrations"]:
        return ["forms"]
    if parts[:2] == ["marketing", "v3"]:
        return ["crm.objects.marketing_events.read"]
    return []


def _missing_scopes(scopes: list[str]) -> dict[str, Any]:
    # The 403 HubSpot answers for a missing scope (category MISSING_SCOPES), e.g.
    # https://github.com/HubSpot/hubspot-api-nodejs/issues/268
    return {
        "status": "error",
        "message": "This app hasn't been granted all required scopes to make this call. Read "
        "more about required scopes here: https://developers.hubspot.com/scopes.",
        "correlationId": "4f2071b3-bf52-4e77-8dbe-6f80ad4f3a5f",
        "errors": [
            {
                "message": "One or more of the following scopes are required.",
                "context": {"requiredGranularScopes": scopes},
            }
        ],
        "links": {"scopes": "https://developers.hubspot.com/scopes"},
        "category": "MISSING_SCOPES",
    }


def _error(message: str) -> dict[str, Any]:
    # https://developers.hubspot.com/docs/api/error-handling (the standard error body)
    return {
        "status": "error",
        "message": message,
        "correlationId": "aeb5f871-7f07-4993-9211-075dc63e7cbf",
        "category": "VALIDATION_ERROR",
    }


def _handler_for(fake: FakeHubSpot) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, reply_headers, payload = fake.handle(self.command, self.path, headers, raw)
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply_headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the default stderr access log."""

        def date_time_string(self, timestamp: float | None = None) -> str:
            """The Date header: the portal's clock when the test set one."""
            if fake.server_time is None:
                return super().date_time_string(timestamp)
            return formatdate(fake.server_time.timestamp(), usegmt=True)

    return Handler
