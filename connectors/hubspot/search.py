"""Incremental reads through HubSpot's search API, in (modified_at, id) order.

Search sorts by one property and refuses ``after`` past 10,000 results
(https://developers.hubspot.com/docs/api/crm/search#limitations), and offset paging skips
records whenever a record ahead of the offset changes during the read. So no request here ever
sends ``after``: every page is a fresh query that starts from the last timestamp seen.

* Range mode: ``cursor >= lower`` (or ``> lower``) and ``<= until``, sorted by the cursor
  property. All records older than the page's last timestamp are complete and are returned,
  sorted by (timestamp, id); those sharing the last timestamp may continue on the next page, so
  they are dropped and the next query starts at that timestamp (``>=``).
* Id mode: when a whole page shares one timestamp, that timestamp is read alone,
  ``cursor == ts and hs_object_id > last id`` sorted by ``hs_object_id``, so any number of
  records sharing one timestamp are read; then range mode resumes at ``cursor > ts``.

Within one timestamp records are ordered by their numeric HubSpot id (the order search can sort
by), which is the order of the ``external_id`` of the cursors returned.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from connectors.base import Cursor
from connectors.errors import FatalError
from connectors.hubspot.client import HubSpotObject, ObjectPage
from connectors.hubspot.records import epoch_ms, modified_at

ID_PROPERTY = "hs_object_id"


@dataclass(frozen=True)
class _Range:
    lower: int | None  # epoch milliseconds
    inclusive: bool


@dataclass(frozen=True)
class _ById:
    timestamp: int
    last_id: int | None
    inclusive: bool  # the first query of a resumed cursor includes the cursor's own record


class SearchPaginator:
    """One walk over an object's records modified in [since, until]. Call ``next_records``
    until ``finished``; each call is one search request and returns complete records in order
    (possibly none). A request repeated verbatim means the walk stopped advancing: FatalError."""

    def __init__(
        self,
        search: Callable[[Mapping[str, Any]], ObjectPage],
        *,
        cursor_property: str,
        properties: Sequence[str],
        since: Cursor | None,
        until: datetime,
        limit: int = 100,
    ) -> None:
        self._search = search
        self._cursor_property = cursor_property
        self._properties = list(dict.fromkeys((*properties, cursor_property, ID_PROPERTY)))
        self._until = epoch_ms(until)
        self._limit = limit
        self._seen: set[str] = set()
        self._state: _Range | _ById = _start(since)
        self.finished = since is not None and epoch_ms(since.modified_at) > self._until

    def next_records(self) -> list[HubSpotObject]:
        body = self._request_body()
        key = json.dumps(body, sort_keys=True)
        if key in self._seen:
            raise FatalError("HubSpot search paging stopped advancing")
        self._seen.add(key)
        page = self._search(body)
        if isinstance(self._state, _ById):
            return self._after_by_id(self._state, page)
        return self._after_range(page)

    def _request_body(self) -> dict[str, Any]:
        state = self._state
        if isinstance(state, _ById):
            filters = [self._filter("EQ", state.timestamp)]
            if state.last_id is not None:
                operator = "GTE" if state.inclusive else "GT"
                filters.append(
                    {"propertyName": ID_PROPERTY, "operator": operator, "value": str(state.last_id)}
                )
            sort = ID_PROPERTY
        else:
            filters = []
            if state.lower is not None:
                filters.append(self._filter("GTE" if state.inclusive else "GT", state.lower))
            filters.append(self._filter("LTE", self._until))
            sort = self._cursor_property
        return {
            "filterGroups": [{"filters": filters}],
            "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": self._properties,
            "limit": self._limit,
        }

    def _filter(self, operator: str, millis: int) -> dict[str, str]:
        return {"propertyName": self._cursor_property, "operator": operator, "value": str(millis)}

    def _after_range(self, page: ObjectPage) -> list[HubSpotObject]:
        records = sorted(page.objects, key=self._order)
        if page.next_after is None or not records:
            self.finished = True
            return records
        last = self._timestamp(records[-1])
        complete = [record for record in records if self._timestamp(record) < last]
        self._state = _Range(last, inclusive=True) if complete else _ById(last, None, False)
        return complete

    def _after_by_id(self, state: _ById, page: ObjectPage) -> list[HubSpotObject]:
        records = sorted(page.objects, key=_numeric_id)
        if page.next_after is None or not records:
            self._state = _Range(state.timestamp, inclusive=False)
        else:
            self._state = _ById(state.timestamp, _numeric_id(records[-1]), inclusive=False)
        return records

    def _timestamp(self, record: HubSpotObject) -> int:
        return epoch_ms(modified_at(record, self._cursor_property))

    def _order(self, record: HubSpotObject) -> tuple[int, int]:
        return self._timestamp(record), _numeric_id(record)


def _start(since: Cursor | None) -> _Range | _ById:
    if since is None:
        return _Range(None, inclusive=True)
    millis = epoch_ms(since.modified_at)
    if not since.external_id:
        return _Range(millis, inclusive=True)
    return _ById(millis, _cursor_id(since.external_id), inclusive=True)


def _cursor_id(external_id: str) -> int:
    if not external_id.isdigit():
        raise FatalError(f"not a HubSpot record id in the cursor: {external_id[:40]!r}")
    return int(external_id)


def _numeric_id(record: HubSpotObject) -> int:
    return int(record.id)
