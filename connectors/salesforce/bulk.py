"""Bulk API 2.0 query jobs for large full reads: create a queryAll job, poll it with the policy's
(injectable) sleep, then read its CSV result sets one Sforce-Locator at a time.

simple-salesforce's own bulk2 helpers poll with time.sleep and swallow the result headers, so the
requests are made here through its ``call_salesforce`` (same exceptions, same error table).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from simple_salesforce.api import Salesforce
from simple_salesforce.util import call_salesforce

from connectors.errors import FatalError, RetriableError
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.pagination import Pagination
from connectors.salesforce.records import Row

_CSV = "text/csv"
_JSON = "application/json"


class BulkQuery:
    def __init__(
        self,
        client: SalesforceClient,
        *,
        page_size: int = 50_000,
        first_poll_delay: float = 1.0,
        max_poll_delay: float = 30.0,
        max_wait: float = 24 * 3600.0,
    ) -> None:
        self._client = client
        self._page_size = page_size
        self._first_poll_delay = first_poll_delay
        self._max_poll_delay = max_poll_delay
        self._max_wait = max_wait

    def pages(self, soql: str) -> Iterator[list[Row]]:
        job_id = self._create(soql)
        self._wait(job_id)
        pagination = Pagination()
        while not pagination.finished:
            rows, locator = self._client.call(self._results(job_id, pagination.next_token))
            pagination.advance(locator)
            yield rows

    def _create(self, soql: str) -> str:
        body = json.dumps({"operation": "queryAll", "query": soql, "contentType": "CSV"})

        def create(sf: Salesforce) -> Any:
            response = call_salesforce(
                f"{sf.bulk2_url}query", "POST", sf.session, _headers(sf, _JSON), data=body
            )
            return response.json()

        return str(self._client.call(create)["id"])

    def _wait(self, job_id: str) -> None:
        """Poll until JobComplete; the delay doubles up to ``max_poll_delay``."""
        delay, waited = self._first_poll_delay, 0.0
        while (state := self._state(job_id)) != "JobComplete":
            if waited >= self._max_wait:
                raise FatalError(f"Bulk API job {job_id} still {state} after {waited:.0f}s")
            self._client.retry.sleep(delay)
            waited += delay
            delay = min(delay * 2, self._max_poll_delay)

    def _state(self, job_id: str) -> str:
        def get(sf: Salesforce) -> Any:
            url = f"{sf.bulk2_url}query/{job_id}"
            return call_salesforce(url, "GET", sf.session, _headers(sf, _JSON)).json()

        job = self._client.call(get)
        state = str(job.get("state"))
        if state in ("Failed", "Aborted"):
            raise FatalError(f"Bulk API job {job_id} {state}: {job.get('errorMessage') or ''}")
        return state

    def _results(self, job_id: str, locator: str | None) -> Any:
        params: dict[str, Any] = {"maxRecords": self._page_size}
        if locator:
            params["locator"] = locator

        def get(sf: Salesforce) -> tuple[list[Row], str | None]:
            url = f"{sf.bulk2_url}query/{job_id}/results"
            response = call_salesforce(url, "GET", sf.session, _headers(sf, _CSV), params=params)
            rows = _rows(response.content.decode("utf-8"))
            expected = response.headers.get("Sforce-NumberOfRecords")
            if expected is not None and int(expected) != len(rows):
                raise RetriableError(f"Bulk result set cut short: {len(rows)} of {expected} rows")
            next_locator = response.headers.get("Sforce-Locator")
            return rows, None if next_locator in (None, "", "null") else next_locator

        return get


def _headers(sf: Salesforce, accept: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {sf.session_id}", "Content-Type": _JSON, "Accept": accept}


def _rows(text: str) -> list[Row]:
    """CSV rows shaped like REST rows: empty is null, ``Campaign.Name`` nests under ``Campaign``.
    A row cut short keeps what it has (the record count check catches the cut)."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    rows = (row for row in reader if row)
    if any("." in column for column in header):
        return [_nest(dict(zip(header, row, strict=False))) for row in rows]
    return [{c: v if v != "" else None for c, v in zip(header, row, strict=False)} for row in rows]


def _nest(flat: dict[str, str]) -> Row:
    row: dict[str, Any] = {}
    for column, value in flat.items():
        target = row
        *parents, leaf = column.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
        target[leaf] = value if value != "" else None
    return row
