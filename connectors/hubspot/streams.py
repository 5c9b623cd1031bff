"""The streams of one HubSpot connection: companies, contacts, deals and deal→contact links.

Live records come from the search API (see search.py). Search never returns archived records,
so deletions come from the list endpoint with ``archived=true``: read once before the live pages
(HubSpot cannot filter that list by date), kept if archived in [since, until], and merged into
the live pages in cursor order, so each page's cursor covers every record before it and a crash
between pages loses no deletion. A merge shows on the survivor (``hs_merged_object_ids``): each
merged-away id is reported deleted with ``merged_into`` = the survivor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from typing import Any

from connectors.base import Cursor, FieldMapping, Page, Record, RecordKind
from connectors.errors import FatalError
from connectors.hubspot import records
from connectors.hubspot.client import (
    FormSubmission,
    HubSpotClient,
    HubSpotObject,
    ObjectPage,
    Participation,
    Stage,
)
from connectors.hubspot.errors import ScopeMissing
from connectors.hubspot.search import ID_PROPERTY, SearchPaginator

# Read when present, never needed: HubSpot computes them and may leave them out of the property
# list (merged ids, additional emails), or an account may not have them (deal type, currency).
OPTIONAL_PROPERTIES = frozenset(
    {records.MERGED_IDS, records.ADDITIONAL_EMAILS, "dealtype", "deal_currency_code"}
)
MODIFIED = "hs_lastmodifieddate"
CONTACT_MODIFIED = "lastmodifieddate"


class ListPaginator:
    """Walks a list endpoint (``GET /crm/v3/objects/{type}``) by ``paging.next.after``."""

    def __init__(
        self, client: HubSpotClient, object_type: str, properties: Sequence[str], *, archived: bool
    ) -> None:
        self._fetch: Callable[..., ObjectPage] = partial(
            client.list_page, object_type, list(properties), archived=archived
        )
        self._after: str | None = None
        self._seen: set[str] = set()
        self.finished = False

    def next_objects(self) -> tuple[HubSpotObject, ...]:
        page = self._fetch(after=self._after)
        if page.next_after is None:
            self.finished = True
        elif page.next_after in self._seen:
            raise FatalError("HubSpot list paging repeated itself")
        else:
            self._seen.add(page.next_after)
        self._after = page.next_after
        return page.objects

    def __iter__(self) -> Iterator[HubSpotObject]:
        while not self.finished:
            yield from self.next_objects()


class _PendingDeletes:
    """Deletions waiting for their place in cursor order."""

    def __init__(self, deleted: list[Record]) -> None:
        self._records = sorted(deleted, key=records.order_key)

    def discard(self, ids: set[str]) -> None:
        self._records = [record for record in self._records if record.external_id not in ids]

    def through(self, cursor: Cursor) -> list[Record]:
        limit = (cursor.modified_at, int(cursor.external_id))
        due = [record for record in self._records if records.order_key(record) <= limit]
        self._records = self._records[len(due) :]
        return due

    def remaining(self, size: int) -> Iterator[list[Record]]:
        while self._records:
            chunk, self._records = self._records[:size], self._records[size:]
            yield chunk


class ObjectStream:
    """One CRM object read incrementally; subclasses say how its records normalize."""

    kind: RecordKind
    object_type: str
    cursor_property: str = MODIFIED
    base_properties: tuple[str, ...] = ()

    def __init__(self, client: HubSpotClient, mapping: FieldMapping, *, page_size: int) -> None:
        self._client = client
        self._mapping = mapping
        self._page_size = page_size

    @property
    def properties(self) -> tuple[str, ...]:
        extra = self._mapping.extra_fields.get(self.kind, ())
        wanted = (*self._base_properties(), records.MERGED_IDS, self.cursor_property, *extra)
        return tuple(dict.fromkeys(wanted))

    @property
    def needed_properties(self) -> tuple[str, ...]:
        return tuple(name for name in self.properties if name not in OPTIONAL_PROPERTIES)

    def pages(self, since: Cursor | None, *, until: datetime) -> Iterator[Page]:
        self._begin()
        pending = _PendingDeletes(self._archived(since, until))
        pager = SearchPaginator(
            partial(self._client.search, self.object_type),
            cursor_property=self.cursor_property,
            properties=self.properties,
            since=since,
            until=until,
            limit=self._page_size,
        )
        while not pager.finished:
            found = pager.next_records()
            if found:
                yield self._live_page(found, pending)
        for chunk in pending.remaining(self._page_size):
            last = chunk[-1]
            yield Page(tuple(chunk), Cursor(last.modified_at, last.external_id))

    def all_ids(self) -> Iterator[str]:
        for item in ListPaginator(self._client, self.object_type, [ID_PROPERTY], archived=False):
            yield item.id

    def _live_page(self, found: Sequence[HubSpotObject], pending: _PendingDeletes) -> Page:
        live = self._normalize(found, deleted=False)
        losers = [
            loser
            for record, item in zip(live, found, strict=True)
            for loser in records.merged_losers(record, item)
        ]
        pending.discard({loser.external_id for loser in losers})
        cursor = Cursor(live[-1].modified_at, live[-1].external_id)
        page_records = sorted([*pending.through(cursor), *live, *losers], key=records.order_key)
        return Page(tuple(page_records), cursor)

    def _archived(self, since: Cursor | None, until: datetime) -> list[Record]:
        start = records.as_utc(since.modified_at) if since else None
        end = records.as_utc(until)
        archived = [
            item
            for item in ListPaginator(
                self._client, self.object_type, self.properties, archived=True
            )
            if item.archived_at is not None
            and (start is None or item.archived_at >= start)
            and item.archived_at <= end
        ]
        return self._normalize(archived, deleted=True)

    def _modified_at(self, item: HubSpotObject, *, deleted: bool) -> datetime:
        if deleted and item.archived_at is not None:
            return item.archived_at
        return records.modified_at(item, self.cursor_property)

    def _base_properties(self) -> tuple[str, ...]:
        return self.base_properties

    def _begin(self) -> None:
        """Hook: load what every page of one read needs."""

    def _normalize(self, items: Sequence[HubSpotObject], *, deleted: bool) -> list[Record]:
        raise NotImplementedError


class CompanyStream(ObjectStream):
    kind = RecordKind.ACCOUNT
    object_type = "companies"
    base_properties = ("name", "domain", "numberofemployees", "annualrevenue")

    def _normalize(self, items: Sequence[HubSpotObject], *, deleted: bool) -> list[Record]:
        return [
            records.account(
                item,
                self._mapping,
                modified_at=self._modified_at(item, deleted=deleted),
                deleted=deleted,
            )
            for item in items
        ]


class ContactStream(ObjectStream):
    kind = RecordKind.CONTACT
    object_type = "contacts"
    cursor_property = CONTACT_MODIFIED
    base_properties = (
        "firstname",
        "lastname",
        "email",
        records.ADDITIONAL_EMAILS,
        "associatedcompanyid",
        "createdate",
    )

    def _normalize(self, items: Sequence[HubSpotObject], *, deleted: bool) -> list[Record]:
        return [
            records.contact(
                item,
                self._mapping,
                modified_at=self._modified_at(item, deleted=deleted),
                deleted=deleted,
            )
            for item in items
        ]


class DealStream(ObjectStream):
    """Deals. The account is read from the deal→company association of live deals; an
    archived deal's associations are gone, so its deletion carries no account."""

    kind = RecordKind.OPPORTUNITY
    object_type = "deals"

    def __init__(
        self,
        client: HubSpotClient,
        mapping: FieldMapping,
        *,
        page_size: int,
        default_currency: str,
    ) -> None:
        super().__init__(client, mapping, page_size=page_size)
        self._default_currency = default_currency
        self._stages: Mapping[tuple[str, str], Stage] = {}

    def _base_properties(self) -> tuple[str, ...]:
        amount = self._mapping.amount_field or "amount"
        return (
            "dealname",
            amount,
            "deal_currency_code",
            "dealstage",
            "pipeline",
            "createdate",
            "closedate",
            "dealtype",
        )

    def _begin(self) -> None:
        self._stages = self._client.deal_stages()

    def _normalize(self, items: Sequence[HubSpotObject], *, deleted: bool) -> list[Record]:
        companies: dict[str, Any] = {}
        if items and not deleted:
            companies = self._client.associations("deals", "companies", [i.id for i in items])
        return [
            records.opportunity(
                item,
                self._mapping,
                modified_at=self._modified_at(item, deleted=deleted),
                deleted=deleted,
                stages=self._stages,
                account_id=records.primary_company(companies.get(item.id, ())),
                default_currency=self._default_currency,
            )
            for item in items
        ]


