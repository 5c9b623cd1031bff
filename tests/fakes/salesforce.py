"""FakeSalesforce: a local HTTPS server speaking the documented Salesforce shapes, so tests run the
real simple-salesforce over real HTTP.

Served: OAuth refresh-token grant, SOAP login, REST query/queryAll (+ nextRecordsUrl pages), limits,
sObject describe, Bulk API 2.0 query jobs. The SOQL it receives is parsed just enough to filter and
sort honestly: object, field list (unknown fields are INVALID_FIELD), SystemModstamp bounds,
ORDER BY, LIMIT, COUNT(). Records are kept per object with a lazily sorted (SystemModstamp, Id)
index, so 200,000 rows page quickly.

Test API: ``put``/``delete``/``undelete``/``hard_delete``/``merge``/``records``, ``set_api_usage``,
``expire_tokens``, fault injection (``fail_next``, ``rate_limit_next``,
``request_limit_exceeded_next``, ``truncate_next``), and ``requests_log`` (secrets redacted).
"""

from __future__ import annotations

import base64
import bisect
import csv
import io
import itertools
import json
import re
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from email.utils import formatdate
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from connectors.salesforce import SalesforceCredentials
from tests.fakes.tls import local_tls

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"
REFRESH_TOKEN = "fake-refresh-token"
USERNAME = "sync@example.com"
PASSWORD = "fake-password"
SECURITY_TOKEN = "fake-security-token"
SECRETS = (CLIENT_SECRET, REFRESH_TOKEN, PASSWORD, SECURITY_TOKEN)
ORG_ID = "00D000000000001AAA"
USER_ID = "005000000000001AAA"
START = datetime(2025, 1, 1, tzinfo=UTC)

_KEY_PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Lead": "00Q",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "CampaignMember": "00v",
    "AccountContactRelation": "07k",
    "Campaign": "701",
    "Organization": "00D",
}
_SYSTEM = {
    "Id": "id",
    "IsDeleted": "boolean",
    "SystemModstamp": "datetime",
    "CreatedDate": "datetime",
}
# Describe: field name -> type. Reference fields end in Id and name their relationship without it.
_FIELDS: dict[str, dict[str, str]] = {
    "Account": {
        **_SYSTEM,
        "Name": "string",
        "Website": "url",
        "NumberOfEmployees": "int",
        "AnnualRevenue": "currency",
        "Industry": "picklist",
        "MasterRecordId": "reference",
    },
    "Contact": {
        **_SYSTEM,
        "AccountId": "reference",
        "Name": "string",
        "Email": "email",
        "Title": "string",
        "MasterRecordId": "reference",
    },
    "Lead": {
        **_SYSTEM,
        "Name": "string",
        "Company": "string",
        "Email": "email",
        "IsConverted": "boolean",
        "ConvertedContactId": "reference",
        "ConvertedDate": "date",
        "LeadSource": "picklist",
        "MasterRecordId": "reference",
    },
    "Opportunity": {
        **_SYSTEM,
        "Name": "string",
        "AccountId": "reference",
        "Type": "picklist",
        "StageName": "picklist",
        "IsClosed": "boolean",
        "IsWon": "boolean",
        "Amount": "currency",
        "CloseDate": "date",
        "LeadSource": "picklist",
    },
    "OpportunityContactRole": {
        **_SYSTEM,
        "OpportunityId": "reference",
        "ContactId": "reference",
        "Role": "picklist",
        "IsPrimary": "boolean",
    },
    "CampaignMember": {
        **_SYSTEM,
        "CampaignId": "reference",
        "ContactId": "reference",
        "LeadId": "reference",
        "Status": "picklist",
        "HasResponded": "boolean",
        "FirstRespondedDate": "date",
    },
    # https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_accountcontactrelation.htm
    "AccountContactRelation": {
        **_SYSTEM,
        "AccountId": "reference",
        "ContactId": "reference",
        "IsDirect": "boolean",
        "IsActive": "boolean",
        "Roles": "multipicklist",
    },
    "Campaign": {**_SYSTEM, "Name": "string", "Type": "picklist"},
    "Organization": {**_SYSTEM, "Name": "string", "DefaultCurrencyIsoCode": "picklist"},
}
_BOOLEAN_DEFAULTS = (
    "IsConverted",
    "IsClosed",
    "IsWon",
    "IsPrimary",
    "HasResponded",
    "IsDirect",
    "IsActive",
)

