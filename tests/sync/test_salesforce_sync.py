"""Salesforce -> database, through the admin API, the worker, the real simple-salesforce and a
local HTTPS server speaking Salesforce's documented shapes. Each case ends with the database
compared to the CRM record by record."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.crypto import decrypt_json
from app.members.emails import normalize_domain
from app.models import (
    Account,
    AccountLink,
    Contact,
    CrmConnection,
    Lead,
    Opportunity,
    OpportunityContact,
    Touchpoint,
)
from connectors.salesforce.records import to_18
from tests.fakes.salesforce import FakeSalesforce, fake_salesforce_server
from tests.sync.conftest import SyncHarness

SOURCE = "salesforce"


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSalesforce]:
    with fake_salesforce_server(monkeypatch) as server:
        yield server


@pytest.fixture
def harness(fake: FakeSalesforce, harness_for: Any) -> SyncHarness:
    built: SyncHarness = harness_for(urlsplit(fake.instance_url).netloc)
    return built


def connect(harness: SyncHarness, fake: FakeSalesforce, **options: Any) -> int:
    credentials = {
        k: v for k, v in asdict(fake.refresh_token_credentials()).items() if v is not None
    }
    response = harness.api.post(
        "/v1/connections",
        json={
            "name": "Production org",
            "credentials": {"kind": "salesforce", **credentials},
            **options,
        },
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def seed(fake: FakeSalesforce) -> dict[str, str]:
    """A small org: two accounts, three contacts, a converted lead, two deals with roles, and
    campaign responses of a contact and a lead."""
    ids: dict[str, str] = {}
    ids["globex"] = fake.put("Account", {"Name": "Globex", "Website": "https://www.globex.com"})[
        "Id"
    ]
    ids["initech"] = fake.put("Account", {"Name": "Initech", "Website": "initech.com"})["Id"]
    ids["alice"] = fake.put(
        "Contact", {"Name": "Alice Nguyen", "Email": "Alice@Globex.com", "AccountId": ids["globex"]}
    )["Id"]
    ids["bob"] = fake.put(
        "Contact", {"Name": "Bob Smith", "Email": "bob@globex.com", "AccountId": ids["globex"]}
    )["Id"]
    ids["dan"] = fake.put(
        "Contact", {"Name": "Dan Ortiz", "Email": "dan@initech.com", "AccountId": ids["initech"]}
    )["Id"]
    ids["lead_dan"] = fake.put(
        "Lead",
        {
            "Name": "Dan Ortiz",
            "Company": "Initrode",
            "Email": "dortiz@initrode.com",
            "IsConverted": True,
            "ConvertedContactId": ids["dan"],
            "ConvertedDate": date(2025, 1, 2),
        },
    )["Id"]
    ids["lead_lena"] = fake.put(
        "Lead", {"Name": "Lena Park", "Company": "Hooli", "Email": "lena@hooli.com"}
    )["Id"]
    ids["deal_won"] = fake.put(
        "Opportunity",
        {
            "Name": "Globex - Platform",
            "AccountId": ids["globex"],
            "Type": "New Business",
            "StageName": "Closed Won",
            "IsClosed": True,
            "IsWon": True,
            "Amount": Decimal("48000.00"),
            "CloseDate": date(2025, 5, 30),
        },
    )["Id"]
    ids["deal_open"] = fake.put(
        "Opportunity",
        {
            "Name": "Initech - Pilot",
            "AccountId": ids["initech"],
            "Type": "Existing Business",
            "StageName": "Negotiation",
            "Amount": Decimal("10000.01"),
            "CloseDate": date(2025, 10, 31),
        },
    )["Id"]
    for name, deal, contact in (
        ("role_alice", "deal_won", "alice"),
        ("role_bob", "deal_won", "bob"),
        ("role_dan", "deal_open", "dan"),
    ):
        ids[name] = fake.put(
            "OpportunityContactRole",
            {"OpportunityId": ids[deal], "ContactId": ids[contact], "Role": "Decision Maker"},
        )["Id"]
    # Contacts to Multiple Accounts: each contact's direct relation, and Dan also at Globex
    for contact, account in (("alice", "globex"), ("bob", "globex"), ("dan", "initech")):
        ids[f"{contact}_at_{account}"] = fake.put(
            "AccountContactRelation",
            {"AccountId": ids[account], "ContactId": ids[contact], "IsDirect": True},
        )["Id"]
    ids["dan_at_globex"] = fake.put(
        "AccountContactRelation",
        {"AccountId": ids["globex"], "ContactId": ids["dan"], "Roles": "Technical Buyer"},
    )["Id"]
    campaign = fake.put("Campaign", {"Name": "Webinar March"})["Id"]
    ids["member_bob"] = fake.put(
        "CampaignMember",
        {
            "CampaignId": campaign,
            "ContactId": ids["bob"],
            "Status": "Attended",
            "HasResponded": True,
            "FirstRespondedDate": date(2025, 3, 3),
        },
    )["Id"]
    ids["member_lena"] = fake.put(
        "CampaignMember",
        {
            "CampaignId": campaign,
            "LeadId": ids["lead_lena"],
            "Status": "Attended",
            "HasResponded": True,
            "FirstRespondedDate": date(2025, 3, 4),
        },
    )["Id"]
    return ids


def _id(value: str | None) -> str | None:
    return None if value is None else to_18(value)


def _cents(amount: Any) -> int | None:
    return None if amount is None else int(Decimal(str(amount)) * 100)


def assert_database_equals_crm(harness: SyncHarness, fake: FakeSalesforce) -> None:
    """Every live record of the CRM is stored, equal field by field, and nothing else is live."""
    workspace = harness.api.workspace_id

    def live(model: Any, *columns: Any) -> dict[str, tuple[Any, ...]]:
        rows = harness.rows(
            select(model.external_id, *columns).where(
                model.workspace_id == workspace, model.source == SOURCE, model.deleted_at.is_(None)
            )
        )
        return {row[0]: tuple(row[1:]) for row in rows}

    account_ids = {v: k for k, v in live(Account, Account.id).items() for v in v}
    contact_ids = {v: k for k, v in live(Contact, Contact.id).items() for v in v}
    opportunity_ids = {v: k for k, v in live(Opportunity, Opportunity.id).items() for v in v}
    lead_ids = {v: k for k, v in live(Lead, Lead.id).items() for v in v}

    assert live(Account, Account.name, Account.domain) == {
        _id(r["Id"]): (r["Name"], normalize_domain(r["Website"])) for r in fake.records("Account")
    }
    got_contacts = {
        key: (account_ids.get(account), name, email)
        for key, (account, name, email) in live(
            Contact, Contact.account_id, Contact.name, Contact.email
        ).items()
    }
    assert got_contacts == {
        _id(r["Id"]): (_id(r["AccountId"]), r["Name"], r["Email"]) for r in fake.records("Contact")
    }
    got_leads = {
        key: (name, company, email, contact_ids.get(converted))
        for key, (name, company, email, converted) in live(
            Lead, Lead.name, Lead.company, Lead.email, Lead.converted_contact_id
        ).items()
    }
    assert got_leads == {
        _id(r["Id"]): (r["Name"], r["Company"], r["Email"], _id(r["ConvertedContactId"]))
        for r in fake.records("Lead")
    }
    got_deals = {
        key: (account_ids.get(account), *rest)
        for key, (account, *rest) in live(
            Opportunity,
            Opportunity.account_id,
            Opportunity.name,
            Opportunity.stage_name,
            Opportunity.is_closed,
            Opportunity.is_won,
            Opportunity.amount,
            Opportunity.close_date,
        ).items()
    }
    assert got_deals == {
        _id(r["Id"]): (
            _id(r["AccountId"]),
            r["Name"],
            r["StageName"],
            r["IsClosed"],
            r["IsWon"],
            _cents(r["Amount"]),
            date.fromisoformat(r["CloseDate"]) if r["CloseDate"] else None,
        )
        for r in fake.records("Opportunity")
    }
    got_roles = {
        key: (opportunity_ids.get(deal), contact_ids.get(contact), role)
        for key, (deal, contact, role) in live(
            OpportunityContact,
            OpportunityContact.opportunity_id,
            OpportunityContact.contact_id,
            OpportunityContact.role,
        ).items()
    }
    assert got_roles == {
        _id(r["Id"]): (_id(r["OpportunityId"]), _id(r["ContactId"]), r["Role"])
        for r in fake.records("OpportunityContactRole")
    }
    got_links = {
        key: (account_ids.get(account), contact_ids.get(contact), direct)
        for key, (account, contact, direct) in live(
            AccountLink, AccountLink.account_id, AccountLink.contact_id, AccountLink.is_primary
        ).items()
    }
    assert got_links == {
        _id(r["Id"]): (_id(r["AccountId"]), _id(r["ContactId"]), r["IsDirect"])
        for r in fake.records("AccountContactRelation")
    }
    touches = harness.rows(
        select(Touchpoint.external_id, Touchpoint.contact_id, Touchpoint.lead_id).where(
            Touchpoint.workspace_id == workspace, Touchpoint.source == SOURCE
        )
    )
    assert {t[0]: (contact_ids.get(t[1]), lead_ids.get(t[2])) for t in touches} == {
        _id(r["Id"]): (_id(r["ContactId"]), None if r["ContactId"] else _id(r["LeadId"]))
        for r in fake.records("CampaignMember")
    }


def test_a_full_sync_stores_every_record(harness: SyncHarness, fake: FakeSalesforce) -> None:
    seed(fake)
    run = harness.sync(connect(harness, fake))
    assert run["status"] == "succeeded", run["error"]
    assert run["counts"]["contact"] == {
        "read": 3,
        "created": 3,
        "updated": 0,
        "deleted": 0,
        "unchanged": 0,
        "skipped": 0,
    }
    assert run["counts"]["campaign_touch"]["created"] == 2
    assert_database_equals_crm(harness, fake)


def test_an_incremental_sync_sees_creates_updates_and_deletes(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    ids = seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.put("Contact", {"Id": ids["alice"], "Email": "alice.nguyen@globex.com"})
    fake.put(
        "Contact", {"Name": "Carol Diaz", "Email": "carol@initech.com", "AccountId": ids["initech"]}
    )
    fake.delete("Contact", ids["bob"])
    # Salesforce deletes a contact's roles and campaign memberships with it
    fake.delete("OpportunityContactRole", ids["role_bob"])
    fake.delete("CampaignMember", ids["member_bob"])
    fake.delete("AccountContactRelation", ids["bob_at_globex"])
    fake.put("Opportunity", {"Id": ids["deal_open"], "StageName": "Closed Lost", "IsClosed": True})
    harness.later()
    run = harness.sync(connection)
    assert run["status"] == "succeeded"
    counts = run["counts"]["contact"]
    assert (counts["created"], counts["updated"], counts["deleted"]) == (1, 1, 1)
    assert_database_equals_crm(harness, fake)


def test_a_first_sync_reads_each_junction_once(harness: SyncHarness, fake: FakeSalesforce) -> None:
    """Nothing was stored before, so the full read is the id comparison: no second read of
    every id. Later runs compare every id (at least hourly)."""
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    id_reads = [r.soql for r in fake.requests_log if (r.soql or "").startswith("SELECT Id FROM")]
    assert id_reads == []
    harness.later(minutes=90)
    harness.sync(connection)
    id_reads = [r.soql for r in fake.requests_log if (r.soql or "").startswith("SELECT Id FROM")]
    assert "SELECT Id FROM OpportunityContactRole" in id_reads


def test_a_full_resync_of_an_unchanged_org_writes_nothing(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    synced = harness.rows(select(Contact.external_id, Contact.synced_at))
    harness.later()
    run = harness.sync(connection, full_resync=True)
    assert run["counts"]["contact"] == {
        "read": 3,
        "created": 0,
        "updated": 0,
        "deleted": 0,
        "unchanged": 3,
        "skipped": 0,
    }
    assert harness.rows(select(Contact.external_id, Contact.synced_at)) == synced


def test_an_undeleted_record_is_restored(harness: SyncHarness, fake: FakeSalesforce) -> None:
    ids = seed(fake)
    connection = connect(harness, fake)
    fake.delete("Account", ids["initech"])
    harness.sync(connection)
    fake.undelete("Account", ids["initech"])
    harness.later()
    run = harness.sync(connection)
    assert run["counts"]["account"]["updated"] == 1
    assert_database_equals_crm(harness, fake)


def test_fifteen_thousand_records_sharing_one_timestamp(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    stamp = fake.clock
    for n in range(15_000):
        fake.put("Contact", {"Name": f"Person {n}", "SystemModstamp": stamp})
    run = harness.sync(
        connect(harness, fake),
    )
    assert run["counts"]["contact"]["created"] == 15_000
    assert_database_equals_crm(harness, fake)


def test_a_storm_of_429s_is_waited_out_as_retry_after_says(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.rate_limit_next(3, retry_after=7)
    run = harness.sync(connection)
    assert run["status"] == "succeeded"
    assert harness.sleeps[:3] == [7, 7, 7]
    assert_database_equals_crm(harness, fake)


def test_a_burst_of_5xx_is_retried(harness: SyncHarness, fake: FakeSalesforce) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.fail_next(2, 503)
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_request_limit_exceeded_is_retried(harness: SyncHarness, fake: FakeSalesforce) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.request_limit_exceeded_next(1)
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_a_token_expiring_mid_pagination_is_refreshed(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    fake.page_size = 2
    seed(fake)
    connection = connect(harness, fake)
    fake.expire_tokens()
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_a_truncated_body_is_retried_not_read_as_the_end(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.truncate_next(1, path="/query")
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_retries_exhausted_fail_the_run_and_the_next_run_resumes(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    seed(fake)
    connection = connect(harness, fake)
    fake.fail_next(5, 503)  # as many as the worker's 5 attempts
    failed = harness.sync(connection)
    assert failed["status"] == "failed"
    assert failed["error"]["type"] == "RetriableError"
    harness.later()
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_the_run_stops_resumably_past_the_api_budget(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    seed(fake)
    connection = connect(harness, fake, api_budget_share=0.5)
    fake.set_api_usage(90_000, 100_000)
    stopped = harness.sync(connection)
    assert stopped["status"] == "partial"
    assert stopped["error"]["type"] == "api_budget"
    fake.set_api_usage(1_000, 100_000)
    harness.later()
    assert harness.sync(connection)["status"] == "succeeded"
    assert_database_equals_crm(harness, fake)


def test_a_role_removed_without_touching_its_deal_is_reconciled(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    ids = seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.hard_delete("OpportunityContactRole", ids["role_bob"])
    harness.later()
    run = harness.sync(connection, full_resync=False)
    assert run["counts"]["opportunity_contact"]["deleted"] == 1
    assert_database_equals_crm(harness, fake)


def test_a_merge_moves_roles_to_the_surviving_contact(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    ids = seed(fake)
    connection = connect(harness, fake)
    harness.sync(connection)
    fake.merge("Contact", ids["bob"], ids["alice"])
    harness.later()
    harness.sync(connection)
    roles = harness.scalars(
        select(Contact.external_id)
        .join(OpportunityContact, OpportunityContact.contact_id == Contact.id)
        .where(
            OpportunityContact.workspace_id == harness.api.workspace_id,
            OpportunityContact.external_id == to_18(ids["role_bob"]),
        )
    )
    assert roles == [to_18(ids["alice"])]


def test_a_process_killed_between_pages_resumes_without_loss_or_duplicates(
    harness: SyncHarness, fake: FakeSalesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.page_size = 2
    for n in range(9):
        fake.put("Account", {"Name": f"Account {n}"})
    connection = connect(harness, fake)
    stored = harness.sync_killed_after(connection, 2, monkeypatch)
    assert len(stored) == 4  # two pages committed before the kill
    harness.later(minutes=120)  # the dead worker's lease has run out
    resumed = harness.resume_dead_run(connection)
    assert (resumed["status"], resumed["attempts"]) == ("succeeded", 2)
    assert resumed["counts"]["account"]["created"] == 9  # 4 before the kill, 5 after
    assert_database_equals_crm(harness, fake)


def test_members_are_resolved_again_for_synced_contacts(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    harness.api.post(
        "/v1/members:batch",
        json={"members": [{"external_id": "m-alice", "emails": ["alice@globex.com"]}]},
    )
    assert harness.api.get("/v1/members/m-alice").json()["links"] == []
    ids = seed(fake)
    harness.sync(connect(harness, fake))
    member = harness.api.get("/v1/members/m-alice").json()
    assert [(link["target"], link["external_id"], link["method"]) for link in member["links"]] == [
        ("contact", to_18(ids["alice"]), "email")
    ]
    assert (member["account"], member["account_method"]) == (to_18(ids["globex"]), "contact")


def test_records_stamped_by_an_org_clock_ahead_of_ours_are_read_in_the_same_run(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    ours = harness.clock.now
    fake.server_time = ours + timedelta(seconds=60)
    fake.clock = ours + timedelta(seconds=30)  # the org stamps rows "in our future"
    ids = seed(fake)
    run = harness.sync(connect(harness, fake))
    assert run["status"] == "succeeded", run["error"]
    assert run["counts"]["account"]["created"] == 2
    assert_database_equals_crm(harness, fake)
    assert ids["globex"] in harness.scalars(select(Account.external_id))


def test_an_org_clock_behind_ours_loses_no_row_still_committing(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    """A row stamped just before the org's "now" whose transaction has not committed yet must
    not be skipped by a cursor that moved past it, even with no overlap."""
    org_now = harness.clock.now - timedelta(minutes=10)
    fake.server_time = org_now
    fake.clock = org_now - timedelta(seconds=2)
    slow = fake.put("Account", {"Name": "Slow Ltd"}, committed=False)["Id"]
    fake.put("Account", {"Name": "Quick Inc"})
    connection = connect(harness, fake, overlap_seconds=0)
    assert harness.sync(connection)["status"] == "succeeded"
    fake.commit(slow)
    harness.later(minutes=60)
    fake.server_time = org_now + timedelta(minutes=60)
    assert harness.sync(connection)["status"] == "succeeded"
    stored = harness.scalars(
        select(Account.name).where(Account.workspace_id == harness.api.workspace_id)
    )
    assert sorted(stored) == ["Quick Inc", "Slow Ltd"]


def test_a_contact_related_to_several_accounts_keeps_every_relation(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    ids = seed(fake)
    connection = connect(harness, fake)
    run = harness.sync(connection)
    assert run["counts"]["account_link"]["created"] == 4
    assert_database_equals_crm(harness, fake)
    fake.hard_delete("AccountContactRelation", ids["dan_at_globex"])
    harness.later(minutes=90)
    assert harness.sync(connection)["counts"]["account_link"]["deleted"] == 1
    assert_database_equals_crm(harness, fake)


def test_a_rotated_refresh_token_is_stored_at_once_and_used_after_a_restart(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    seed(fake)
    fake.rotate_refresh_tokens = True
    connection = connect(harness, fake)
    assert harness.sync(connection)["status"] == "succeeded"
    with harness.factory() as session:
        stored = session.get_one(CrmConnection, connection).credentials_encrypted
    assert decrypt_json(harness.settings, stored)["refresh_token"] == fake.refresh_token
    fake.expire_tokens()
    harness.later()
    assert harness.sync(connection)["status"] == "succeeded"  # a new worker, the stored token