class DealContactStream:
    """Deal→contact associations (contact roles), ``external_id`` = ``"{deal}:{contact}"``.

    Associations carry no timestamp and change without touching the deal, so they are read in
    full on every run, in batches of deals (the deal ids the sync stores): the sync compares
    them with the links it stored for those deals."""

    kind = RecordKind.OPPORTUNITY_CONTACT
    parents: tuple[RecordKind, ...] = (RecordKind.OPPORTUNITY,)

    def __init__(self, client: HubSpotClient) -> None:
        self._client = client

    def links(self, parent: RecordKind, ids: Sequence[str], *, now: datetime) -> list[Record]:
        contacts = self._client.associations("deals", "contacts", list(ids))
        found: list[Record] = []
        for deal_id in ids:
            found.extend(
                records.opportunity_contacts(deal_id, contacts.get(deal_id, ()), modified_at=now)
            )
        return found


class CompanyLinkStream:
    """Every contact and deal of each company, primary or not (HubSpot keeps several company
    associations per record, and ``associatedcompanyid`` names only the primary one). Read
    from the company side: there are far fewer companies than contacts."""

    kind = RecordKind.ACCOUNT_LINK
    parents: tuple[RecordKind, ...] = (RecordKind.ACCOUNT,)
    sets_opportunity_account = True  # a deal's account is its primary company association

    def __init__(self, client: HubSpotClient) -> None:
        self._client = client

    def links(self, parent: RecordKind, ids: Sequence[str], *, now: datetime) -> list[Record]:
        found: list[Record] = []
        for to_type, object_kind in (("contacts", "contact"), ("deals", "opportunity")):
            associated = self._client.associations("companies", to_type, list(ids))
            for company_id in ids:
                found.extend(
                    records.account_links(
                        company_id, object_kind, associated.get(company_id, ()), modified_at=now
                    )
                )
        return found


