"""One stream per object: SOQL building and paging through REST queryAll (or Bulk API 2.0 for a
large full read), one Page per Salesforce page, cursor at its last record."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from simple_salesforce.api import Salesforce

from connectors.base import Cursor, FieldMapping, Page, Record, RecordKind
from connectors.errors import FatalError
from connectors.salesforce.bulk import BulkQuery
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.objects import (
    CURRENCY_FIELD,
    ObjectSpec,
    OrgFacts,
    extra_fields,
    required_fields,
)
from connectors.salesforce.pagination import Pagination
from connectors.salesforce.records import RecordBuilder, Row, to_18


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal in UTC, to the second (SystemModstamp has no finer precision)."""
    if moment.tzinfo is None:
        raise ValueError("SOQL datetimes must be timezone-aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def changes_soql(
    object_name: str, fields: Sequence[str], since: datetime | None, until: datetime
) -> str:
    """Rows changed in [since, until], ordered like the cursor: (SystemModstamp, Id)."""
    conditions = [f"SystemModstamp <= {soql_datetime(until)}"]
    if since is not None:
        conditions.insert(0, f"SystemModstamp >= {soql_datetime(since)}")
    return (
        f"SELECT {', '.join(fields)} FROM {object_name} WHERE {' AND '.join(conditions)} "
        "ORDER BY SystemModstamp, Id"
    )


class RestQuery:
    """SOQL through REST query/queryAll, following nextRecordsUrl page by page."""

    def __init__(self, client: SalesforceClient) -> None:
        self._client = client

    def count(self, soql: str) -> int:
        return int(
            self._client.call(lambda sf: _result(sf.query(soql, include_deleted=True)))["totalSize"]
        )

    def pages(self, soql: str, *, include_deleted: bool) -> Iterator[list[Row]]:
        pagination = Pagination()
        result = self._client.call(
            lambda sf: _result(sf.query(soql, include_deleted=include_deleted))
        )
        while True:
            pagination.advance(None if result["done"] else _next_url(result))
            yield result["records"]
            if pagination.finished:
                return
            result = self._client.call(_more(pagination.next_token or ""))


def _more(url: str) -> Callable[[Salesforce], dict[str, Any]]:
    def fetch(sf: Salesforce) -> dict[str, Any]:
        return _result(sf.query_more(url, identifier_is_url=True))

    return fetch


def _result(body: Any) -> dict[str, Any]:
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("records"), list)
        or "done" not in body
    ):
        raise FatalError("Salesforce query response without records/done")
    return body


def _next_url(result: dict[str, Any]) -> str:
    url = result.get("nextRecordsUrl")
    if not url:
        raise FatalError("Salesforce query response not done but without nextRecordsUrl")
    return str(url)


class SalesforceStream:
    """The records of one sObject. Incremental reads go through queryAll so deletions come back
    (IsDeleted); a full read of more rows than ``bulk_threshold`` goes through Bulk API 2.0."""

    def __init__(
        self,
        spec: ObjectSpec,
        *,
        client: SalesforceClient,
        org: OrgFacts,
        mapping: FieldMapping,
        bulk: BulkQuery,
        bulk_threshold: int,
    ) -> None:
        self.kind: RecordKind = spec.kind
        self._spec = spec
        self._org = org
        self._mapping = mapping
        self._rest = RestQuery(client)
        self._bulk = bulk
        self._bulk_threshold = bulk_threshold

    def pages(self, since: Cursor | None, *, until: datetime) -> Iterator[Page]:
        """Reads start at the cursor's timestamp (>=); its id only orders the engine's overlap."""
        if not self._available():
            return
        soql = changes_soql(
            self._spec.name, self._fields(), since.modified_at if since else None, until
        )
        builder = self._builder()
        for rows in self._read(soql, full=since is None, until=until):
            if rows:
                yield _page([builder(row) for row in rows])

    def all_ids(self) -> Iterator[str]:
        """Live ids through ``query`` (not queryAll): deleted rows are exactly what it leaves out."""
        if not self._available():
            return
        for rows in self._rest.pages(f"SELECT Id FROM {self._spec.name}", include_deleted=False):
            for row in rows:
                yield to_18(str(row["Id"]))

    def _available(self) -> bool:
        return not self._spec.optional or self._org.has_object(self._spec.name)

    def _read(self, soql: str, *, full: bool, until: datetime) -> Iterator[list[Row]]:
        if full and self._count(until) > self._bulk_threshold:
            return self._bulk.pages(soql)
        return self._rest.pages(soql, include_deleted=True)

    def _count(self, until: datetime) -> int:
        return self._rest.count(
            f"SELECT COUNT() FROM {self._spec.name} WHERE SystemModstamp <= {soql_datetime(until)}"
        )

    def _fields(self) -> tuple[str, ...]:
        fields = required_fields(self._spec, self._mapping)
        if self.kind is RecordKind.OPPORTUNITY and self._org.multi_currency():
            fields = (*fields, CURRENCY_FIELD)
        return fields

    def _builder(self) -> RecordBuilder:
        needs_default = self.kind is RecordKind.OPPORTUNITY and not self._org.multi_currency()
        currency = self._org.default_currency() if needs_default else self._org.fallback_currency
        return RecordBuilder(
            self._spec.convert,
            mapping=self._mapping,
            extra_fields=extra_fields(self._spec, self._mapping),
            default_currency=currency,
        )


def _page(records: list[Record]) -> Page:
    last = records[-1]
    return Page(tuple(records), Cursor(last.modified_at, last.external_id))