_SOQL = re.compile(
    r"^SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<object>\w+)"
    r"(?:\s+WHERE\s+(?P<where>.+?))?(?:\s+ORDER\s+BY\s+(?P<order>.+?))?"
    r"(?:\s+LIMIT\s+(?P<limit>\d+))?\s*$",
    re.IGNORECASE | re.DOTALL,
)
_BOUND = re.compile(r"^SystemModstamp\s*(>=|<=|>|<|=)\s*(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)$")


def salesforce_datetime(moment: datetime) -> str:
    """The REST form of a dateTime: ``2025-01-01T00:00:00.000+0000``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


@dataclass(frozen=True)
class LoggedRequest:
    """One request as the fake saw it; Authorization dropped, secrets in bodies masked."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str

    @property
    def soql(self) -> str | None:
        return self.query.get("q")


@dataclass
class _Fault:
    remaining: int
    status: int
    body: Any
    headers: dict[str, str]
    path: str
    truncate: bool = False


@dataclass
class _Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Reject(Exception):
    """A Salesforce error response: ``[{"message": ..., "errorCode": ...}]`` with a status.
    https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm"""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.response = _json(status, [{"message": message, "errorCode": code}])


class _Table:
    """One object's rows by id, with a (SystemModstamp, Id) index sorted only when read."""

    def __init__(self) -> None:
        self.rows: dict[str, dict[str, Any]] = {}
        self._order: list[tuple[str, str]] | None = None

    def changed(self) -> None:
        self._order = None

    def ordered(self) -> list[tuple[str, str]]:
        if self._order is None:
            self._order = sorted(
                (row["SystemModstamp"], row_id) for row_id, row in self.rows.items()
            )
        return self._order


@dataclass
class _Query:
    object_name: str
    fields: list[str]
    ids: list[str]
    count_only: bool


@dataclass
class _BulkJob:
    query: _Query
    polls_left: int


