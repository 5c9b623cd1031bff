"""Run the fake CRMs on fixed local ports with a small, believable, seeded dataset, so a person can
connect the service to them by hand as a CRM admin would.

    python -m tests.fakes.serve [--salesforce-port 8443] [--hubspot-port 8444] [--seed 7]
                                [--ca-file var/fake-crm-ca.pem]

Starts FakeSalesforce (HTTPS, a throwaway CA written to ``--ca-file``) and FakeHubSpot (plain HTTP)
on 127.0.0.1, prints the base URLs, the bodies to POST to /v1/connections and the environment the
service must be started with, and serves until Ctrl-C.

The generators (``seed_salesforce``, ``seed_hubspot``) take a ``Sizes`` and are deterministic for a
seed: same seed, same records, ids and timestamps. ``benchmarks/sync.py`` uses them at full size.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

from tests.fakes.hubspot import FakeHubSpot, iso, to_ms
from tests.fakes.salesforce import (
    CLIENT_ID,
    CLIENT_SECRET,
    REFRESH_TOKEN,
    FakeSalesforce,
)

# The data describe the year before this moment; fixed, so a seed always gives the same records.
ANCHOR = datetime(2025, 10, 1, tzinfo=UTC)
YEAR = timedelta(days=365)

FIRST_NAMES = (
    "Alice", "Bruno", "Chen", "Dana", "Elif", "Farah", "Goran", "Hana", "Ines", "Jamal", "Kenji",
    "Lena", "Marta", "Nia", "Omar", "Priya", "Quinn", "Rafael", "Sofia", "Tomas", "Uma", "Viktor",
    "Wen", "Ximena", "Yusuf", "Zoe", "Aaron", "Beatriz", "Carlos", "Deepa", "Emil", "Fatima",
)  # fmt: skip
LAST_NAMES = (
    "Nguyen", "Smith", "Okafor", "Müller", "Rossi", "Kowalski", "Tanaka", "Haddad", "Silva",
    "Johansson", "Kim", "Novak", "Garcia", "Dubois", "Patel", "O'Brien", "Ivanova", "Lopez",
    "Schmidt", "Chen", "Yilmaz", "Andersen", "Costa", "Murphy", "Sato", "Weber", "Reyes", "Khan",
)  # fmt: skip
COMPANY_STEMS = (
    "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne",
    "Soylent", "Wonka", "Acme", "Massive", "Aperture", "Oscorp", "Pied Piper", "Nakatomi",
    "Gringotts", "Monarch", "Dunder", "Prestige", "Virtucon", "Zorg", "Bluth", "Sterling",
    "Gekko", "Duff", "Krusty", "Ollivander", "Abstergo", "Black Mesa", "Rekall",
)  # fmt: skip
COMPANY_KINDS = (
    "Systems", "Labs", "Analytics", "Logistics", "Health", "Energy", "Media", "Robotics",
    "Software", "Foods", "Bank", "Cloud",
)  # fmt: skip
INDUSTRIES = ("Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Media")
TITLES = (
    "Head of Data", "VP Engineering", "Developer Advocate", "Staff Engineer", "CTO",
    "Product Manager", "Data Engineer", "Community Manager", "Solutions Architect", "CFO",
)  # fmt: skip
PRODUCTS = ("Platform", "Enterprise", "Pilot", "Expansion", "Renewal", "Team plan", "Add-on")
ROLES = ("Decision Maker", "Economic Buyer", "Technical Buyer", "Evaluator", "Influencer")
HUBSPOT_LABELS = ("Decision maker", "Champion", "Budget holder", None)
CAMPAIGNS = (
    ("Community Summit 2025", "Event"),
    ("Webinar: Scaling data pipelines", "Webinar"),
    ("Open-source meetup Berlin", "Event"),
    ("Newsletter: Q2 product update", "Email"),
    ("Forum AMA with the founders", "Webinar"),
)

# (StageName, IsClosed, IsWon, weight) of Salesforce's default sales process.
SALESFORCE_STAGES = (
    ("Prospecting", False, False, 3),
    ("Qualification", False, False, 3),
    ("Needs Analysis", False, False, 2),
    ("Proposal/Price Quote", False, False, 2),
    ("Negotiation/Review", False, False, 2),
    ("Closed Won", True, True, 5),
    ("Closed Lost", True, False, 3),
)
SALESFORCE_TYPES = ("New Business", "Existing Business", "Renewal")
HUBSPOT_PIPELINES: dict[str, tuple[str, list[tuple[str, str, bool, float]]]] = {
    "default": (
        "Sales Pipeline",
        [
            ("appointmentscheduled", "Appointment Scheduled", False, 0.2),
            ("qualifiedtobuy", "Qualified To Buy", False, 0.4),
            ("presentationscheduled", "Presentation Scheduled", False, 0.6),
            ("contractsent", "Contract Sent", False, 0.9),
            ("closedwon", "Closed Won", True, 1.0),
            ("closedlost", "Closed Lost", True, 0.0),
        ],
    ),
    "renewals": (
        "Renewals",
        [
            ("renewal_due", "Renewal Due", False, 0.5),
            ("renewal_signed", "Renewed", True, 1.0),
            ("renewal_churned", "Churned", True, 0.0),
        ],
    ),
}
HUBSPOT_DEAL_TYPES = ("newbusiness", "existingbusiness")

# HubSpot ids are large numbers; each object type gets its own range.
HUBSPOT_COMPANY_BASE = 18_000_000_000
HUBSPOT_CONTACT_BASE = 51_000
HUBSPOT_DEAL_BASE = 9_000_000_000


@dataclass(frozen=True)
class Sizes:
    """How many records of each kind. ``accounts`` serve as HubSpot companies too; leads and
    campaign members are Salesforce only; roles are 1 to ``max_roles`` per opportunity."""

    accounts: int = 36
    contacts: int = 360
    leads: int = 60
    opportunities: int = 50
    campaign_members: int = 150
    max_roles: int = 3


SMALL = Sizes()


@dataclass
class Seeded:
    """Ids of the records a seeding created, by kind (Salesforce object or HubSpot type)."""

    ids: dict[str, list[str]] = field(default_factory=dict)

    def add(self, kind: str, record_id: str) -> str:
        self.ids.setdefault(kind, []).append(record_id)
        return record_id


def _company_name(rng: random.Random, n: int) -> tuple[str, str]:
    stem = COMPANY_STEMS[n % len(COMPANY_STEMS)]
    kind = COMPANY_KINDS[(n // len(COMPANY_STEMS)) % len(COMPANY_KINDS)]
    round_ = n // (len(COMPANY_STEMS) * len(COMPANY_KINDS))
    name = f"{stem} {kind}" + (f" {round_ + 1}" if round_ else "")
    domain = f"{name.lower().replace(' ', '')}.example.com"
    return name, domain


def _person(rng: random.Random, n: int, domain: str) -> tuple[str, str, str]:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
    return first, last, f"{local}{n}@{domain}"


def _moment(rng: random.Random, back: timedelta = YEAR) -> datetime:
    """A moment in the ``back`` before ANCHOR, to the millisecond."""
    millis = rng.randrange(int(back.total_seconds() * 1000))
    return ANCHOR - timedelta(milliseconds=millis)


def _amount(rng: random.Random) -> Decimal:
    return Decimal(rng.randrange(20, 2_000)) * 250


def _people_by_account(contact_accounts: list[int], accounts: int) -> list[list[int]]:
    people: list[list[int]] = [[] for _ in range(accounts)]
    for contact, account in enumerate(contact_accounts):
        people[account].append(contact)
    return people


def _roles(rng: random.Random, people: list[int], most: int) -> list[int]:
    if not people:
        return []
    return rng.sample(people, min(len(people), rng.randint(1, most)))


# -- Salesforce ------------------------------------------------------------------------------


def seed_salesforce(fake: FakeSalesforce, *, seed: int = 7, sizes: Sizes = SMALL) -> Seeded:
    """Accounts, contacts, leads (some converted), opportunities with contact roles, campaigns
    and campaign members. SystemModstamps start at ANCHOR (the fake's clock), one second apart."""
    rng = random.Random(seed)
    fake.clock = ANCHOR
    seeded = Seeded()
    domains = []
    for n in range(sizes.accounts):
        name, domain = _company_name(rng, n)
        domains.append(domain)
        row: dict[str, Any] = {
            "Name": name,
            "Website": f"https://www.{domain}",
            "NumberOfEmployees": rng.choice((12, 45, 180, 900, 4_500, 22_000)),
            "AnnualRevenue": Decimal(rng.randrange(1, 500)) * 1_000_000,
            "Industry": rng.choice(INDUSTRIES),
            "CreatedDate": _moment(rng, 3 * YEAR),
        }
        seeded.add("Account", fake.put("Account", row)["Id"])
    accounts = seeded.ids.get("Account", [])
    contact_accounts = []
    for n in range(sizes.contacts):
        account = rng.randrange(len(accounts)) if accounts else -1
        first, last, email = _person(rng, n, domains[account] if accounts else "example.com")
        contact_accounts.append(account)
        row = {
            "AccountId": accounts[account] if accounts else None,
            "Name": f"{first} {last}",
            "Email": email,
            "Title": rng.choice(TITLES),
            "CreatedDate": _moment(rng, 2 * YEAR),
        }
        seeded.add("Contact", fake.put("Contact", row)["Id"])
    contacts = seeded.ids.get("Contact", [])
    for n in range(sizes.leads):
        first, last, email = _person(rng, n, f"lead{n % 17}.example.org")
        converted = bool(contacts) and rng.random() < 0.25
        created = _moment(rng)
        row = {
            "Name": f"{first} {last}",
            "Company": _company_name(rng, 1_000 + n)[0],
            "Email": email,
            "LeadSource": rng.choice(("Community", "Web", "Event", "Partner")),
            "CreatedDate": created,
        }
        if converted:
            row |= {
                "IsConverted": True,
                "ConvertedContactId": rng.choice(contacts),
                "ConvertedDate": (created + timedelta(days=rng.randint(1, 60))).date(),
            }
        seeded.add("Lead", fake.put("Lead", row)["Id"])
    people = _people_by_account(contact_accounts, len(accounts))
    weights = [stage[3] for stage in SALESFORCE_STAGES]
    for _ in range(sizes.opportunities):
        if not accounts:
            break
        account = rng.randrange(len(accounts))
        stage, closed, won, _ = rng.choices(SALESFORCE_STAGES, weights)[0]
        created = _moment(rng)
        close = created + timedelta(days=rng.randint(14, 150))
        row = {
            "Name": f"{_company_name(rng, account)[0]} - {rng.choice(PRODUCTS)}",
            "AccountId": accounts[account],
            "Type": rng.choice(SALESFORCE_TYPES),
            "StageName": stage,
            "IsClosed": closed,
            "IsWon": won,
            "Amount": _amount(rng),
            "CloseDate": close.date(),
            "LeadSource": rng.choice(("Community", "Web", "Event", "Outbound")),
            "CreatedDate": created,
        }
        opportunity = seeded.add("Opportunity", fake.put("Opportunity", row)["Id"])
        for position, contact in enumerate(_roles(rng, people[account], sizes.max_roles)):
            role = {
                "OpportunityId": opportunity,
                "ContactId": contacts[contact],
                "Role": rng.choice(ROLES),
                "IsPrimary": position == 0,
            }
            seeded.add("OpportunityContactRole", fake.put("OpportunityContactRole", role)["Id"])
    if sizes.campaign_members:
        campaigns = [
            seeded.add("Campaign", fake.put("Campaign", {"Name": name, "Type": kind})["Id"])
            for name, kind in CAMPAIGNS
        ]
        leads = seeded.ids.get("Lead", [])
        for _ in range(sizes.campaign_members):
            responded = _moment(rng).date()
            row = {
                "CampaignId": rng.choice(campaigns),
                "Status": rng.choice(("Responded", "Attended", "Registered")),
                "HasResponded": True,
                "FirstRespondedDate": responded,
            }
            if leads and rng.random() < 0.2:
                row["LeadId"] = rng.choice(leads)
            elif contacts:
                row["ContactId"] = rng.choice(contacts)
            else:
                continue
            seeded.add("CampaignMember", fake.put("CampaignMember", row)["Id"])
    return seeded


# -- HubSpot ---------------------------------------------------------------------------------


def seed_hubspot(fake: FakeHubSpot, *, seed: int = 7, sizes: Sizes = SMALL) -> Seeded:
    """Two deal pipelines, companies, contacts (``associatedcompanyid``) and deals associated
    with their company (Primary) and 1 to ``max_roles`` of its contacts, some labelled.
    Modification times lie in the year before ANCHOR; some records share a millisecond."""
    rng = random.Random(seed)
    fake.set_pipelines(HUBSPOT_PIPELINES)
    seeded = Seeded()
    stamp = _Stamps(rng)
    companies = []
    for n in range(sizes.accounts):
        name, domain = _company_name(rng, n)
        company = seeded.add("companies", str(HUBSPOT_COMPANY_BASE + n))
        companies.append(company)
        fake.put(
            "companies",
            company,
            {
                "name": name,
                "domain": domain,
                "numberofemployees": str(rng.choice((12, 45, 180, 900, 4_500, 22_000))),
                "annualrevenue": str(rng.randrange(1, 500) * 1_000_000),
                "createdate": iso(to_ms(_moment(rng, 3 * YEAR))),
            },
            modified_at=stamp.next(),
        )
    contact_accounts = []
    for n in range(sizes.contacts):
        account = rng.randrange(len(companies)) if companies else -1
        domain = _company_name(rng, account)[1] if companies else "example.com"
        first, last, email = _person(rng, n, domain)
        contact_accounts.append(account)
        contact = seeded.add("contacts", str(HUBSPOT_CONTACT_BASE + n))
        properties = {
            "firstname": first,
            "lastname": last,
            "email": email,
            "associatedcompanyid": companies[account] if companies else None,
            "createdate": iso(to_ms(_moment(rng, 2 * YEAR))),
        }
        fake.put("contacts", contact, properties, modified_at=stamp.next())
    contacts = seeded.ids.get("contacts", [])
    people = _people_by_account(contact_accounts, len(companies))
    for n in range(sizes.opportunities):
        if not companies:
            break
        account = rng.randrange(len(companies))
        pipeline = "renewals" if rng.random() < 0.2 else "default"
        stages = HUBSPOT_PIPELINES[pipeline][1]
        stage = rng.choice(stages)
        created = _moment(rng)
        deal = seeded.add("deals", str(HUBSPOT_DEAL_BASE + n))
        properties = {
            "dealname": f"{_company_name(rng, account)[0]} - {rng.choice(PRODUCTS)}",
            "amount": str(_amount(rng)),
            "dealstage": stage[0],
            "pipeline": pipeline,
            "createdate": iso(to_ms(created)),
            "closedate": iso(to_ms(created + timedelta(days=rng.randint(14, 150)))),
            "dealtype": "existingbusiness" if pipeline == "renewals" else "newbusiness",
        }
        fake.put("deals", deal, properties, modified_at=stamp.next())
        fake.associate("deals", deal, "companies", companies[account], label="Primary")
        for person in _roles(rng, people[account], sizes.max_roles):
            label = rng.choice(HUBSPOT_LABELS)
            fake.associate("deals", deal, "contacts", contacts[person], label=label)
            seeded.add("deal_contacts", f"{deal}:{contacts[person]}")
    return seeded


class _Stamps:
    """Increasing modification times from a year before ANCHOR: a few milliseconds to a few
    seconds apart, now and then equal (HubSpot imports write many records in one millisecond)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._now = ANCHOR - YEAR

    def next(self) -> datetime:
        if self._rng.random() >= 0.05:
            self._now += timedelta(milliseconds=self._rng.randint(1, 3_000))
        return self._now


# -- what a CRM admin needs ------------------------------------------------------------------


def salesforce_connection(fake: FakeSalesforce) -> dict[str, Any]:
    """The body of POST /v1/connections for the fake org (refresh-token auth)."""
    return {
        "name": "Salesforce (fake org)",
        "credentials": {
            "kind": "salesforce",
            "auth": "refresh_token",
            "instance_url": fake.instance_url,
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
        },
    }


def hubspot_connection(fake: FakeHubSpot) -> dict[str, Any]:
    """The body of POST /v1/connections for the fake portal (private app token)."""
    return {
        "name": "HubSpot (fake portal)",
        "credentials": {
            "kind": "hubspot",
            "access_token": fake.private_token,
            "base_url": fake.base_url,
        },
    }


def service_environment(
    salesforce: FakeSalesforce, hubspot: FakeHubSpot, ca_file: Path
) -> dict[str, str]:
    """What the service (serve and worker) must be started with to accept and trust the fakes."""
    hosts = [_netloc(salesforce.instance_url), _netloc(hubspot.base_url)]
    return {
        "COMMATTR_CRM_TEST_HOSTS": json.dumps(hosts),
        "REQUESTS_CA_BUNDLE": str(ca_file.resolve()),
    }


def _netloc(url: str) -> str:
    return url.split("://", 1)[1].rstrip("/")


def instructions(
    salesforce: FakeSalesforce, hubspot: FakeHubSpot, ca_file: Path, counts: dict[str, int]
) -> str:
    environment = service_environment(salesforce, hubspot, ca_file)
    exports = "\n".join(f"  export {name}='{value}'" for name, value in environment.items())
    summary = ", ".join(f"{count} {kind}" for kind, count in counts.items())
    return f"""Fake CRMs running on 127.0.0.1 (Ctrl-C stops them).

Salesforce: {salesforce.instance_url}   (HTTPS; CA certificate: {ca_file})
HubSpot:    {hubspot.base_url}
Seeded: {summary}

1. Start the service (commattr migrate, serve and worker) with this environment (the CA bundle
   replaces the system's CAs for those processes: for a local try only):
{exports}

2. Create a workspace (.venv/bin/commattr create-workspace Acme prints its API key), then each
   connection: POST /v1/connections with one of these bodies, e.g.
   curl -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \\
        -X POST http://127.0.0.1:8000/v1/connections -d '<body>'

Salesforce:
{json.dumps(salesforce_connection(salesforce), indent=2)}

HubSpot:
{json.dumps(hubspot_connection(hubspot), indent=2)}
"""


def dataset_counts(salesforce: FakeSalesforce, hubspot: FakeHubSpot) -> dict[str, int]:
    return {
        "Salesforce accounts": len(salesforce.records("Account")),
        "contacts": len(salesforce.records("Contact")),
        "leads": len(salesforce.records("Lead")),
        "opportunities": len(salesforce.records("Opportunity")),
        "contact roles": len(salesforce.records("OpportunityContactRole")),
        "campaign members": len(salesforce.records("CampaignMember")),
        "HubSpot companies": len(hubspot.records("companies")),
        "HubSpot contacts": len(hubspot.records("contacts")),
        "deals": len(hubspot.records("deals")),
        "deal-contact associations": len(hubspot.associations("deals", "contacts")),
    }


@contextmanager
def running(
    *, salesforce_port: int, hubspot_port: int, seed: int, ca_file: Path
) -> Iterator[tuple[FakeSalesforce, FakeHubSpot]]:
    """Both fakes started and seeded, the Salesforce CA copied to ``ca_file``."""
    with ExitStack() as stack:
        salesforce = stack.enter_context(FakeSalesforce(port=salesforce_port))
        hubspot = stack.enter_context(FakeHubSpot(port=hubspot_port))
        seed_salesforce(salesforce, seed=seed)
        seed_hubspot(hubspot, seed=seed)
        ca_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(salesforce.ca_path, ca_file)
        yield salesforce, hubspot


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--salesforce-port", type=int, default=8443)
    parser.add_argument("--hubspot-port", type=int, default=8444)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ca-file", type=Path, default=Path("var/fake-crm-ca.pem"))
    options = parser.parse_args(argv)
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with running(
        salesforce_port=options.salesforce_port,
        hubspot_port=options.hubspot_port,
        seed=options.seed,
        ca_file=options.ca_file,
    ) as (salesforce, hubspot):
        print(
            instructions(salesforce, hubspot, options.ca_file, dataset_counts(salesforce, hubspot))
        )
        sys.stdout.flush()
        stop.wait()
    print("fake CRMs stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