class MarketingTouchStream:
    """HubSpot's marketing touches as campaign touches: marketing event participations
    (registered, attended, cancelled, no-show; ``"event-participation:{id}"``) of their contacts
    and form submissions (``"form-submission:{conversionId}"``) of the contact with the email
    submitted, each activity type mapped per connection.

    Participations can be filtered by no date: every event's are read and the sync stores only
    what is new or changed. Submissions come newest first: a read stops at the cursor, and the
    cursor (the newest submission) is given with the last page, once everything is read. A token
    without the marketing events or forms scope reads none of those."""

    kind = RecordKind.CAMPAIGN_TOUCH

    def __init__(self, client: HubSpotClient, mapping: FieldMapping, *, page_size: int) -> None:
        self._client = client
        self._mapping = mapping
        self._page_size = page_size

    def pages(self, since: Cursor | None, *, until: datetime) -> Iterator[Page]:
        for found in self._participations():
            touches = [
                records.event_touch(item, self._mapping)
                for item in found
                if item.contact_id is not None and item.occurred_at <= until
            ]
            if touches:
                yield Page(tuple(touches), None)
        start = records.as_utc(since.modified_at) if since else None
        newest: datetime | None = None
        for submissions in self._submissions(start):
            kept = [item for item in submissions if item.submitted_at <= until]
            if kept:
                newest = max([newest or kept[0].submitted_at, *(i.submitted_at for i in kept)])
                yield Page(tuple(records.form_touch(i, self._mapping) for i in kept), None)
        if newest is not None:
            yield Page((), Cursor(newest, ""))

    def all_ids(self) -> Iterator[str]:
        for found in self._participations():
            yield from (records.event_touch_id(item) for item in found if item.contact_id)
        for submissions in self._submissions(None):
            yield from (records.form_touch_id(item) for item in submissions)

    def _participations(self) -> Iterator[list[Participation]]:
        try:
            events = list(_walk(self._client.marketing_events))
        except ScopeMissing:
            return
        for event_id in events:
            yield from _pages(partial(self._client.participations, event_id))

    def _submissions(self, start: datetime | None) -> Iterator[list[FormSubmission]]:
        try:
            forms = list(_walk(self._client.forms))
        except ScopeMissing:
            return
        for form_id in forms:
            for found in _pages(partial(self._client.form_submissions, form_id)):
                recent = [i for i in found if start is None or i.submitted_at >= start]
                if recent:
                    yield recent
                if len(recent) < len(found):
                    break  # newest first: the rest is older than the cursor


def _pages(fetch: Callable[[str | None], tuple[list[Any], str | None]]) -> Iterator[list[Any]]:
    """Each page of a read paged by ``paging.next.after``."""
    after: str | None = None
    seen: set[str] = set()
    while True:
        found, after = fetch(after)
        yield found
        if after is None:
            return
        if after in seen:
            raise FatalError("HubSpot paging repeated itself")
        seen.add(after)


def _walk(fetch: Callable[[str | None], tuple[list[Any], str | None]]) -> Iterator[Any]:
    for found in _pages(fetch):
        yield from found
