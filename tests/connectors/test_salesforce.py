"""The Salesforce connector, through the real simple-salesforce over real HTTPS to FakeSalesforce."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest

from connectors.base import (
    AccountRecord,
    ApiUsage,
    CampaignTouchRecord,
    ContactRecord,
    Cursor,
    FieldMapping,
    LeadRecord,
    OpportunityContactRecord,
    OpportunityRecord,
    Record,
    RecordKind,
    Stream,
)
from connectors.errors import FatalError, RetriableError
from connectors.outbound import OutboundGuard
from connectors.retry import RetryPolicy
from connectors.salesforce import SalesforceConnector, SalesforceCredentials
from connectors.salesforce.records import to_18
from tests.fakes.salesforce import SECRETS, FakeSalesforce, fake_salesforce_server

UNTIL = datetime(2025, 6, 1, tzinfo=UTC)
T1 = datetime(2025, 2, 1, 9, 30, tzinfo=UTC)
T2 = datetime(2025, 2, 2, 9, 30, tzinfo=UTC)
T3 = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)
ACCOUNT = "001000000000001AAA"
CONTACT = "003000000000001AAA"
LEAD = "00Q000000000001AAA"
OPPORTUNITY = "006000000000001AAA"
CAMPAIGN = "701000000000001AAA"


@pytest.fixture
def fake_salesforce(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    with fake_salesforce_server(monkeypatch) as fake:
        yield fake


@pytest.fixture
def sleeps() -> list[float]:
    return []


def connect(
    fake: FakeSalesforce,
    sleeps: list[float],
    *,
    mapping: FieldMapping | None = None,
    credentials: SalesforceCredentials | None = None,
    **options: Any,
) -> SalesforceConnector:
    return SalesforceConnector(
        credentials or fake.refresh_token_credentials(),
        mapping or FieldMapping(),
        RetryPolicy(attempts=4, sleep=sleeps.append),
        guard=OutboundGuard(frozenset({urlsplit(fake.instance_url).netloc})),
        **options,
    )


def stream(connector: SalesforceConnector, kind: RecordKind) -> Stream:
    return connector.streams()[kind]


def read(
    connector: SalesforceConnector, kind: RecordKind, since: Cursor | None = None
) -> list[Record]:
    return [
        record
        for page in stream(connector, kind).pages(since, until=UNTIL)
        for record in page.records
    ]


def put_contacts(fake: FakeSalesforce, count: int, **fields: Any) -> list[str]:
    return [fake.put("Contact", {"Name": f"Person {n}", **fields})["Id"] for n in range(count)]


# -- full reads: exact normalized values ----------------------------------------------------------


def test_accounts_are_read_with_their_domain_size_and_revenue(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put(
        "Account",
        {
            "Id": ACCOUNT,
            "Name": "Acme",
            "Website": "https://www.Acme.com/about",
            "NumberOfEmployees": 250,
            "AnnualRevenue": Decimal("1250000.50"),
            "SystemModstamp": T1,
        },
    )

    assert read(connect(fake_salesforce, sleeps), RecordKind.ACCOUNT) == [
        AccountRecord(
            external_id=ACCOUNT,
            modified_at=T1,
            name="Acme",
            domain="acme.com",
            employees=250,
            annual_revenue=Decimal("1250000.5"),
        )
    ]


def test_contacts_are_read_with_their_account_and_creation_time(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put(
        "Contact",
        {
            "Id": CONTACT,
            "Name": "Ada Lovelace",
            "Email": "ada@acme.com",
            "AccountId": ACCOUNT,
            "CreatedDate": T1,
            "SystemModstamp": T2,
        },
    )

    assert read(connect(fake_salesforce, sleeps), RecordKind.CONTACT) == [
        ContactRecord(
            external_id=CONTACT,
            modified_at=T2,
            created_at=T1,
            account_external_id=ACCOUNT,
            name="Ada Lovelace",
            email="ada@acme.com",
        )
    ]


def test_a_converted_lead_names_its_contact_and_the_start_of_its_conversion_day(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put(
        "Lead",
        {
            "Id": LEAD,
            "Name": "Grace Hopper",
            "Company": "Navy",
            "Email": "grace@navy.mil",
            "IsConverted": True,
            "ConvertedContactId": CONTACT,
            "ConvertedDate": date(2025, 2, 2),
            "CreatedDate": T1,
            "SystemModstamp": T3,
        },
    )

    assert read(connect(fake_salesforce, sleeps), RecordKind.LEAD) == [
        LeadRecord(
            external_id=LEAD,
            modified_at=T3,
            created_at=T1,
            name="Grace Hopper",
            company="Navy",
            email="grace@navy.mil",
            converted_contact_external_id=CONTACT,
            converted_at=datetime(2025, 2, 2, tzinfo=UTC),
        )
    ]


def test_opportunities_carry_mapped_type_exact_amount_and_the_org_currency(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    organization = fake_salesforce.records("Organization")[0]["Id"]
    fake_salesforce.put("Organization", {"Id": organization, "DefaultCurrencyIsoCode": "EUR"})
    fake_salesforce.put(
        "Opportunity",
        {
            "Id": OPPORTUNITY,
            "Name": "Acme renewal",
            "AccountId": ACCOUNT,
            "Type": "Existing Customer - Upgrade",
            "StageName": "Closed Won",
            "IsClosed": True,
            "IsWon": True,
            "Amount": Decimal("48000.10"),
            "CloseDate": date(2025, 3, 31),
            "CreatedDate": T1,
            "SystemModstamp": T2,
        },
    )

    assert read(connect(fake_salesforce, sleeps), RecordKind.OPPORTUNITY) == [
        OpportunityRecord(
            external_id=OPPORTUNITY,
            modified_at=T2,
            created_at=T1,
            currency="EUR",
            is_closed=True,
            is_won=True,
            name="Acme renewal",
            account_external_id=ACCOUNT,
            type="expansion",
            stage_name="Closed Won",
            amount=Decimal("48000.1"),
            close_date=date(2025, 3, 31),
        )
    ]


def test_a_multi_currency_org_gives_each_opportunity_its_own_currency(
    monkeypatch: pytest.MonkeyPatch, sleeps: list[float]
) -> None:
    with fake_salesforce_server(monkeypatch, multi_currency=True) as fake:
        fake.put(
            "Opportunity",
            {"Name": "Yen deal", "StageName": "Prospecting", "CurrencyIsoCode": "JPY"},
        )

        [record] = read(connect(fake, sleeps), RecordKind.OPPORTUNITY)

        assert isinstance(record, OpportunityRecord)
        assert record.currency == "JPY"
        assert "CurrencyIsoCode" in fake.soql_log[-1]


def test_the_mapping_chooses_the_amount_field_and_extra_properties(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put("Opportunity", {"Name": "Deal", "Amount": 10, "LeadSource": "Community"})
    mapping = FieldMapping(
        amount_field="Amount", extra_fields={RecordKind.OPPORTUNITY.value: ("LeadSource",)}
    )

    [record] = read(connect(fake_salesforce, sleeps, mapping=mapping), RecordKind.OPPORTUNITY)

    assert isinstance(record, OpportunityRecord)
    assert record.amount == Decimal(10)
    assert record.properties == {"LeadSource": "Community"}


def test_contact_roles_link_opportunities_to_contacts(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    role = fake_salesforce.put(
        "OpportunityContactRole",
        {
            "OpportunityId": OPPORTUNITY,
            "ContactId": CONTACT,
            "Role": "Decision Maker",
            "IsPrimary": True,
            "SystemModstamp": T1,
        },
    )

    assert read(connect(fake_salesforce, sleeps), RecordKind.OPPORTUNITY_CONTACT) == [
        OpportunityContactRecord(
            external_id=role["Id"],
            modified_at=T1,
            opportunity_external_id=OPPORTUNITY,
            contact_external_id=CONTACT,
            role="Decision Maker",
            is_primary=True,
        )
    ]


def test_campaign_members_become_touches_at_their_first_response_or_creation(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put("Campaign", {"Id": CAMPAIGN, "Name": "Summit 2025"})
    responded = fake_salesforce.put(
        "CampaignMember",
        {
            "CampaignId": CAMPAIGN,
            "ContactId": CONTACT,
            "Status": "Attended",
            "HasResponded": True,
            "FirstRespondedDate": date(2025, 2, 2),
            "CreatedDate": T1,
            "SystemModstamp": T2,
        },
    )
    invited = fake_salesforce.put(
        "CampaignMember",
        {
            "CampaignId": CAMPAIGN,
            "LeadId": LEAD,
            "Status": "Sent",
            "CreatedDate": T1,
            "SystemModstamp": T3,
        },
    )
    mapping = FieldMapping(campaign_activity_type="event_attended")

    assert read(connect(fake_salesforce, sleeps, mapping=mapping), RecordKind.CAMPAIGN_TOUCH) == [
        CampaignTouchRecord(
            external_id=responded["Id"],
            modified_at=T2,
            occurred_at=datetime(2025, 2, 2, tzinfo=UTC),
            activity_type="event_attended",
            contact_external_id=CONTACT,
            campaign_external_id=CAMPAIGN,
            campaign_name="Summit 2025",
            properties={"Status": "Attended", "HasResponded": True},
        ),
        CampaignTouchRecord(
            external_id=invited["Id"],
            modified_at=T3,
            occurred_at=T1,
            activity_type="event_attended",
            lead_external_id=LEAD,
            campaign_external_id=CAMPAIGN,
            campaign_name="Summit 2025",
            properties={"Status": "Sent", "HasResponded": False},
        ),
    ]


# -- ids ----------------------------------------------------------------------------------------------


def test_the_18_character_form_appends_the_case_checksum() -> None:
    assert to_18("a0RE000000IJmcN") == "a0RE000000IJmcNMAT"
    assert to_18("001M000000qfPyS") == "001M000000qfPySIAU"
    assert to_18("001M000000qfPySIAU") == "001M000000qfPySIAU"


def test_15_character_ids_come_back_in_their_18_character_form(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put("Contact", {"Id": "003M000000qfPyS", "AccountId": "001M000000qfPyS"})

    [record] = read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)

    assert isinstance(record, ContactRecord)
    assert (record.external_id, record.account_external_id) == (
        "003M000000qfPySIAU",
        "001M000000qfPySIAU",
    )


# -- incremental reads ------------------------------------------------------------------------------


def test_an_incremental_read_returns_changes_at_or_after_the_cursor_in_order(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    before, at, after = (
        fake_salesforce.put("Contact", {"Name": name, "SystemModstamp": stamp})["Id"]
        for name, stamp in (("before", T1), ("at", T2), ("after", T3))
    )

    records = read(connect(fake_salesforce, sleeps), RecordKind.CONTACT, since=Cursor(T2, at))

    assert [record.external_id for record in records] == [at, after]
    assert before not in {record.external_id for record in records}


def test_the_soql_sent_selects_system_fields_within_bounds_ordered_by_cursor(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    read(connect(fake_salesforce, sleeps), RecordKind.CONTACT, since=Cursor(T1, CONTACT))

    assert fake_salesforce.soql_log == [
        "SELECT Id, AccountId, Name, Email, CreatedDate, SystemModstamp, IsDeleted, MasterRecordId "
        "FROM Contact WHERE SystemModstamp >= 2025-02-01T09:30:00Z "
        "AND SystemModstamp <= 2025-06-01T00:00:00Z ORDER BY SystemModstamp, Id"
    ]
    assert fake_salesforce.requests_log[-1].path == "/services/data/v59.0/queryAll/"


def test_deleted_rows_come_back_marked_and_an_undelete_brings_them_back(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    [contact] = put_contacts(fake_salesforce, 1)
    connector = connect(fake_salesforce, sleeps)
    fake_salesforce.clock = T2

    fake_salesforce.delete("Contact", contact)
    [deleted] = read(connector, RecordKind.CONTACT, since=Cursor(T1))
    fake_salesforce.undelete("Contact", contact)
    [restored] = read(connector, RecordKind.CONTACT, since=Cursor(deleted.modified_at))

    assert (deleted.external_id, deleted.deleted) == (contact, True)
    assert (restored.external_id, restored.deleted) == (contact, False)
    assert restored.modified_at > deleted.modified_at


def test_a_merged_loser_is_deleted_and_points_at_the_survivor(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    loser = fake_salesforce.put("Contact", {"Id": "003M000000qfPyS", "Name": "Dup"})["Id"]
    master = fake_salesforce.put("Contact", {"Name": "Master"})["Id"]
    fake_salesforce.merge("Contact", loser, master)

    records = {
        record.external_id: record
        for record in read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)
    }

    assert records["003M000000qfPySIAU"].deleted
    assert records["003M000000qfPySIAU"].merged_into == master
    assert not records[master].deleted


def test_15000_rows_sharing_one_timestamp_are_paged_without_loss(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    for n in range(15_000):
        fake_salesforce.put("Contact", {"Name": f"Person {n}", "SystemModstamp": T1})

    pages = list(
        stream(connect(fake_salesforce, sleeps), RecordKind.CONTACT).pages(None, until=UNTIL)
    )

    ids = [record.external_id for page in pages for record in page.records]
    assert [len(page.records) for page in pages] == [2000] * 7 + [1000]
    assert len(set(ids)) == 15_000 and ids == sorted(ids)
    assert all(page.cursor == Cursor(T1, page.records[-1].external_id) for page in pages)


def test_all_ids_lists_live_junction_rows_only(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    kept, deleted, vanished = (
        fake_salesforce.put(
            "OpportunityContactRole", {"OpportunityId": OPPORTUNITY, "ContactId": CONTACT}
        )["Id"]
        for _ in range(3)
    )
    fake_salesforce.delete("OpportunityContactRole", deleted)
    fake_salesforce.hard_delete("OpportunityContactRole", vanished)

    ids = list(stream(connect(fake_salesforce, sleeps), RecordKind.OPPORTUNITY_CONTACT).all_ids())

    assert ids == [kept]
    assert fake_salesforce.requests_log[-1].path == "/services/data/v59.0/query/"


# -- failures ----------------------------------------------------------------------------------------


def test_a_429_storm_waits_exactly_the_retry_after_each_time(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 3)
    fake_salesforce.rate_limit_next(3, retry_after=7)

    records = read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)

    assert len(records) == 3
    assert sleeps == [7.0, 7.0, 7.0]


def test_a_burst_of_5xx_is_retried_with_backoff(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 3)
    fake_salesforce.fail_next(2, 503)

    assert len(read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)) == 3
    assert len(sleeps) == 2


def test_request_limit_exceeded_is_retried(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 3)
    fake_salesforce.request_limit_exceeded_next(1)

    assert len(read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)) == 3
    assert len(sleeps) == 1


def test_an_expired_token_mid_pagination_is_refreshed_once_and_nothing_is_lost(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.page_size = 2
    ids = put_contacts(fake_salesforce, 6)
    pages = stream(connect(fake_salesforce, sleeps), RecordKind.CONTACT).pages(None, until=UNTIL)

    first = next(pages)
    fake_salesforce.expire_tokens()
    rest = list(pages)

    assert [r.external_id for page in [first, *rest] for r in page.records] == ids
    token_requests = [e for e in fake_salesforce.requests_log if e.path == "/services/oauth2/token"]
    assert len(token_requests) == 2
    assert sleeps == []


def test_a_truncated_json_body_is_retried_not_read_as_an_empty_page(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 3)
    fake_salesforce.truncate_next(1, path="/queryAll")

    assert len(read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)) == 3
    assert len(sleeps) == 1


def test_when_retries_run_out_the_retriable_error_propagates(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.fail_next(10, 500)

    with pytest.raises(RetriableError):
        read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)
    assert len(sleeps) == 3  # four attempts


def test_a_malformed_query_is_fatal_at_once(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    body = [{"message": "unexpected token: FROM", "errorCode": "MALFORMED_QUERY"}]
    fake_salesforce.fail_next(1, 400, body, path="/queryAll")

    with pytest.raises(FatalError, match="MALFORMED_QUERY: unexpected token: FROM"):
        read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)
    assert sleeps == []


def test_the_same_next_records_url_twice_is_a_fatal_loop(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.page_size = 2
    put_contacts(fake_salesforce, 3)
    loop = "/services/data/v59.0/query/01gLOOP-2"
    page = {"totalSize": 3, "done": False, "nextRecordsUrl": loop, "records": []}
    fake_salesforce.fail_next(2, 200, page, path="/query")  # the queryAll, then the loop

    with pytest.raises(FatalError, match="twice"):
        read(connect(fake_salesforce, sleeps), RecordKind.CONTACT, since=Cursor(T1))


def test_a_revoked_refresh_token_is_fatal_and_never_echoes_a_secret(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    credentials = fake_salesforce.refresh_token_credentials(refresh_token="revoked-token")

    with pytest.raises(FatalError) as raised:
        read(connect(fake_salesforce, sleeps, credentials=credentials), RecordKind.CONTACT)

    assert "invalid_grant" in raised.value.detail
    assert "revoked-token" not in str(raised.value)
    assert sleeps == []


# -- authentication ---------------------------------------------------------------------------------


def test_refresh_token_login_uses_the_oauth_token_endpoint(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 1)

    assert len(read(connect(fake_salesforce, sleeps), RecordKind.CONTACT)) == 1
    login = fake_salesforce.requests_log[0]
    assert (login.method, login.path) == ("POST", "/services/oauth2/token")
    assert "grant_type=refresh_token" in login.body


def test_password_login_goes_through_soap_and_logs_in_again_when_the_session_expires(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 1)
    connector = connect(fake_salesforce, sleeps, credentials=fake_salesforce.password_credentials())

    read(connector, RecordKind.CONTACT)
    fake_salesforce.expire_tokens()
    read(connector, RecordKind.CONTACT)

    logins = [e for e in fake_salesforce.requests_log if e.path == "/services/Soap/u/59.0"]
    assert len(logins) == 2
    assert logins[0].headers["soapaction"] == "login"


def test_a_wrong_password_is_fatal_and_secrets_stay_out_of_errors_and_reprs(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    credentials = fake_salesforce.password_credentials(password="wrong-password")

    check = connect(fake_salesforce, sleeps, credentials=credentials).check()

    assert not check.authenticated
    assert check.detail is not None and "INVALID_LOGIN" in check.detail
    assert "wrong-password" not in check.detail
    assert not any(secret in repr(fake_salesforce.password_credentials()) for secret in SECRETS)
    assert not any(
        secret in repr(fake_salesforce.refresh_token_credentials()) for secret in SECRETS
    )


def test_credentials_name_the_fields_they_lack() -> None:
    with pytest.raises(ValueError, match="refresh_token, instance_url"):
        SalesforceCredentials(auth="refresh_token", client_id="id", client_secret="secret")


# -- usage and checks --------------------------------------------------------------------------------


def test_api_usage_is_max_minus_remaining_daily_requests(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.set_api_usage(used=1200, max=15000)

    assert connect(fake_salesforce, sleeps).api_usage() == ApiUsage(used=1200, limit=15000)


def test_check_lists_the_fields_the_api_user_cannot_read(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.remove_field("Lead", "ConvertedDate")
    fake_salesforce.set_api_usage(used=10, max=100)
    mapping = FieldMapping(extra_fields={RecordKind.CONTACT.value: ("Title", "Nickname__c")})

    check = connect(fake_salesforce, sleeps, mapping=mapping).check()

    assert check.authenticated
    assert check.missing == ("Contact.Nickname__c", "Lead.ConvertedDate")
    assert check.usage == ApiUsage(used=10, limit=100)


# -- Bulk API 2.0 -------------------------------------------------------------------------------------


def test_a_large_full_read_goes_through_bulk_api_2_with_the_same_records(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    fake_salesforce.put("Campaign", {"Id": CAMPAIGN, "Name": "Summit, 2025"})
    for n in range(9):
        fake_salesforce.put(
            "CampaignMember",
            {
                "CampaignId": CAMPAIGN,
                "ContactId": CONTACT,
                "HasResponded": n % 2 == 0,
                "Status": f"S{n}",
            },
        )
    fake_salesforce.delete("CampaignMember", fake_salesforce.records("CampaignMember")[0]["Id"])
    rest = read(connect(fake_salesforce, sleeps), RecordKind.CAMPAIGN_TOUCH)

    bulk = connect(fake_salesforce, sleeps, bulk_threshold=5, bulk_page_size=4)
    pages = list(stream(bulk, RecordKind.CAMPAIGN_TOUCH).pages(None, until=UNTIL))

    assert [len(page.records) for page in pages] == [4, 4, 1]
    assert [record for page in pages for record in page.records] == rest
    assert sleeps == [1.0]  # one poll while the job was InProgress
    jobs = [e for e in fake_salesforce.requests_log if e.path.endswith("/jobs/query")]
    assert '"operation": "queryAll"' in jobs[0].body


def test_an_incremental_read_never_uses_bulk(
    fake_salesforce: FakeSalesforce, sleeps: list[float]
) -> None:
    put_contacts(fake_salesforce, 10)

    read(connect(fake_salesforce, sleeps, bulk_threshold=1), RecordKind.CONTACT, since=Cursor(T1))

    assert not any("/jobs/" in e.path for e in fake_salesforce.requests_log)