class FakeSalesforce:
    """A fake org on https://127.0.0.1:{port}. Use as a context manager; point REQUESTS_CA_BUNDLE
    at ``ca_path`` (see ``fake_salesforce_server``)."""

    def __init__(
        self,
        *,
        api_version: str = "59.0",
        page_size: int = 2000,
        multi_currency: bool = False,
        default_currency: str = "USD",
        bulk_polls_before_complete: int = 1,
        contacts_to_multiple_accounts: bool = True,
        port: int = 0,
    ) -> None:
        self.api_version = api_version
        self.port = port  # 0: any free port
        self.page_size = page_size
        self.multi_currency = multi_currency
        self.default_currency = default_currency
        self.bulk_polls_before_complete = bulk_polls_before_complete
        self.clock = START
        self.tick = timedelta(seconds=1)
        # The org's clock as its responses' Date header tells it; None: this machine's clock.
        self.server_time: datetime | None = None
        self._pending: set[str] = set()  # rows stamped but not committed yet: invisible
        self.refresh_token = REFRESH_TOKEN
        self.rotate_refresh_tokens = False
        self.requests_log: list[LoggedRequest] = []
        self.api_used, self.api_max = 0, 100_000
        self._lock = threading.RLock()
        self._fields = {name: dict(fields) for name, fields in _FIELDS.items()}
        if not contacts_to_multiple_accounts:  # the object exists only once turned on
            del self._fields["AccountContactRelation"]
        if multi_currency:
            for fields in self._fields.values():
                fields["CurrencyIsoCode"] = "picklist"
        self._tables = {name: _Table() for name in self._fields}
        self._tokens: set[str] = set()
        self._faults: list[_Fault] = []
        self._cursors: dict[str, _Query] = {}
        self._jobs: dict[str, _BulkJob] = {}
        self._counter = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._directory: tempfile.TemporaryDirectory[str] | None = None
        self.ca_path = ""
        self.put("Organization", {"Name": "Fake Org", "DefaultCurrencyIsoCode": default_currency})

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> FakeSalesforce:
        self._directory = tempfile.TemporaryDirectory()
        tls = local_tls(Path(self._directory.name))
        self.ca_path = str(tls.ca_path)
        server = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        server.daemon_threads = True
        server.socket = tls.server_context.wrap_socket(server.socket, server_side=True)
        server.fake = self  # type: ignore[attr-defined]
        self._server = server
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._directory is not None:
            self._directory.cleanup()

    @property
    def instance_url(self) -> str:
        assert self._server is not None, "use FakeSalesforce as a context manager"
        return f"https://127.0.0.1:{self._server.server_address[1]}"

    def refresh_token_credentials(self, **overrides: Any) -> SalesforceCredentials:
        values: dict[str, Any] = {
            "auth": "refresh_token",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "instance_url": self.instance_url,
        }
        return SalesforceCredentials(**(values | overrides))

    def password_credentials(self, **overrides: Any) -> SalesforceCredentials:
        """Password login at the fake (the instance_url stands in for a My Domain login host)."""
        values: dict[str, Any] = {
            "auth": "password",
            "username": USERNAME,
            "password": PASSWORD,
            "security_token": SECURITY_TOKEN,
            "instance_url": self.instance_url,
        }
        return SalesforceCredentials(**(values | overrides))

    # -- data --------------------------------------------------------------------------------------

    def put(self, kind: str, record: dict[str, Any], *, committed: bool = True) -> dict[str, Any]:
        """Create or update a row of object ``kind`` with fields as Salesforce returns them
        (datetimes and dates may be given as Python values). Stamps SystemModstamp with the clock
        unless given. ``committed=False``: the row is stamped but its transaction is still open,
        so no query sees it until ``commit``. Returns the stored row."""
        with self._lock:
            table = self._tables[kind]
            values = {name: _stored(value) for name, value in record.items()}
            row_id = values.get("Id") or self._new_id(kind)
            stamp = values.pop("SystemModstamp", None) or self._stamp()
            row = table.rows.get(row_id) or self._defaults(kind, row_id, stamp)
            row.update(values, SystemModstamp=stamp)
            table.rows[row_id] = row
            table.changed()
            if not committed:
                self._pending.add(row_id)
            return dict(row)

    def commit(self, record_id: str) -> None:
        """The transaction that stamped this row commits: queries see it from now on."""
        with self._lock:
            self._pending.discard(record_id)

    def delete(self, kind: str, record_id: str) -> None:
        """Soft delete: the row moves to the recycle bin, visible to queryAll only."""
        self._update(kind, record_id, IsDeleted=True)

    def undelete(self, kind: str, record_id: str) -> None:
        self._update(kind, record_id, IsDeleted=False)

    def hard_delete(self, kind: str, record_id: str) -> None:
        """Gone without a trace, as junction rows vanish."""
        with self._lock:
            table = self._tables[kind]
            del table.rows[record_id]
            table.changed()

    def merge(self, kind: str, loser_id: str, master_id: str) -> None:
        """The loser is deleted and points at the master (MasterRecordId); the master changes."""
        with self._lock:
            self._update(kind, loser_id, IsDeleted=True, MasterRecordId=master_id)
            self._update(kind, master_id)

    def records(self, kind: str, include_deleted: bool = False) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._tables[kind].rows.values()
            return [dict(row) for row in rows if include_deleted or not row["IsDeleted"]]

    def remove_field(self, kind: str, name: str) -> None:
        """The API user can no longer read the field: describe omits it, SOQL rejects it."""
        del self._fields[kind][name]

    def set_api_usage(self, used: int, max: int) -> None:
        self.api_used, self.api_max = used, max

    def expire_tokens(self) -> None:
        """Every issued access token stops working (INVALID_SESSION_ID) until the next login."""
        with self._lock:
            self._tokens.clear()

    # -- faults ------------------------------------------------------------------------------------

    def fail_next(
        self,
        n: int,
        status: int,
        body: Any = None,
        headers: dict[str, str] | None = None,
        *,
        path: str = "/services/data/",
    ) -> None:
        """The next ``n`` requests whose path contains ``path`` get this response instead."""
        default = [{"message": f"fake failure {status}", "errorCode": "UNKNOWN_EXCEPTION"}]
        fault = _Fault(n, status, default if body is None else body, dict(headers or {}), path)
        with self._lock:
            self._faults.append(fault)

    def rate_limit_next(
        self, n: int, retry_after: float | None = None, *, path: str = "/services/data/"
    ) -> None:
        headers = {} if retry_after is None else {"Retry-After": _number(retry_after)}
        body = [{"message": "Too many requests", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        self.fail_next(n, 429, body, headers, path=path)

    def request_limit_exceeded_next(self, n: int, *, path: str = "/services/data/") -> None:
        """403 REQUEST_LIMIT_EXCEEDED, as Salesforce answers once the org's API limit is hit."""
        body = [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]
        self.fail_next(n, 403, body, path=path)

    def truncate_next(self, n: int, *, path: str = "/services/data/") -> None:
        """The next ``n`` matching responses are cut in half (a 200 with invalid JSON)."""
        with self._lock:
            self._faults.append(_Fault(n, 200, None, {}, path, truncate=True))

    @property
    def soql_log(self) -> list[str]:
        return [entry.soql for entry in self.requests_log if entry.soql is not None]

    # -- serving -----------------------------------------------------------------------------------

    def respond(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Response:
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self.requests_log.append(_logged(method, parts.path, query, headers, body))
            fault = self._take_fault(parts.path)
            if fault is not None and not fault.truncate:
                return _fault_response(fault)
            try:
                response = self._route(method, parts.path, query, headers, body)
            except _Reject as rejection:
                return rejection.response
        if fault is not None:
            response.body = response.body[: len(response.body) // 2]
        return response

    def _take_fault(self, path: str) -> _Fault | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.path in path:
                fault.remaining -= 1
                return fault
        return None

    def _route(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> _Response:
        if method == "POST" and path == "/services/oauth2/token":
            return self._token(dict(parse_qsl(body.decode())))
        if method == "POST" and path.startswith("/services/Soap/u/"):
            return self._soap_login(body.decode())
        prefix = f"/services/data/v{self.api_version}/"
        if not path.startswith(prefix):
            raise _Reject(404, "NOT_FOUND", "The requested resource does not exist")
        self._authorize(headers)
        return self._data(method, path.removeprefix(prefix).rstrip("/"), query, body)

    def _data(self, method: str, resource: str, query: dict[str, str], body: bytes) -> _Response:
        parts = resource.split("/")
        if parts[0] in ("query", "queryAll") and len(parts) == 1 and method == "GET":
            return self._query(query.get("q", ""), include_deleted=parts[0] == "queryAll")
        if parts[0] in ("query", "queryAll") and len(parts) == 2 and method == "GET":
            return self._query_more(parts[1])
        if resource == "limits" and method == "GET":
            return self._limits()
        if parts[0] == "sobjects" and len(parts) == 3 and parts[2] == "describe":
            return self._describe(parts[1])
        if parts[:2] == ["jobs", "query"]:
            return self._bulk(method, parts[2:], query, body)
        raise _Reject(404, "NOT_FOUND", "The requested resource does not exist")

    # -- auth --------------------------------------------------------------------------------------

    def _authorize(self, headers: dict[str, str]) -> None:
        token = headers.get("authorization", "").removeprefix("Bearer ").strip()
        if token not in self._tokens:
            # https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
            raise _Reject(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def _issue_token(self) -> str:
        token = f"{ORG_ID}!fake-access-token-{next(self._counter)}"
        self._tokens.add(token)
        return token

    def _token(self, form: dict[str, str]) -> _Response:
        """OAuth 2.0 refresh-token flow.
        https://help.salesforce.com/apex/HTViewHelpDoc?id=remoteaccess_oauth_refresh_token_flow.htm&language=en_US
        """
        valid = (
            form.get("grant_type") == "refresh_token"
            and form.get("client_id") == CLIENT_ID
            and form.get("client_secret") == CLIENT_SECRET
            and form.get("refresh_token") == self.refresh_token
        )
        if not valid:
            return _json(
                400, {"error": "invalid_grant", "error_description": "expired access/refresh token"}
            )
        rotated = {}
        if self.rotate_refresh_tokens:
            # refresh token rotation: a new refresh token with every access token, the old one
            # revoked (https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_rotation.htm)
            self.refresh_token = f"fake-refresh-token-{next(self._counter)}"
            rotated = {"refresh_token": self.refresh_token}
        return _json(
            200,
            {
                **rotated,
                "access_token": self._issue_token(),
                "signature": "ZmFrZS1zaWduYXR1cmU=",
                "scope": "refresh_token api",
                "instance_url": self.instance_url,
                "id": f"{self.instance_url}/id/{ORG_ID}/{USER_ID}",
                "token_type": "Bearer",
                "issued_at": str(int(self.clock.timestamp() * 1000)),
            },
        )

    def _soap_login(self, envelope: str) -> _Response:
        """SOAP API login(): a LoginResult with sessionId and serverUrl, or a LoginFault.
        https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login_loginresult.htm
        """
        username = _element(envelope, "username")
        password = _element(envelope, "password")
        if username != USERNAME or password != PASSWORD + SECURITY_TOKEN:
            return _Response(
                500, _LOGIN_FAULT.encode(), {"Content-Type": "text/xml; charset=utf-8"}
            )
        server_url = f"{self.instance_url}/services/Soap/u/{self.api_version}/{ORG_ID[:15]}"
        result = _LOGIN_RESULT.format(
            server_url=server_url, session_id=self._issue_token(), user_id=USER_ID, org_id=ORG_ID
        )
        return _Response(200, result.encode(), {"Content-Type": "text/xml; charset=utf-8"})

    # -- REST ---------------------------------------------------------------------------------------

    def _query(self, soql: str, *, include_deleted: bool) -> _Response:
        """Query / QueryAll: totalSize, done, nextRecordsUrl, records with attributes{type,url};
        COUNT() answers with totalSize and no records.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_query.htm
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm
        """
        query = self._execute(soql, include_deleted=include_deleted)
        if query.count_only:
            return _json(200, {"totalSize": len(query.ids), "done": True, "records": []})
        locator = f"01g{next(self._counter):015d}"
        self._cursors[locator] = query
        return self._page(locator, 0)

    def _query_more(self, locator_and_offset: str) -> _Response:
        """QueryAll More Results: the locator of a nextRecordsUrl.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall_more_results.htm
        """
        locator, _, offset = locator_and_offset.rpartition("-")
        if locator not in self._cursors or not offset.isdigit():
            raise _Reject(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(locator, int(offset))

    def _page(self, locator: str, offset: int) -> _Response:
        query = self._cursors[locator]
        end = offset + self.page_size
        rows = [self._render(query, row_id) for row_id in query.ids[offset:end]]
        body: dict[str, Any] = {"totalSize": len(query.ids), "done": end >= len(query.ids)}
        if not body["done"]:
            body["nextRecordsUrl"] = f"/services/data/v{self.api_version}/query/{locator}-{end}"
        body["records"] = [row for row in rows if row is not None]
        return _json(200, body)

    def _limits(self) -> _Response:
        """Limits: Max and Remaining per limit.
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_limits.htm
        """
        remaining = self.api_max - self.api_used
        return _json(
            200,
            {
                "DailyApiRequests": {"Max": self.api_max, "Remaining": remaining},
                "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            },
        )

    def _describe(self, object_name: str) -> _Response:
        """sObject Describe: name, keyPrefix and fields (name, type, relationshipName).
        https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_describe.htm
        """
        if object_name not in self._fields:
            raise _Reject(404, "NOT_FOUND", "The requested resource does not exist")
        fields = [
            {
                "name": name,
                "type": kind,
                "label": name,
                "nillable": name != "Id",
                "relationshipName": _relationship(name, kind),
            }
            for name, kind in self._fields[object_name].items()
        ]
        return _json(
            200,
            {
                "name": object_name,
                "label": object_name,
                "keyPrefix": _KEY_PREFIXES[object_name],
                "custom": False,
                "queryable": True,
                "fields": fields,
                "urls": {"sobject": f"/services/data/v{self.api_version}/sobjects/{object_name}"},
            },
        )

    # -- Bulk API 2.0 --------------------------------------------------------------------------------

    def _bulk(self, method: str, parts: list[str], query: dict[str, str], body: bytes) -> _Response:
        if method == "POST" and not parts:
            return self._create_job(json.loads(body))
        job_id = parts[0] if parts else ""
        if job_id not in self._jobs:
            raise _Reject(404, "NOT_FOUND", "The requested resource does not exist")
        if method == "GET" and len(parts) == 1:
            return self._job_info(job_id)
        if method == "GET" and parts[1:] == ["results"]:
            return self._job_results(job_id, query)
        raise _Reject(405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed")

    def _create_job(self, request: dict[str, Any]) -> _Response:
        """Create a Query Job: the job info, state UploadComplete.
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_create_job.htm
        """
        operation = request.get("operation")
        if operation not in ("query", "queryAll"):
            raise _Reject(400, "INVALIDJOB", f"Invalid operation {operation}")
        query = self._execute(
            str(request.get("query", "")), include_deleted=operation == "queryAll"
        )
        job_id = f"750{next(self._counter):015d}"
        self._jobs[job_id] = _BulkJob(query, self.bulk_polls_before_complete)
        return _json(200, self._job(job_id, "UploadComplete", operation))

    def _job_info(self, job_id: str) -> _Response:
        """Get Information About a Query Job: InProgress, then JobComplete (the job states).
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_bulk_v2/bulk_api_2_job_states.htm
        """
        job = self._jobs[job_id]
        state = "InProgress" if job.polls_left > 0 else "JobComplete"
        job.polls_left -= 1
        return _json(200, self._job(job_id, state, "queryAll"))

    def _job(self, job_id: str, state: str, operation: str) -> dict[str, Any]:
        return {
            "id": job_id,
            "operation": operation,
            "object": self._jobs[job_id].query.object_name,
            "createdById": USER_ID,
            "createdDate": salesforce_datetime(self.clock),
            "systemModstamp": salesforce_datetime(self.clock),
            "state": state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.api_version),
            "lineEnding": "LF",
            "columnDelimiter": "COMMA",
        }

    def _job_results(self, job_id: str, params: dict[str, str]) -> _Response:
        """Get Results for a Query Job: CSV, Sforce-Locator ("null" at the end) and
        Sforce-NumberOfRecords headers.
        https://developer.salesforce.com/docs/atlas.en-us.api_asynch.meta/api_asynch/query_get_job_results.htm
        """
        query = self._jobs[job_id].query
        offset = (
            int(base64.urlsafe_b64decode(params["locator"]).decode())
            if params.get("locator")
            else 0
        )
        end = offset + int(params.get("maxRecords") or 50_000)
        rows = [self._csv_row(query, row_id) for row_id in query.ids[offset:end]]
        text = _csv(query.fields, [row for row in rows if row is not None])
        locator = (
            base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(query.ids) else "null"
        )
        headers = {
            "Content-Type": "text/csv",
            "Sforce-Locator": locator,
            "Sforce-NumberOfRecords": str(len(rows)),
        }
        return _Response(200, text.encode(), headers)

    # -- SOQL ----------------------------------------------------------------------------------------

    def _execute(self, soql: str, *, include_deleted: bool) -> _Query:
        match = _SOQL.match(soql.strip())
        if match is None:
            raise _Reject(400, "MALFORMED_QUERY", f"unexpected token in: {soql[:80]}")
        object_name = match["object"]
        if object_name not in self._fields:
            raise _Reject(400, "INVALID_TYPE", f"sObject type '{object_name}' is not supported.")
        fields = [name.strip() for name in match["fields"].split(",")]
        count_only = [name.upper() for name in fields] == ["COUNT()"]
        if not count_only:
            self._check_fields(object_name, fields)
        ids = self._matching(object_name, match["where"], include_deleted)
        ids = self._sorted(object_name, ids, match["order"])
        if match["limit"]:
            ids = ids[: int(match["limit"])]
        return _Query(object_name, fields, ids, count_only)

    def _check_fields(self, object_name: str, fields: list[str]) -> None:
        for name in fields:
            relationship, dot, target = name.partition(".")
            known = (
                f"{relationship}Id" in self._fields[object_name]
                and target in self._fields.get(relationship, {})
                if dot
                else name in self._fields[object_name]
            )
            if not known:
                raise _Reject(
                    400,
                    "INVALID_FIELD",
                    f"No such column '{name}' on entity '{object_name}'. If you are attempting to "
                    "use a custom field, be sure to append the '__c' after the custom field name.",
                )

    def _matching(self, object_name: str, where: str | None, include_deleted: bool) -> list[str]:
        """Ids within the SystemModstamp bounds, in (SystemModstamp, Id) order, via bisection."""
        table = self._tables[object_name]
        order = table.ordered()
        low, high = 0, len(order)
        for operator, value in _bounds(where):
            key = salesforce_datetime(datetime.fromisoformat(value))
            if operator in (">=", ">", "="):
                edge = bisect.bisect_left if operator != ">" else bisect.bisect_right
                low = max(low, edge(order, (key, "" if operator != ">" else "\uffff")))
            if operator in ("<=", "<", "="):
                edge = bisect.bisect_right if operator != "<" else bisect.bisect_left
                high = min(high, edge(order, (key, "\uffff" if operator != "<" else "")))
        return [
            row_id
            for _, row_id in order[low:high]
            if (include_deleted or not table.rows[row_id]["IsDeleted"])
            and row_id not in self._pending
        ]

    def _sorted(self, object_name: str, ids: list[str], order_by: str | None) -> list[str]:
        columns = [column.strip() for column in (order_by or "").split(",") if column.strip()]
        if columns in ([], ["SystemModstamp", "Id"]):
            return ids
        rows = self._tables[object_name].rows
        return sorted(
            ids, key=lambda row_id: tuple(_sort_key(rows[row_id].get(c)) for c in columns)
        )

    def _csv_row(self, query: _Query, row_id: str) -> list[str] | None:
        """One Bulk API CSV row: the values of the query's fields, related ones followed."""
        row = self._tables[query.object_name].rows.get(row_id)
        if row is None:
            return None
        values = []
        for name in query.fields:
            relationship, dot, target = name.partition(".")
            if dot:
                related = self._tables[relationship].rows.get(row.get(f"{relationship}Id") or "")
                values.append(_csv_value(related.get(target) if related else None))
            else:
                values.append(_csv_value(row.get(name)))
        return values

    def _render(self, query: _Query, row_id: str) -> dict[str, Any] | None:
        row = self._tables[query.object_name].rows.get(row_id)
        if row is None:
            return None
        rendered: dict[str, Any] = {"attributes": self._attributes(query.object_name, row_id)}
        for name in query.fields:
            relationship, dot, target = name.partition(".")
            if dot:
                rendered[relationship] = self._related(
                    relationship, row.get(f"{relationship}Id"), target
                )
            else:
                rendered[name] = row.get(name)
        return rendered

    def _related(self, object_name: str, row_id: str | None, target: str) -> dict[str, Any] | None:
        related = self._tables[object_name].rows.get(row_id or "")
        if related is None:
            return None
        merged = {"attributes": self._attributes(object_name, related["Id"])}
        return merged | {target: related.get(target)}

    def _attributes(self, object_name: str, row_id: str) -> dict[str, str]:
        url = f"/services/data/v{self.api_version}/sobjects/{object_name}/{row_id}"
        return {"type": object_name, "url": url}

    # -- helpers -------------------------------------------------------------------------------------

    def _stamp(self) -> str:
        stamp = salesforce_datetime(self.clock)
        self.clock += self.tick
        return stamp

    def _new_id(self, kind: str) -> str:
        """Digits only after the prefix, so the case-safe suffix is always AAA."""
        return f"{_KEY_PREFIXES[kind]}{next(self._counter):012d}AAA"

    def _defaults(self, kind: str, row_id: str, stamp: str) -> dict[str, Any]:
        fields = self._fields[kind]
        row: dict[str, Any] = dict.fromkeys(fields)
        row.update(Id=row_id, IsDeleted=False, CreatedDate=stamp)
        row.update({name: False for name in _BOOLEAN_DEFAULTS if name in fields})
        if "CurrencyIsoCode" in fields:
            row["CurrencyIsoCode"] = self.default_currency
        return row

    def _update(self, kind: str, record_id: str, **values: Any) -> None:
        with self._lock:
            table = self._tables[kind]
            table.rows[record_id].update(values, SystemModstamp=self._stamp())
            table.changed()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one TLS handshake per client connection
    disable_nagle_algorithm = True  # headers and body leave at once, not after a delayed ACK
    timeout = 10

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        fake: FakeSalesforce = self.server.fake  # type: ignore[attr-defined]
        response = fake.respond(self.command, self.path, headers, body)
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's requests_log is the record."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The Date header: the org's clock when the test set one."""
        fake: FakeSalesforce = self.server.fake  # type: ignore[attr-defined]
        if fake.server_time is None:
            return super().date_time_string(timestamp)
        return formatdate(fake.server_time.timestamp(), usegmt=True)


@contextmanager
def fake_salesforce_server(
    monkeypatch: pytest.MonkeyPatch, **options: Any
) -> Iterator[FakeSalesforce]:
    """A running FakeSalesforce whose CA the requests library trusts. This machine sets
    REQUESTS_CA_BUNDLE, which overrides a session's own verify setting, so it is repointed."""
    with FakeSalesforce(**options) as fake:
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", fake.ca_path)
        yield fake


# SOAP API login() response (LoginResult) and its LoginFault, as simple-salesforce's soap_login reads
# them (sessionId, serverUrl; sf:exceptionCode, sf:exceptionMessage):
# https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_calls_login_loginresult.htm
# https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_concepts_errorhandling.htm
_LOGIN_RESULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><loginResponse><result>
<metadataServerUrl>{server_url}</metadataServerUrl>
<passwordExpired>false</passwordExpired>
<sandbox>false</sandbox>
<serverUrl>{server_url}</serverUrl>
<sessionId>{session_id}</sessionId>
<userId>{user_id}</userId>
<userInfo><organizationId>{org_id}</organizationId></userInfo>
</result></loginResponse></soapenv:Body></soapenv:Envelope>"""

_LOGIN_FAULT = """<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><soapenv:Fault>
<faultcode>sf:INVALID_LOGIN</faultcode>
<faultstring>INVALID_LOGIN: Invalid username, password, security token; or user locked out.</faultstring>
<detail><sf:LoginFault xsi:type="sf:LoginFault">
<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>
<sf:exceptionMessage>Invalid username, password, security token; or user locked out.</sf:exceptionMessage>
</sf:LoginFault></detail>
</soapenv:Fault></soapenv:Body></soapenv:Envelope>"""


def _json(status: int, body: Any) -> _Response:
    encoded = json.dumps(body, default=_jsonable).encode()
    return _Response(status, encoded, {"Content-Type": "application/json;charset=UTF-8"})


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"not JSON: {value!r}")


def _fault_response(fault: _Fault) -> _Response:
    if isinstance(fault.body, bytes | str):
        raw = fault.body.encode() if isinstance(fault.body, str) else fault.body
        response = _Response(fault.status, raw, {"Content-Type": "text/plain"})
    else:
        response = _json(fault.status, fault.body)
    response.headers.update(fault.headers)
    return response


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return salesforce_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _bounds(where: str | None) -> list[tuple[str, str]]:
    if not where:
        return []
    bounds = []
    for condition in re.split(r"\s+AND\s+", where.strip(), flags=re.IGNORECASE):
        match = _BOUND.match(condition.strip())
        if match is None:
            raise _Reject(400, "MALFORMED_QUERY", f"the fake cannot filter on: {condition}")
        bounds.append((match[1], match[2]))
    return bounds


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


def _relationship(name: str, kind: str) -> str | None:
    return name.removesuffix("Id") if kind == "reference" and name.endswith("Id") else None


def _element(envelope: str, name: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{name}>(.*?)</(?:\w+:)?{name}>", envelope, re.DOTALL)
    return unescape(match[1]) if match else None


def _csv(fields: list[str], rows: list[list[str]]) -> str:
    """Bulk API 2.0 CSV: every value quoted, null as empty, booleans lower-case, datetimes in Z."""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows(rows)
    return out.getvalue()


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.endswith("+0000"):
        return value.removesuffix("+0000") + "Z"
    return str(value)


def _logged(
    method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
) -> LoggedRequest:
    text = body.decode("utf-8", "replace")
    for secret in SECRETS:
        text = text.replace(secret, "***")
    kept = {name: value for name, value in headers.items() if name != "authorization"}
    return LoggedRequest(method, path, query, kept, text)
