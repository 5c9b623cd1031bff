"""HubSpotConnector, driven through the real hubspot-api-client over HTTP against FakeHubSpot."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit

import pytest

from connectors.base import (
    AccountLinkRecord,
    AccountRecord,
    ApiUsage,
    ContactRecord,
    Cursor,
    FieldMapping,
    LinkStream,
    OpportunityContactRecord,
    OpportunityRecord,
    Page,
    Record,
    RecordKind,
)
from connectors.errors import BudgetExhaustedError, FatalError, RetriableError
from connectors.hubspot import HubSpotConnector, HubSpotCredentials
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy
from tests.fakes.hubspot import FakeHubSpot, LoggedRequest

T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
UNTIL = datetime(2025, 6, 1, tzinfo=UTC)
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def ms(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


def connect(
    fake: FakeHubSpot,
    sleeps: list[float],
    *,
    mapping: FieldMapping | None = None,
    credentials: HubSpotCredentials | None = None,
    page_size: int = 100,
    attempts: int = 6,
) -> HubSpotConnector:
    return HubSpotConnector(
        credentials or HubSpotCredentials(access_token=fake.private_token, base_url=fake.base_url),
        mapping or FieldMapping(),
        RetryPolicy(attempts=attempts, sleep=sleeps.append),
        page_size=page_size,
        guard=OutboundGuard(frozenset({urlsplit(fake.base_url).netloc})),
    )


def oauth(fake: FakeHubSpot) -> HubSpotCredentials:
    return HubSpotCredentials(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        refresh_token=fake.refresh_token,
        base_url=fake.base_url,
    )


def pages(connector: HubSpotConnector, kind: RecordKind, since: Cursor | None = None) -> list[Page]:
    stream = connector.streams()[kind]
    assert not isinstance(stream, LinkStream)
    return list(stream.pages(since, until=UNTIL))


def links(connector: HubSpotConnector, kind: RecordKind, ids: list[str]) -> list[Record]:
    stream = connector.streams()[kind]
    assert isinstance(stream, LinkStream)
    return stream.links(stream.parents[0], ids, now=NOW)


def read(
    connector: HubSpotConnector, kind: RecordKind, since: Cursor | None = None
) -> list[Record]:
    return [record for page in pages(connector, kind, since) for record in page.records]


def searches(fake: FakeHubSpot) -> list[LoggedRequest]:
    return [request for request in fake.requests_log if request.path.endswith("/search")]


def put_contacts(fake: FakeHubSpot, ids: range, modified_at: datetime) -> None:
    for contact_id in ids:
        fake.put(
            "contacts", str(contact_id), {"email": f"c{contact_id}@x.io"}, modified_at=modified_at
        )


def assert_in_cursor_order(records: list[Record]) -> None:
    keys = [(record.modified_at, int(record.external_id)) for record in records]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


# -- full reads: exact normalized values ------------------------------------------------------


def test_companies_are_read_with_every_normalized_field(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.put(
        "companies",
        "101",
        {
            "name": "Acme",
            "domain": "acme.com",
            "numberofemployees": "250",
            "annualrevenue": "1250000.50",
            "industry": "SOFTWARE",
        },
        modified_at=T0,
    )
    fake.put(
        "companies", "102", {"name": None, "domain": "bare.io"}, modified_at=T0 + timedelta(hours=1)
    )
    mapping = FieldMapping(extra_fields={RecordKind.ACCOUNT: ("industry",)})

    assert read(connect(fake, sleeps, mapping=mapping), RecordKind.ACCOUNT) == [
        AccountRecord(
            external_id="101",
            modified_at=T0,
            properties={"industry": "SOFTWARE"},
            name="Acme",
            domain="acme.com",
            employees=250,
            annual_revenue=Decimal("1250000.50"),
        ),
        AccountRecord(
            external_id="102",
            modified_at=T0 + timedelta(hours=1),
            properties={"industry": None},
            name="",
            domain="bare.io",
        ),
    ]


def test_contacts_are_read_with_their_primary_company_and_additional_emails(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    created = datetime(2024, 11, 5, 8, 30, tzinfo=UTC)
    fake.put(
        "contacts",
        "7",
        {
            "firstname": "Ada",
            "lastname": "Lovelace",
            "email": "ada@acme.com",
            "hs_additional_emails": "ada@old-acme.com; ada.l@example.org",
            "associatedcompanyid": "101",
            "createdate": "2024-11-05T08:30:00.000Z",
        },
        modified_at=T0,
    )
    fake.put("contacts", "8", {"email": "anon@x.io"}, modified_at=T0)

    assert read(connect(fake, sleeps), RecordKind.CONTACT) == [
        ContactRecord(
            external_id="7",
            modified_at=T0,
            created_at=created,
            account_external_id="101",
            name="Ada Lovelace",
            email="ada@acme.com",
            additional_emails=("ada@old-acme.com", "ada.l@example.org"),
        ),
        ContactRecord(external_id="8", modified_at=T0, created_at=T0, email="anon@x.io"),
    ]


def test_deals_take_closed_and_won_from_their_pipeline_stage(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.set_pipelines(
        {
            "default": (
                "Sales Pipeline",
                [
                    ("open1", "Discovery", False, 0.3),
                    ("won1", "Won", True, 1.0),
                    ("lost1", "Lost", True, 0.0),
                ],
            ),
            "renewals": ("Renewals", [("rwon", "Renewed", True, 1.0)]),
        }
    )
    deal = {
        "deal_currency_code": "EUR",
        "createdate": "2025-01-10T12:00:00.000Z",
        "dealtype": "newbusiness",
    }
    fake.put(
        "deals",
        "501",
        {
            **deal,
            "dealname": "Won",
            "hs_acv": "1200.5",
            "amount": "999",
            "dealstage": "won1",
            "pipeline": "default",
            "closedate": "2025-02-28T00:00:00.000Z",
        },
        modified_at=T0,
    )
    fake.put(
        "deals",
        "502",
        {**deal, "dealname": "Lost", "dealstage": "lost1", "pipeline": "default"},
        modified_at=T0,
    )
    fake.put(
        "deals",
        "503",
        {
            "dealname": "Open",
            "dealstage": "open1",
            "pipeline": "default",
            "dealtype": "existingbusiness",
            "createdate": "2025-01-10T12:00:00.000Z",
        },
        modified_at=T0,
    )
    fake.put(
        "deals",
        "504",
        {
            **deal,
            "dealname": "Renewal",
            "dealstage": "rwon",
            "pipeline": "renewals",
            "dealtype": "Renewal Q3",
        },
        modified_at=T0,
    )
    fake.associate("deals", "501", "companies", "300")
    fake.associate("deals", "501", "companies", "200", label="Primary")
    fake.associate("deals", "503", "companies", "300")
    for company in ("200", "300"):
        fake.put("companies", company, {"name": company}, modified_at=T0)
    mapping = FieldMapping(amount_field="hs_acv", type_map={"Renewal Q3": "renewal"})

    deals = read(connect(fake, sleeps, mapping=mapping), RecordKind.OPPORTUNITY)

    won = OpportunityRecord(
        external_id="501",
        modified_at=T0,
        created_at=datetime(2025, 1, 10, 12, tzinfo=UTC),
        currency="EUR",
        is_closed=True,
        is_won=True,
        name="Won",
        account_external_id="200",
        type="new_business",
        stage_name="Won",
        pipeline="Sales Pipeline",
        amount=Decimal("1200.5"),
        close_date=date(2025, 2, 28),
    )
    assert deals == [
        won,
        replace(
            won,
            external_id="502",
            is_won=False,
            name="Lost",
            account_external_id=None,
            stage_name="Lost",
            amount=None,
            close_date=None,
        ),
        replace(
            won,
            external_id="503",
            currency="USD",
            is_closed=False,
            is_won=False,
            name="Open",
            account_external_id="300",
            type="expansion",
            stage_name="Discovery",
            amount=None,
            close_date=None,
        ),
        replace(
            won,
            external_id="504",
            name="Renewal",
            account_external_id=None,
            type="renewal",
            stage_name="Renewed",
            pipeline="Renewals",
            amount=None,
            close_date=None,
        ),
    ]


def test_deal_contacts_are_read_with_the_association_label_as_role(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.put("deals", "501", {"dealname": "A"}, modified_at=T0)
    fake.put("deals", "502", {"dealname": "B"}, modified_at=T0 + timedelta(minutes=1))
    fake.associate("deals", "501", "contacts", "9", label="Decision maker")
    fake.associate("deals", "501", "contacts", "10")
    for contact_id in ("9", "10"):
        fake.put("contacts", contact_id, {}, modified_at=T0)

    found = links(connect(fake, sleeps), RecordKind.OPPORTUNITY_CONTACT, ["501", "502"])

    assert found == [
        OpportunityContactRecord(
            external_id="501:9",
            modified_at=NOW,
            opportunity_external_id="501",
            contact_external_id="9",
            role="Decision maker",
        ),
        OpportunityContactRecord(
            external_id="501:10",
            modified_at=NOW,
            opportunity_external_id="501",
            contact_external_id="10",
        ),
    ]


def test_every_company_of_a_contact_and_a_deal_is_read_the_primary_one_marked(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.put("companies", "101", {"name": "Globex"}, modified_at=T0)
    fake.put("companies", "102", {"name": "Initech"}, modified_at=T0)
    fake.put("contacts", "7", {"associatedcompanyid": "101"}, modified_at=T0)
    fake.put("deals", "501", {"dealname": "A"}, modified_at=T0)
    fake.associate("contacts", "7", "companies", "101", label="Primary")
    fake.associate("contacts", "7", "companies", "102", label="Board member")
    fake.associate("deals", "501", "companies", "102", label="Primary")
    fake.associate("deals", "501", "companies", "101")

    found = links(connect(fake, sleeps), RecordKind.ACCOUNT_LINK, ["101", "102"])

    assert sorted(found, key=lambda record: record.external_id) == [
        AccountLinkRecord(
            external_id=f"{kind}:{linked}:{company}",
            modified_at=NOW,
            object_kind=kind,
            object_external_id=linked,
            account_external_id=company,
            is_primary=primary,
            role=role,
        )
        for kind, linked, company, primary, role in (
            ("contact", "7", "101", True, None),
            ("contact", "7", "102", False, "Board member"),
            ("opportunity", "501", "101", False, None),
            ("opportunity", "501", "102", True, None),
        )
    ]


# -- incremental reads, deletes, restores, merges --------------------------------------------


def test_an_incremental_read_returns_creates_updates_and_archives_since_the_cursor(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 5), T0)
    t1, t2, t3 = (T0 + timedelta(hours=h) for h in (1, 2, 3))
    fake.put("contacts", "2", {"firstname": "Updated"}, modified_at=t2)
    fake.put("contacts", "5", {"email": "new@x.io"}, modified_at=t2)
    fake.archive("contacts", "3", at=t3)
    fake.archive("contacts", "4", at=T0)  # archived before the cursor: already synced

    records = read(connect(fake, sleeps), RecordKind.CONTACT, since=Cursor(t1))

    assert [(r.external_id, r.modified_at, r.deleted) for r in records] == [
        ("2", t2, False),
        ("5", t2, False),
        ("3", t3, True),
    ]
    assert records[0] == ContactRecord(
        external_id="2", modified_at=t2, created_at=T0, name="Updated", email="c2@x.io"
    )


def test_a_restored_record_reappears_live(fake: FakeHubSpot, sleeps: list[float]) -> None:
    fake.put("companies", "1", {"name": "Acme"}, modified_at=T0)
    fake.archive("companies", "1", at=T0 + timedelta(hours=1))
    connector = connect(fake, sleeps)
    assert [(r.external_id, r.deleted) for r in read(connector, RecordKind.ACCOUNT)] == [
        ("1", True)
    ]

    fake.restore("companies", "1", modified_at=T0 + timedelta(hours=2))

    since = Cursor(T0 + timedelta(hours=1), "1")
    assert [
        (r.external_id, r.modified_at, r.deleted)
        for r in read(connector, RecordKind.ACCOUNT, since)
    ] == [("1", T0 + timedelta(hours=2), False)]


def test_a_merged_record_is_reported_deleted_into_its_survivor(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.put("contacts", "1", {"email": "ada@acme.com"}, modified_at=T0)
    fake.put("contacts", "2", {"email": "ada.l@acme.com"}, modified_at=T0)
    fake.merge("contacts", loser="2", survivor="1", modified_at=T0 + timedelta(hours=1))

    records = read(
        connect(fake, sleeps), RecordKind.CONTACT, since=Cursor(T0 + timedelta(minutes=30))
    )

    assert [(r.external_id, r.deleted, r.merged_into) for r in records] == [
        ("1", False, None),
        ("2", True, "1"),
    ]


def test_a_resumed_cursor_reads_its_own_timestamp_from_its_own_id(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 8), T0)
    put_contacts(fake, range(8, 10), T0 + timedelta(seconds=1))

    records = read(connect(fake, sleeps), RecordKind.CONTACT, since=Cursor(T0, "5"))

    assert [r.external_id for r in records] == ["5", "6", "7", "8", "9"]


def test_page_cursors_follow_their_records_in_order(fake: FakeHubSpot, sleeps: list[float]) -> None:
    for contact_id in range(1, 61):  # timestamps repeat across page boundaries
        fake.put(
            "contacts", str(contact_id), {}, modified_at=T0 + timedelta(seconds=contact_id % 7)
        )

    result = pages(connect(fake, sleeps, page_size=10), RecordKind.CONTACT)

    records = [record for page in result for record in page.records]
    assert len(records) == 60
    assert_in_cursor_order(records)
    for page in result:
        last = page.records[-1]
        assert page.cursor == Cursor(last.modified_at, last.external_id)


def test_fifteen_thousand_contacts_sharing_one_timestamp_are_all_read(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 15_001), T0)
    put_contacts(fake, range(20_001, 20_004), T0 + timedelta(seconds=1))

    records = read(connect(fake, sleeps, page_size=200), RecordKind.CONTACT)

    assert [r.external_id for r in records] == [
        str(i) for i in (*range(1, 15_001), *range(20_001, 20_004))
    ]
    bodies = [request.body for request in searches(fake)]
    assert all("after" not in body for body in bodies)
    by_id = [
        b
        for b in bodies
        if b["sorts"] == [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    ]
    assert len(by_id) == 75  # 15,000 records, 200 a page, by id within the one timestamp


def test_twenty_five_thousand_distinct_timestamps_are_read_past_the_search_cap(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    for contact_id in range(1, 25_001):
        fake.put(
            "contacts", str(contact_id), {}, modified_at=T0 + timedelta(milliseconds=contact_id)
        )

    records = read(connect(fake, sleeps, page_size=200), RecordKind.CONTACT)

    assert len(records) == 25_000
    assert_in_cursor_order(records)
    assert all("after" not in request.body for request in searches(fake))


def test_the_fake_refuses_search_offsets_at_the_ten_thousand_cap(fake: FakeHubSpot) -> None:
    request = urllib.request.Request(
        f"{fake.base_url}/crm/v3/objects/contacts/search",
        data=json.dumps({"limit": 100, "after": "10000"}).encode(),
        headers={
            "Authorization": f"Bearer {fake.private_token}",
            "Content-Type": "application/json",
        },
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 400


def test_a_large_account_answers_a_narrow_window_quickly(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    for contact_id in range(1, 200_001):
        fake.put("contacts", str(contact_id), {}, modified_at=T0 + timedelta(seconds=contact_id))
    since = Cursor(T0 + timedelta(seconds=199_751))

    records = read(connect(fake, sleeps), RecordKind.CONTACT, since)

    assert [r.external_id for r in records] == [str(i) for i in range(199_751, 200_001)]


def test_search_requests_send_exact_filters_sorts_and_properties(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 4), T0)
    mapping = FieldMapping(extra_fields={RecordKind.CONTACT: ("jobtitle",)})

    read(connect(fake, sleeps, mapping=mapping), RecordKind.CONTACT, since=Cursor(T0, "2"))

    properties = [
        "firstname",
        "lastname",
        "email",
        "hs_additional_emails",
        "associatedcompanyid",
        "createdate",
        "hs_merged_object_ids",
        "lastmodifieddate",
        "jobtitle",
        "hs_object_id",
    ]
    assert [request.body for request in searches(fake)] == [
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "lastmodifieddate", "operator": "EQ", "value": ms(T0)},
                        {"propertyName": "hs_object_id", "operator": "GTE", "value": "2"},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": properties,
            "limit": 100,
        },
        {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": "lastmodifieddate", "operator": "GT", "value": ms(T0)},
                        {"propertyName": "lastmodifieddate", "operator": "LTE", "value": ms(UNTIL)},
                    ]
                }
            ],
            "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            "properties": properties,
            "limit": 100,
        },
    ]
    archived = [
        r for r in fake.requests_log if r.method == "GET" and r.path == "/crm/v3/objects/contacts"
    ]
    assert [(r.query["archived"], r.query["properties"]) for r in archived] == [
        (["True"], properties[:-1])
    ]


# -- failures ---------------------------------------------------------------------------------


def test_a_rate_limit_storm_waits_exactly_the_retry_after_values(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 3), T0)
    for seconds in (3, 1.5, 7):  # on the GET list, which the SDK's own urllib3 would retry
        fake.rate_limit(retry_after=seconds, path="/crm/v3/objects/contacts")

    assert len(read(connect(fake, sleeps), RecordKind.CONTACT)) == 2
    assert sleeps == [3.0, 1.5, 7.0]
    assert sum(1 for r in fake.requests_log if r.method == "GET") == 4


def test_a_ten_secondly_rate_limit_without_retry_after_waits_ten_seconds(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.rate_limit(retry_after=None, path="/search")

    read(connect(fake, sleeps), RecordKind.ACCOUNT)

    assert sleeps == [10.0]


def test_a_burst_of_server_errors_is_retried(fake: FakeHubSpot, sleeps: list[float]) -> None:
    fake.put("companies", "1", {"name": "Acme"}, modified_at=T0)
    fake.server_error(times=2, status=502, path="/search")
    fake.server_error(times=1, status=504, path="/search")

    assert [r.external_id for r in read(connect(fake, sleeps), RecordKind.ACCOUNT)] == ["1"]
    assert len(sleeps) == 3


def test_a_truncated_json_body_is_retried_never_read_as_an_empty_last_page(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 31), T0 + timedelta(minutes=1))
    put_contacts(fake, range(31, 61), T0 + timedelta(minutes=2))
    connector = connect(fake, sleeps, page_size=20)
    stream = connector.streams()[RecordKind.CONTACT].pages(None, until=UNTIL)
    first = next(stream)
    fake.truncate(path="/search")

    records = [*first.records, *(record for page in stream for record in page.records)]

    assert len(records) == 60
    assert len(sleeps) == 1


def test_exhausted_retries_raise_the_retriable_error(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.server_error(times=3, status=503, path="/search")

    with pytest.raises(RetriableError):
        read(connect(fake, sleeps, attempts=3), RecordKind.ACCOUNT)
    assert len(sleeps) == 2


def test_the_daily_limit_raises_budget_exhausted_without_retrying(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.rate_limit(retry_after=None, policy="DAILY", path="/search")

    with pytest.raises(BudgetExhaustedError):
        read(connect(fake, sleeps), RecordKind.ACCOUNT)
    assert sleeps == []


def test_a_bad_request_is_fatal_at_once_with_hubspots_message(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.client_error(status=400, message="Property jobtitle does not exist", path="/search")

    with pytest.raises(FatalError) as failure:
        read(connect(fake, sleeps), RecordKind.CONTACT)

    assert "Property jobtitle does not exist" in failure.value.detail
    assert fake.private_token not in failure.value.detail
    assert sleeps == []
    assert len(searches(fake)) == 1


def test_an_expired_oauth_token_is_refreshed_once_in_the_middle_of_a_read(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 41), T0)
    put_contacts(fake, range(41, 81), T0 + timedelta(seconds=1))
    stream = connect(fake, sleeps, credentials=oauth(fake), page_size=20).streams()[
        RecordKind.CONTACT
    ]
    read_pages = stream.pages(None, until=UNTIL)
    first = next(read_pages)
    fake.expire_token()

    rest = [record for page in read_pages for record in page.records]

    assert len(first.records) + len(rest) == 80
    assert fake.tokens_issued == 2  # the first token, then one refresh
    assert sleeps == []


def test_a_rejected_private_app_token_is_tried_twice_then_fatal_naming_its_kind(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    credentials = HubSpotCredentials(access_token="pat-na1-revoked", base_url=fake.base_url)

    with pytest.raises(FatalError, match="refused the private app access token twice"):
        read(connect(fake, sleeps, credentials=credentials), RecordKind.ACCOUNT)
    assert len(fake.requests_log) == 2
    assert sleeps == []


def test_a_single_401_in_the_middle_of_a_read_with_a_private_app_token_is_retried(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    put_contacts(fake, range(1, 251), T0)
    put_contacts(fake, range(251, 501), T0 + timedelta(hours=1))
    fake.client_error(1, status=401, message="Authentication credentials not found.", after=2)

    records = read(connect(fake, sleeps), RecordKind.CONTACT)

    assert [record.external_id for record in records] == [str(n) for n in range(1, 501)]
    assert [request.path for request in fake.requests_log].count(
        "/crm/v3/objects/contacts/search"
    ) >= 4


# -- reconciliation, usage, check -------------------------------------------------------------


def test_an_association_change_without_a_deal_change_shows_in_the_next_read(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.put("deals", "501", {"dealname": "A"}, modified_at=T0)
    put_contacts(fake, range(9, 12), T0)
    fake.associate("deals", "501", "contacts", "9")
    fake.associate("deals", "501", "contacts", "10")
    connector = connect(fake, sleeps)
    found = links(connector, RecordKind.OPPORTUNITY_CONTACT, ["501"])
    assert [record.external_id for record in found] == ["501:9", "501:10"]

    fake.dissociate("deals", "501", "contacts", "9")
    fake.associate("deals", "501", "contacts", "11", label="Champion")

    found = links(connector, RecordKind.OPPORTUNITY_CONTACT, ["501"])
    assert [record.external_id for record in found] == ["501:10", "501:11"]


def test_association_pages_are_followed_for_deals_with_many_contacts(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.association_page_size = 3
    fake.put("deals", "501", {"dealname": "A"}, modified_at=T0)
    put_contacts(fake, range(1, 9), T0)
    for contact_id in range(1, 9):
        fake.associate("deals", "501", "contacts", str(contact_id))

    found = links(connect(fake, sleeps), RecordKind.OPPORTUNITY_CONTACT, ["501"])

    assert [r.external_id for r in found] == [f"501:{i}" for i in range(1, 9)]


def test_association_reads_send_at_most_a_thousand_ids_a_request(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    deals = [str(n) for n in range(1, 2502)]
    put_contacts(fake, range(9, 10), T0)
    for deal in deals[:3]:
        fake.put("deals", deal, {"dealname": deal}, modified_at=T0)
        fake.associate("deals", deal, "contacts", "9")

    found = links(connect(fake, sleeps), RecordKind.OPPORTUNITY_CONTACT, deals)

    sizes = [
        len(request.body["inputs"])
        for request in fake.requests_log
        if request.path.endswith("/batch/read")
    ]
    assert sizes == [1000, 1000, 501]
    assert [r.external_id for r in found] == ["1:9", "2:9", "3:9"]


def test_api_usage_comes_from_the_daily_rate_limit_headers(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.daily_limit = 1_000
    connector = connect(fake, sleeps)
    assert connector.api_usage() is None

    read(connector, RecordKind.ACCOUNT)

    assert connector.api_usage() == ApiUsage(used=len(fake.requests_log), limit=1_000)


def test_check_names_the_properties_the_account_lacks(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    mapping = FieldMapping(amount_field="hs_acv", extra_fields={RecordKind.CONTACT: ("jobtitle",)})

    check = connect(fake, sleeps, mapping=mapping).check()

    assert check.authenticated
    assert check.missing == ("contacts.jobtitle", "deals.hs_acv")
    assert check.usage is not None


def test_check_tells_each_scope_and_a_missing_scope_is_no_failed_authentication(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    fake.granted_scopes = {
        "crm.objects.companies.read",
        "crm.schemas.companies.read",
        "crm.objects.contacts.read",
        "crm.schemas.contacts.read",
    }

    check = connect(fake, sleeps).check()

    assert check.authenticated
    assert check.missing == ()
    assert check.scopes == {
        "crm.objects.companies.read": True,
        "crm.schemas.companies.read": True,
        "crm.objects.contacts.read": True,
        "crm.schemas.contacts.read": True,
        "crm.objects.deals.read": False,
        "crm.schemas.deals.read": False,
        "crm.objects.marketing_events.read": False,
        "forms": False,
    }
    assert check.usage is not None


def test_a_healthy_portal_whose_property_list_omits_computed_properties_misses_nothing(
    fake: FakeHubSpot, sleeps: list[float]
) -> None:
    for object_type in ("companies", "contacts", "deals"):
        fake.remove_property(object_type, "hs_merged_object_ids")
    fake.remove_property("deals", "dealtype")
    fake.remove_property("contacts", "hs_additional_emails")

    check = connect(fake, sleeps).check()

    assert (check.authenticated, check.missing) == (True, ())
    assert set(check.scopes.values()) == {True}


def test_check_reports_refused_credentials(fake: FakeHubSpot, sleeps: list[float]) -> None:
    credentials = HubSpotCredentials(access_token="pat-na1-wrong", base_url=fake.base_url)

    check = connect(fake, sleeps, credentials=credentials).check()

    assert not check.authenticated
    assert check.detail is not None and "pat-na1-wrong" not in check.detail


def test_credentials_never_show_their_secrets() -> None:
    credentials = HubSpotCredentials(
        client_id="app", client_secret="s3cret", refresh_token="r3fresh", access_token="t0ken"
    )

    assert not any(secret in repr(credentials) for secret in ("s3cret", "r3fresh", "t0ken"))
