"""HubSpot -> database, through the admin API, the worker, the real hubspot-api-client and a local
server speaking HubSpot's documented CRM v3/v4 shapes. Each case ends with the database compared to
the CRM record by record."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.crypto import decrypt_json
from app.models import (
    Account,
    AccountLink,
    ActivityType,
    Contact,
    CrmConnection,
    Opportunity,
    OpportunityContact,
    Touchpoint,
)
from tests.fakes.hubspot import FakeHubSpot
from tests.sync.conftest import SyncHarness

SOURCE = "hubspot"
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def fake() -> Iterator[FakeHubSpot]:
    with FakeHubSpot() as server:
        yield server


@pytest.fixture
def harness(fake: FakeHubSpot, harness_for: Any) -> SyncHarness:
    built: SyncHarness = harness_for(urlsplit(fake.base_url).netloc)
    return built


def connect(harness: SyncHarness, fake: FakeHubSpot, *, oauth: bool = False, **options: Any) -> int:
    credentials = (
        {
            "client_id": fake.client_id,
            "client_secret": fake.client_secret,
            "refresh_token": fake.refresh_token,
        }
        if oauth
        else {"access_token": fake.private_token}
    )
    response = harness.api.post(
        "/v1/connections",
        json={
            "name": "HubSpot portal",
            "credentials": {"kind": "hubspot", "base_url": fake.base_url, **credentials},
            **options,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def seed(fake: FakeHubSpot) -> None:
    fake.set_pipelines(
        {
            "default": (
                "Sales Pipeline",
                [
                    ("open1", "Discovery", False, 0.3),
                    ("won1", "Won", True, 1.0),
                    ("lost1", "Lost", True, 0.0),
                ],
            )
        }
    )
    fake.put("companies", "101", {"name": "Globex", "domain": "globex.com"}, modified_at=T0)
    fake.put("companies", "102", {"name": "Initech", "domain": "initech.com"}, modified_at=T0)
    people = (
        ("7", "Alice", "alice@globex.com", "101"),
        ("8", "Bob", "bob@globex.com", "101"),
        ("9", "Dan", "dan@initech.com", "102"),
    )
    for contact_id, first, email, company in people:
        fake.put(
            "contacts",
            contact_id,
            {
                "firstname": first,
                "lastname": "Doe",
                "email": email,
                "associatedcompanyid": company,
                "createdate": "2024-11-05T08:30:00.000Z",
            },
            modified_at=T0 + timedelta(minutes=int(contact_id)),
        )
    fake.put(
        "deals",
        "501",
        {
            "dealname": "Globex - Platform",
            "amount": "48000.00",
            "dealstage": "won1",
            "pipeline": "default",
            "createdate": "2025-01-10T12:00:00.000Z",
            "closedate": "2025-05-30T00:00:00.000Z",
            "dealtype": "newbusiness",
        },
        modified_at=T0,
    )
    fake.put(
        "deals",
        "502",
        {
            "dealname": "Initech - Pilot",
            "amount": "10000.01",
            "dealstage": "open1",
            "pipeline": "default",
            "createdate": "2025-02-10T12:00:00.000Z",
        },
        modified_at=T0,
    )
    # a later deal moves the deal cursor a day past 501 and 502, beyond the overlap
    fake.put(
        "deals",
        "503",
        {"dealname": "Hooli - Trial", "dealstage": "open1", "pipeline": "default"},
        modified_at=T0 + timedelta(days=1),
    )
    fake.associate("deals", "501", "companies", "101")
    fake.associate("deals", "502", "companies", "102")
    fake.associate("deals", "501", "contacts", "7", label="Decision maker")
    fake.associate("deals", "501", "contacts", "8")
    fake.associate("deals", "502", "contacts", "9")


def assert_database_equals_crm(harness: SyncHarness, fake: FakeHubSpot) -> None:
    workspace = harness.api.workspace_id

    def live(model: Any, *columns: Any) -> dict[str, tuple[Any, ...]]:
        rows = harness.rows(
            select(model.external_id, *columns).where(
                model.workspace_id == workspace, model.source == SOURCE, model.deleted_at.is_(None)
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}

    account_of = {id_: key for key, (id_,) in live(Account, Account.id).items()}
    contact_of = {id_: key for key, (id_,) in live(Contact, Contact.id).items()}
    deal_of = {id_: key for key, (id_,) in live(Opportunity, Opportunity.id).items()}
    assert live(Account, Account.name, Account.domain) == {
        r["id"]: (r["properties"]["name"], r["properties"].get("domain"))
        for r in fake.records("companies")
    }
    got_contacts = {
        key: (account_of.get(account), email)
        for key, (account, email) in live(Contact, Contact.account_id, Contact.email).items()
    }
    assert got_contacts == {
        r["id"]: (r["properties"].get("associatedcompanyid"), r["properties"].get("email"))
        for r in fake.records("contacts")
    }
    deal_companies = primary_companies(fake.associations("deals", "companies"))
    got_deals = {
        key: (account_of.get(account), name, amount)
        for key, (account, name, amount) in live(
            Opportunity, Opportunity.account_id, Opportunity.name, Opportunity.amount
        ).items()
    }
    assert got_deals == {
        r["id"]: (
            deal_companies.get(r["id"]),
            r["properties"]["dealname"],
            None
            if r["properties"].get("amount") is None
            else int(Decimal(r["properties"]["amount"]) * 100),
        )
        for r in fake.records("deals")
    }
    got_roles = {
        (deal_of[deal], contact_of[contact], role)
        for deal, contact, role in live(
            OpportunityContact,
            OpportunityContact.opportunity_id,
            OpportunityContact.contact_id,
            OpportunityContact.role,
        ).values()
    }
    assert got_roles == set(fake.associations("deals", "contacts"))
    got_links = {
        (account_of[account], contact_of.get(contact), deal_of.get(deal), primary)
        for account, contact, deal, primary in live(
            AccountLink,
            AccountLink.account_id,
            AccountLink.contact_id,
            AccountLink.opportunity_id,
            AccountLink.is_primary,
        ).values()
    }
    assert got_links == {
        (company, contact, None, label == "Primary")
        for company, contact, label in fake.associations("companies", "contacts")
    } | {
        (company, None, deal, label == "Primary")
        for company, deal, label in fake.associations("companies", "deals")
    }


def primary_companies(links: list[tuple[str, str, str | None]]) -> dict[str, str]:
    """Each record's company labelled Primary, else its lowest company id."""
    chosen: dict[str, tuple[bool, int]] = {}
    for record, company, label in links:
        key = (label != "Primary", int(company))
        chosen[record] = min(chosen.get(record, key), key)
    return {record: str(company) for record, (_, company) in chosen.items()}


def test_a_full_sync_stores_every_record(harness: SyncHarness, fake: FakeHubSpot) -> None:
    seed(fake)
    run = harness.sync(connect(harness, fake))
    assert run["status"] == "succeeded", run["error"]
    assert run["counts"]["contact"]["created"] == 3
    assert run["counts"]["opportunity_contact"]["created"] == 3
    assert_database_equals_crm(harness, fake)


def test_an_incremental_sync_sees_creates_updates_and_archives(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    later = T0 + timedelta(days=1)
    fake.put("contacts", "7", {"email": "alice.nguyen@globex.com"}, modified_at=later)
    fake.put(
        "contacts",
        "10",
        {"email": "carol@initech.com", "associatedcompanyid": "102"},
        modified_at=later,
    )
    fake.archive("contacts", "8", at=later)
    fake.put("deals", "502", {"amount": "12000"}, modified_at=later)
    harness.later()
    run = harness.sync(connection)
    assert run["status"] == "succeeded", run["error"]
    counts = run["counts"]["contact"]
    assert (counts["created"], counts["updated"], counts["deleted"]) == (1, 1, 1)
    assert_database_equals_crm(harness, fake)


def test_a_restored_record_reappears(harness: SyncHarness, fake: FakeHubSpot) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.archive("companies", "102", at=T0 + timedelta(hours=1))
    harness.sync(connection)
    fake.restore("companies", "102", modified_at=T0 + timedelta(days=1))
    harness.later()
    assert harness.sync(connection)["counts"]["account"]["updated"] == 1
    assert_database_equals_crm(harness, fake)


def test_fifteen_thousand_contacts_sharing_one_timestamp(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    for n in range(15_000):
        fake.put("contacts", str(1000 + n), {"email": f"c{n}@x.io"}, modified_at=T0)
    run = harness.sync(connect(harness, fake))
    assert run["counts"]["contact"]["created"] == 15_000
    assert_database_equals_crm(harness, fake)


def test_a_storm_of_429s_is_waited_out_as_retry_after_says(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.rate_limit(3, retry_after=4.0)
    assert harness.sync(connection)["status"] == "succeeded"
    assert harness.sleeps[:3] == [4.0, 4.0, 4.0]
    assert_database_equals_crm(harness, fake)


def test_a_burst_of_5xx_is_retried(harness: SyncHarness, fake: FakeHubSpot) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.server_error(3, status=502)
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_an_expired_oauth_token_is_refreshed_mid_sync(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake, oauth=True)
    fake.expire_token()
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_a_truncated_body_is_retried_not_read_as_the_end(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.truncate(1, path="/search")
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_the_daily_limit_stops_the_run_resumably(harness: SyncHarness, fake: FakeHubSpot) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.rate_limit(1, policy="DAILY", path="/search")
    stopped = harness.sync(connection)
    assert stopped["status"] == "partial"
    harness.later()
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_a_contact_removed_from_a_deal_without_a_deal_change_is_reconciled(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.dissociate("deals", "501", "contacts", "8")
    harness.later()
    run = harness.sync(connection)
    assert run["counts"]["opportunity_contact"]["deleted"] == 1
    assert_database_equals_crm(harness, fake)


def test_a_process_killed_between_pages_resumes_without_loss_or_duplicates(
    harness: SyncHarness, fake: FakeHubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(250):
        fake.put(
            "companies",
            str(5000 + n),
            {"name": f"Company {n}"},
            modified_at=T0 + timedelta(minutes=n),
        )
    connection = connect(harness, fake)
    stored = harness.sync_killed_after(connection, 1, monkeypatch)
    assert 0 < len(stored) < 250  # the first page was committed before the kill
    harness.later(minutes=120)  # the dead worker's lease has run out
    resumed = harness.resume_dead_run(connection)
    assert (resumed["status"], resumed["attempts"]) == ("succeeded", 2)
    assert resumed["counts"]["account"]["created"] == 250  # before the kill and after
    assert_database_equals_crm(harness, fake)


def test_a_contact_added_to_a_deal_without_a_deal_change_is_synced(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.associate("deals", "502", "contacts", "7", label="Champion")
    harness.later()
    run = harness.sync(connection)
    assert run["counts"]["opportunity_contact"]["created"] == 1
    assert_database_equals_crm(harness, fake)


def test_a_deal_moved_to_another_company_without_a_deal_change_follows_it(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.dissociate("deals", "501", "companies", "101")
    fake.associate("deals", "501", "companies", "102", label="Primary")
    harness.later()
    run = harness.sync(connection)
    assert run["counts"]["opportunity"]["updated"] == 1
    assert_database_equals_crm(harness, fake)
    moved = harness.scalars(
        select(Account.external_id)
        .join(Opportunity, Opportunity.account_id == Account.id)
        .where(
            Opportunity.workspace_id == harness.api.workspace_id, Opportunity.external_id == "501"
        )
    )
    assert moved == ["102"]


def test_a_deal_unlinked_from_its_company_loses_its_account(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.dissociate("deals", "502", "companies", "102")
    harness.later()
    harness.sync(connection)
    assert_database_equals_crm(harness, fake)
    assert harness.scalars(
        select(Opportunity.account_id).where(
            Opportunity.workspace_id == harness.api.workspace_id, Opportunity.external_id == "502"
        )
    ) == [None]


def test_every_company_of_a_contact_and_of_a_deal_is_kept(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    fake.associate("contacts", "7", "companies", "101", label="Primary")
    fake.associate("contacts", "7", "companies", "102")
    fake.associate("deals", "501", "companies", "102", label="Primary")
    run = harness.sync(connect(harness, fake))
    assert run["status"] == "succeeded", run["error"]
    assert_database_equals_crm(harness, fake)
    links = harness.rows(
        select(AccountLink.external_id, AccountLink.is_primary)
        .where(AccountLink.workspace_id == harness.api.workspace_id)
        .order_by(AccountLink.external_id)
    )
    assert [tuple(link) for link in links] == [
        ("contact:7:101", True),
        ("contact:7:102", False),
        ("opportunity:501:101", False),
        ("opportunity:501:102", True),
        ("opportunity:502:102", False),
    ]


def test_scheduled_runs_compare_associations_on_every_run(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    job = harness.api.post(f"/v1/connections/{connection}/sync-jobs", json={"cron": "0 * * * *"})
    assert job.status_code == 201, job.text
    for change in (
        lambda: fake.dissociate("deals", "501", "contacts", "8"),
        lambda: fake.associate("deals", "502", "contacts", "8"),
        lambda: fake.dissociate("deals", "502", "companies", "102"),
    ):
        change()
        harness.later(minutes=60)
        harness.work()
        assert_database_equals_crm(harness, fake)
    runs = harness.api.get("/v1/sync-runs", params={"connection_id": connection}).json()
    assert [run["status"] for run in runs] == ["succeeded"] * 3


def test_records_stamped_by_a_portal_clock_ahead_of_ours_are_read_in_the_same_run(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    ours = harness.clock.now
    fake.server_time = ours + timedelta(seconds=60)
    fake.put("companies", "301", {"name": "Future Co"}, modified_at=ours + timedelta(seconds=30))
    run = harness.sync(connect(harness, fake))
    assert run["counts"]["account"]["created"] == 1
    assert_database_equals_crm(harness, fake)


def test_a_single_401_mid_pagination_with_a_private_app_token_is_retried(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    for n in range(250):
        fake.put("companies", str(5000 + n), {"name": f"Company {n}"}, modified_at=T0)
    fake.client_error(1, status=401, message="Authentication credentials not found.", after=1)
    run = harness.sync(connect(harness, fake))
    assert run["status"] == "succeeded", run["error"]
    assert run["counts"]["account"]["created"] == 250
    assert_database_equals_crm(harness, fake)


def test_a_revoked_private_app_token_fails_the_run_naming_the_credential(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.private_token = "pat-na1-rotated"
    run = harness.sync(connection)
    assert run["status"] == "failed"
    assert "private app access token" in run["error"]["detail"]


def test_members_resolve_through_a_contacts_additional_emails(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    harness.api.post(
        "/v1/members:batch",
        json={"members": [{"external_id": "m-alice", "emails": ["Alice.Personal@Example.org"]}]},
    )
    seed(fake)
    fake.put(
        "contacts",
        "7",
        {"hs_additional_emails": "alice.personal@example.org;alice@old-globex.com"},
        modified_at=T0 + timedelta(minutes=7),
    )
    connection = connect(harness, fake)
    harness.sync(connection)
    member = harness.api.get("/v1/members/m-alice").json()
    assert [(link["target"], link["external_id"]) for link in member["links"]] == [("contact", "7")]
    assert member["account"] == "101"

    fake.put("contacts", "7", {"hs_additional_emails": ""}, modified_at=T0 + timedelta(days=2))
    harness.later()
    harness.sync(connection)
    assert harness.api.get("/v1/members/m-alice").json()["links"] == []


def test_the_connection_test_of_a_token_without_the_deals_scope_says_exactly_that(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    fake.granted_scopes = {
        f"crm.{kind}.{name}.read"
        for kind in ("objects", "schemas")
        for name in ("companies", "contacts")
    }
    checked = harness.api.post(f"/v1/connections/{connect(harness, fake)}/test").json()
    assert (checked["authenticated"], checked["missing"], checked["detail"]) == (True, [], None)
    assert [scope for scope, granted in checked["scopes"].items() if not granted] == [
        "crm.objects.deals.read",
        "crm.schemas.deals.read",
        "crm.objects.marketing_events.read",
        "forms",
    ]
    assert checked["api_limit"] == fake.daily_limit


def test_a_rotated_oauth_refresh_token_is_stored_at_once_and_used_after_a_restart(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    fake.rotate_refresh_tokens = True
    connection = connect(harness, fake, oauth=True)
    assert harness.sync(connection)["status"] == "succeeded"
    with harness.factory() as session:
        stored = session.get_one(CrmConnection, connection).credentials_encrypted
    assert decrypt_json(harness.settings, stored)["refresh_token"] == fake.refresh_token
    assert fake.refresh_token.encode() not in stored
    fake.expire_token()
    harness.later()
    assert harness.sync(connection)["status"] == "succeeded"  # a new worker, the stored token


def test_marketing_event_participations_become_campaign_touches_of_their_contacts(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    fake.add_marketing_event("801", "Spring Webinar")
    day = T0 + timedelta(days=1)
    fake.participate("801", "7", "ATTENDED", occurred_at=day)
    fake.participate("801", "8", "REGISTERED", occurred_at=day + timedelta(hours=1))
    fake.participate("801", "9", "CANCELLED", occurred_at=day + timedelta(hours=2))
    connection = connect(
        harness,
        fake,
        field_mapping={"marketing_activity_types": {"attended": "webinar_attended"}},
    )
    run = harness.sync(connection)
    assert run["counts"]["campaign_touch"]["created"] == 3

    def touches() -> set[tuple[str, str, datetime]]:
        rows = harness.rows(
            select(Contact.external_id, ActivityType.key, Touchpoint.occurred_at)
            .join(Contact, Contact.id == Touchpoint.contact_id)
            .join(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
            .where(Touchpoint.workspace_id == harness.api.workspace_id)
        )
        return {(contact, key, _utc(at)) for contact, key, at in rows}

    assert touches() == {
        ("7", "webinar_attended", day),
        ("8", "hubspot_event_registered", day + timedelta(hours=1)),
        ("9", "hubspot_event_cancelled", day + timedelta(hours=2)),
    }
    fake.participate("801", "8", "ATTENDED", occurred_at=day + timedelta(hours=3))
    harness.later()
    counts = harness.sync(connection)["counts"]["campaign_touch"]
    assert (counts["created"], counts["updated"], counts["unchanged"]) == (0, 1, 2)
    assert ("8", "webinar_attended", day + timedelta(hours=3)) in touches()


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def test_form_submissions_become_campaign_touches_of_the_contact_with_the_email(
    harness: SyncHarness, fake: FakeHubSpot
) -> None:
    seed(fake)
    fake.add_form("f1a2b3c4", "Contact us")
    day = T0 + timedelta(days=3)
    fake.submit_form("f1a2b3c4", "Alice@Globex.com", submitted_at=day, page_url="https://x.io/a")
    fake.submit_form("f1a2b3c4", "stranger@nowhere.io", submitted_at=day + timedelta(hours=1))
    connection = connect(harness, fake)
    counts = harness.sync(connection)["counts"]["campaign_touch"]
    assert (counts["created"], counts["skipped"]) == (1, 1)
    fake.submit_form("f1a2b3c4", "bob@globex.com", submitted_at=day + timedelta(days=1))
    harness.later()
    counts = harness.sync(connection)["counts"]["campaign_touch"]
    assert counts["created"] == 1
    assert counts["read"] <= 2  # the read stopped at the cursor (less the overlap)
    rows = harness.rows(
        select(Contact.external_id, ActivityType.key, Touchpoint.external_id)
        .join(Contact, Contact.id == Touchpoint.contact_id)
        .join(ActivityType, ActivityType.id == Touchpoint.activity_type_id)
        .where(Touchpoint.workspace_id == harness.api.workspace_id)
        .order_by(Touchpoint.occurred_at)
    )
    assert [tuple(row) for row in rows] == [
        ("7", "hubspot_form_submission", "form-submission:00000001-f1a2b3c4"),
        ("8", "hubspot_form_submission", "form-submission:00000003-f1a2b3c4"),
    ]
