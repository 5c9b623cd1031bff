"""The demo company: a seeded, believable B2B software vendor ("Lumen Cloud") over 18 months.

`load_demo` generates the company's CRM, community and marketing data from a seed, loads it through
the same service functions the API calls (workspace, catalog, CRM import, members, touchpoints) and
runs attribution on it, so that `make run` opens on numbers worth looking at.

Generation is pure and deterministic: one ``random.Random(seed)`` drawn in a fixed order, no set
iteration, every instant derived from ``now``. The story it tells:

- Accounts appear over the period (about a third were customers before it started). Prospects get a
  new-business deal some weeks after they appear; won accounts become customers with a yearly
  renewal, occasional expansions and small "other" deals (services, training); a lost renewal churns.
- Community members are mostly the accounts' contacts (more of them where an account's community
  affinity is high), plus leads, people on an account's domain the CRM does not know, strangers on
  free-mail domains, and the vendor's own staff. Members often join the community before their CRM
  record exists, which is what makes community-sourced pipeline.
- A deal whose people were active in the community shortly before or during it wins somewhat more
  often, so influenced deals convert better than the rest, as the product is meant to show.
- Marketing (campaign members in the CRM import) is at least as large as community, so community
  competes with real marketing for credit.
"""

from __future__ import annotations

import bisect
import itertools
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.catalog.schemas import ActivityTypeIn, ProgramIn
from app.catalog.service import put_activity_type, put_program
from app.clock import system_clock
from app.config import Settings
from app.crm.schemas import (
    AccountIn,
    CampaignMemberIn,
    ContactIn,
    ContactRoleIn,
    CrmImport,
    ExchangeRateIn,
    LeadIn,
    OpportunityIn,
    OpportunityType,
)
from app.crm.service import import_records, record_count
from app.db import transaction
from app.members.schemas import MemberIn
from app.members.service import upsert_members
from app.models import Category, Workspace
from app.runs.schemas import RunCreate
from app.runs.service import run_attribution
from app.touchpoints.schemas import TouchpointIn
from app.touchpoints.service import ingest
from app.workspaces.schemas import WorkspaceSettingsUpdate
from app.workspaces.service import create_workspace, get_workspace
from attribution import MODEL_NAMES

WORKSPACE_NAME = "Demo: Lumen Cloud"
STAFF_DOMAIN = "lumencloud.com"
TIME_ZONE = "America/New_York"
FISCAL_YEAR_START_MONTH = 2
DEMO_MODELS = ("linear", "first_touch", "last_touch", "time_decay", "position_based")
PERIOD_DAYS = 548  # 18 months
CRM_SOURCE = "import"
MEMBER_BATCH = 10_000  # the members:batch endpoint's limit

# (phase, done, total): how far the load has come, for a progress bar or periodic lines
Progress = Callable[[str, int, int], None]
LOAD_PHASE = "demo records loaded"
RUNS_PHASE = "demo attribution runs"


def _no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


_DAY = timedelta(days=1)
_YEAR = timedelta(days=365)

# ---------------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------------

_COMPANY_WORDS = (
    "Northwind", "Bluefin", "Cobalt", "Granite", "Harbor", "Ironwood", "Juniper", "Keystone",
    "Lakeshore", "Meridian", "Nimbus", "Oakridge", "Pinnacle", "Quarry", "Redwood", "Silverline",
    "Tidewater", "Vantage", "Westfield", "Zephyr", "Acorn", "Beacon", "Cascade", "Driftwood",
    "Evergreen", "Foxglove", "Glacier", "Highland", "Indigo", "Jasper", "Kestrel", "Lighthouse",
    "Maple", "Northstar", "Orchard", "Prairie", "Quill", "Riverbend", "Sierra", "Timberline",
    "Upland", "Willow", "Aurora", "Basalt", "Canyon", "Delta", "Ember", "Falcon", "Golden Gate",
    "Helix", "Ion", "Larkspur", "Mosaic", "Obsidian", "Polaris", "Sequoia", "Sterling", "Tandem",
    "Vertex", "Wildflower",
)  # fmt: skip
_COMPANY_KINDS = {
    "Analytics": "Software", "Logistics": "Transportation", "Health": "Healthcare",
    "Robotics": "Manufacturing", "Software": "Software", "Systems": "Software", "Labs": "Software",
    "Bank": "Financial services", "Insurance": "Financial services", "Energy": "Energy",
    "Foods": "Consumer goods", "Media": "Media", "Networks": "Telecommunications",
    "Biotech": "Life sciences", "Capital": "Financial services", "Retail": "Retail",
    "Manufacturing": "Manufacturing", "Security": "Software", "Data": "Software",
    "Payments": "Financial services", "Learning": "Education", "Mobility": "Transportation",
    "Games": "Media", "Travel": "Hospitality", "Pharma": "Life sciences", "Studios": "Media",
    "Motors": "Manufacturing", "Supply": "Retail", "Materials": "Manufacturing",
    "Genomics": "Life sciences", "Realty": "Real estate", "Telecom": "Telecommunications",
}  # fmt: skip
_COMPANY_SUFFIXES = ("", " Group", " Holdings", " International")
_FIRST_NAMES = (
    "James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David",
    "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica", "Thomas", "Sarah",
    "Carlos", "Karen", "Daniel", "Lisa", "Matthew", "Nancy", "Anthony", "Sandra", "Mark", "Ashley",
    "Priya", "Emily", "Wei", "Michelle", "Ahmed", "Amanda", "Kenji", "Melissa", "Lukas", "Deborah",
    "Olga", "Stephanie", "Mateo", "Rebecca", "Noah", "Laura", "Ethan", "Sharon", "Aisha", "Cynthia",
    "Ravi", "Kathleen", "Diego", "Amy", "Sven", "Angela", "Tomás", "Hannah", "Yusuf", "Nina",
    "Ingrid", "Fatima", "Oliver", "Chloe", "Marco", "Sofia", "Jonas", "Leila", "Arjun", "Grace",
)  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark",
    "Ramirez", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres",
    "Nguyen", "Hill", "Flores", "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell",
    "Mitchell", "Carter", "Roberts", "Patel", "Kim", "Chen", "Müller", "Schmidt", "Rossi", "Dubois",
    "Kowalski", "Novak", "Tanaka", "Suzuki", "Singh", "Khan", "O'Brien", "Murphy", "Kelly", "Silva",
    "Costa", "Larsen", "Johansson", "Becker", "Fischer", "Weber", "Moreau", "Laurent", "Ivanova",
)  # fmt: skip
_PERSONAL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "proton.me", "icloud.com")
_ROLES = (
    "Decision Maker",
    "Economic Buyer",
    "Technical Evaluator",
    "Champion",
    "Influencer",
    "End User",
)
_OPEN_STAGES = ("Prospecting", "Discovery", "Proposal", "Negotiation")

# (region, currency, share of accounts, top-level domains)
_REGIONS = (
    ("North America", "USD", 0.93, ("com", "com", "com", "io")),
    ("Europe", "EUR", 0.045, ("de", "eu", "fr")),
    ("United Kingdom", "GBP", 0.025, ("co.uk",)),
)


@dataclass(frozen=True)
class _ActivityDef:
    key: str
    name: str
    category: Category
    source: str
    weight: str = "1"
    cost: str | None = None


_ACTIVITY_TYPES = (
    _ActivityDef("forum_question", "Asked a question in the forum", Category.SUPPORT, "discourse"),
    _ActivityDef("forum_answer", "Answered in the forum", Category.SUPPORT, "discourse", "1.5"),
    _ActivityDef(
        "feature_request", "Submitted a feature request", Category.PRODUCT, "productboard"
    ),
    _ActivityDef("github_issue", "Opened a GitHub issue", Category.PRODUCT, "github"),
    _ActivityDef("beta_feedback", "Gave beta feedback", Category.PRODUCT, "productboard", "2"),
    _ActivityDef("referral", "Referred a peer", Category.ACQUISITION, "advocacy", "3", "50.00"),
    _ActivityDef("review_published", "Published a review", Category.ACQUISITION, "advocacy", "2"),
    _ActivityDef("advocacy_share", "Shared Lumen content", Category.ACQUISITION, "advocacy", "0.5"),
    _ActivityDef("blog_post", "Wrote a community blog post", Category.CONTRIBUTION, "forum", "2"),
    _ActivityDef("github_pr", "Merged a pull request", Category.CONTRIBUTION, "github", "2"),
    _ActivityDef(
        "integration_published", "Published an integration", Category.CONTRIBUTION, "github", "3"
    ),
    _ActivityDef("talk_given", "Gave a community talk", Category.CONTRIBUTION, "events", "3"),
    _ActivityDef(
        "slack_message", "Posted in the community Slack", Category.ENGAGEMENT, "slack", "0.5"
    ),
    _ActivityDef(
        "meetup_attended",
        "Attended a user-group meetup",
        Category.ENGAGEMENT,
        "events",
        "1",
        "25.00",
    ),
    _ActivityDef("summit_attended", "Attended Lumen Summit", Category.ENGAGEMENT, "events", "2"),
    _ActivityDef("office_hours", "Joined community office hours", Category.ENGAGEMENT, "events"),
    _ActivityDef("course_completed", "Completed an Academy course", Category.SUCCESS, "academy"),
    _ActivityDef(
        "certification_earned", "Earned a Lumen certification", Category.SUCCESS, "academy", "2"
    ),
    _ActivityDef("webinar_attended", "Attended a webinar", Category.MARKETING, "crm"),
    _ActivityDef("content_download", "Downloaded gated content", Category.MARKETING, "crm"),
    _ActivityDef("trade_show_visit", "Visited a trade-show booth", Category.MARKETING, "crm"),
    _ActivityDef("email_click", "Clicked a marketing email", Category.MARKETING, "crm", "0.5"),
    _ActivityDef("paid_social_click", "Clicked a paid social ad", Category.MARKETING, "crm", "0.5"),
    _ActivityDef("content_syndication", "Syndicated content lead", Category.MARKETING, "crm"),
    _ActivityDef("demo_request", "Requested a demo", Category.MARKETING, "crm", "3"),
)
_SOURCE_OF = {a.key: a.source for a in _ACTIVITY_TYPES}

# Activity types of each community category, with their relative frequency.
_TYPES_BY_CATEGORY: dict[Category, tuple[tuple[str, float], ...]] = {
    Category.SUPPORT: (("forum_question", 0.55), ("forum_answer", 0.45)),
    Category.PRODUCT: (("feature_request", 0.4), ("github_issue", 0.4), ("beta_feedback", 0.2)),
    Category.ACQUISITION: (("referral", 0.3), ("review_published", 0.3), ("advocacy_share", 0.4)),
    Category.CONTRIBUTION: (
        ("blog_post", 0.3), ("github_pr", 0.4), ("integration_published", 0.15), ("talk_given", 0.15),
    ),
    Category.ENGAGEMENT: (
        ("slack_message", 0.45), ("meetup_attended", 0.25), ("summit_attended", 0.1),
        ("office_hours", 0.2),
    ),
    Category.SUCCESS: (("course_completed", 0.6), ("certification_earned", 0.4)),
}  # fmt: skip

# What kind of community member someone is decides the mix of categories they are active in.
_PERSONAS: dict[str, tuple[float, dict[Category, float]]] = {
    "asker": (0.3, {Category.SUPPORT: 0.5, Category.PRODUCT: 0.1, Category.ENGAGEMENT: 0.25,
                    Category.SUCCESS: 0.15}),
    "socializer": (0.25, {Category.ENGAGEMENT: 0.6, Category.ACQUISITION: 0.1, Category.SUPPORT: 0.1,
                          Category.SUCCESS: 0.2}),
    "learner": (0.2, {Category.SUCCESS: 0.45, Category.SUPPORT: 0.3, Category.ENGAGEMENT: 0.25}),
    "builder": (0.15, {Category.PRODUCT: 0.35, Category.CONTRIBUTION: 0.25, Category.SUPPORT: 0.2,
                       Category.ENGAGEMENT: 0.2}),
    "advocate": (0.1, {Category.ACQUISITION: 0.4, Category.CONTRIBUTION: 0.2,
                       Category.ENGAGEMENT: 0.4}),
    "staff": (0.0, {Category.SUPPORT: 0.55, Category.CONTRIBUTION: 0.25, Category.ENGAGEMENT: 0.2}),
}  # fmt: skip
_MEMBER_PERSONAS = tuple(p for p, (share, _) in _PERSONAS.items() if share > 0)
_PERSONA_SHARES = tuple(_PERSONAS[p][0] for p in _MEMBER_PERSONAS)

# ---------------------------------------------------------------------------------------------------
# Generated records
# ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """The demo's 18 months, ending at ``end`` (the clock's now)."""

    start: datetime
    end: datetime

    @property
    def last_closed_date(self) -> date:
        """The newest close date a closed deal may have: yesterday, so its close is in the past."""
        return self.end.date() - _DAY


@dataclass(frozen=True)
class _Company:
    key: str
    name: str
    domain: str
    region: str
    currency: str
    industry: str
    employees: int
    appears_at: datetime
    customer_since: datetime | None  # before the period: an existing customer
    engagement: float  # community affinity in [0, 1]


@dataclass(frozen=True)
class _Contact:
    key: str
    account: str
    name: str
    email: str
    created_at: datetime


@dataclass(frozen=True)
class _Lead:
    key: str
    name: str
    company: str
    email: str
    created_at: datetime
    converted_contact: str | None = None
    converted_at: datetime | None = None


@dataclass(frozen=True)
class _Member:
    key: str
    name: str
    emails: tuple[str, ...]  # raw, as the community platform has them
    kind: str  # contact, lead, domain, unmatched, staff
    persona: str
    joined_at: datetime
    active_until: datetime
    monthly_rate: float
    contact: str | None = None  # the contact it resolves to, directly or via a converted lead
    account: str | None = None


@dataclass(frozen=True)
class _Campaign:
    name: str
    activity_type: str
    program: str
    start: datetime
    end: datetime
    weight: float


@dataclass
class _People:
    contacts: list[_Contact] = field(default_factory=list)
    leads: list[_Lead] = field(default_factory=list)
    emails: set[str] = field(default_factory=set)  # normalized, taken by someone already


@dataclass(frozen=True)
class _Deals:
    opportunities: list[OpportunityIn]
    contact_roles: list[ContactRoleIn]
    primary_contacts: dict[str, str]  # new-business opportunity -> its primary contact


@dataclass(frozen=True)
class DemoData:
    """Everything the demo loads, as the service's own input models."""

    now: datetime
    activity_types: list[tuple[str, ActivityTypeIn]]
    programs: list[tuple[str, ProgramIn]]
    crm: CrmImport
    members: list[MemberIn]
    touchpoints: list[TouchpointIn]
    staff_members: int
    unmatched_members: int
    converted_leads: int


@dataclass(frozen=True)
class DemoCounts:
    accounts: int
    contacts: int
    leads: int
    converted_leads: int
    opportunities: int
    foreign_currency_opportunities: int
    contact_roles: int
    exchange_rates: int
    members: int
    staff_members: int
    unmatched_members: int
    members_matched: int
    community_touches: int
    marketing_touches: int


@dataclass(frozen=True)
class LoadedDemo:
    """What `commattr demo` reports: the workspace, its first API key, counts and runs."""

    workspace_id: int
    workspace_name: str
    api_key: str
    seed: int
    now: datetime
    counts: DemoCounts
    run_ids: tuple[tuple[str, int], ...]  # (model, run id), in run order
    failed_models: tuple[tuple[str, str], ...]  # (model, error)
    seconds: float

    def describe(self) -> str:
        c = self.counts
        lines = [
            f"{self.workspace_name} (workspace {self.workspace_id}), seed {self.seed}, "
            f"18 months to {self.now:%Y-%m-%d}",
            f"  CRM: {c.accounts:,} accounts, {c.contacts:,} contacts, {c.leads:,} leads "
            f"({c.converted_leads:,} converted), {c.opportunities:,} opportunities "
            f"({c.foreign_currency_opportunities:,} in EUR/GBP), {c.contact_roles:,} contact roles, "
            f"{c.exchange_rates:,} exchange rates",
            f"  community: {c.members:,} members ({c.staff_members:,} staff, "
            f"{c.unmatched_members:,} unmatched, {c.members_matched:,} matched), "
            f"{c.community_touches:,} touches",
            f"  marketing: {c.marketing_touches:,} campaign touches",
            "  runs: " + (", ".join(f"{m} #{i}" for m, i in self.run_ids) or "none"),
        ]
        lines += [f"  run failed: {model}: {error}" for model, error in self.failed_models]
        lines.append(f"  loaded in {self.seconds:.1f} s")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------
# Small random helpers
# ---------------------------------------------------------------------------------------------------


def _instant(rng: random.Random, low: datetime, high: datetime) -> datetime:
    """A whole second uniformly in [low, high] (``low`` when the range is empty)."""
    seconds = max(0.0, (high - low).total_seconds())
    return (low + timedelta(seconds=rng.uniform(0, seconds))).replace(microsecond=0)


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    if mean > 30:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _money(value: float, step: int) -> Decimal:
    return Decimal(max(step, round(value / step) * step)).quantize(Decimal("0.01"))


def _slug(text: str) -> str:
    plain = text.lower().replace("'", "").replace("ü", "u").replace("á", "a")
    return "-".join(plain.split())


def _person_name(rng: random.Random) -> tuple[str, str]:
    return rng.choice(_FIRST_NAMES), rng.choice(_LAST_NAMES)


def _unique_email(people: _People, first: str, last: str, domain: str) -> str:
    """first.last@domain, else initial+last, else numbered: emails are one person's each."""
    local_first, local_last = _slug(first).replace("-", ""), _slug(last).replace("-", "")
    candidates = itertools.chain(
        (f"{local_first}.{local_last}", f"{local_first[0]}{local_last}"),
        (f"{local_first}.{local_last}{n}" for n in itertools.count(2)),
    )
    for local in candidates:
        email = f"{local}@{domain}"
        if email not in people.emails:
            people.emails.add(email)
            return email
    raise AssertionError("ran out of email addresses")  # pragma: no cover


# ---------------------------------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------------------------------


def _company_names(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """``count`` distinct (name, industry) pairs such as ("Northwind Analytics", "Software")."""
    combos = [(f"{w} {k}", i) for w in _COMPANY_WORDS for k, i in _COMPANY_KINDS.items()]
    rng.shuffle(combos)
    names = [(name + suffix, i) for suffix in _COMPANY_SUFFIXES for name, i in combos]
    if count > len(names):
        raise ValueError(f"scale too large: at most {len(names)} company names")
    return names[:count]


def _accounts(rng: random.Random, span: _Span, names: list[tuple[str, str]]) -> list[_Company]:
    """Accounts with a region, a size and a community affinity.

    The first two are long-standing European and UK customers: an existing customer renews within
    any 18 months, so even a small demo has EUR and GBP deals to convert.
    """
    companies = []
    weights = [share for _, _, share, _ in _REGIONS]
    for n, (name, industry) in enumerate(names, start=1):
        region, currency, _, tlds = rng.choices(_REGIONS, weights)[0]
        existing = rng.random() < 0.32
        if n in (1, 2):
            region, currency, _, tlds = _REGIONS[n]
            existing = True
        since = _instant(rng, span.start - 3 * _YEAR, span.start - 30 * _DAY) if existing else None
        appears = since or _instant(rng, span.start - 14 * _DAY, span.end - 20 * _DAY)
        affinity = 0.0 if rng.random() < 0.35 else min(1.0, rng.lognormvariate(-1.0, 0.6))
        companies.append(
            _Company(
                key=f"ACC-{n:05d}",
                name=name,
                domain=f"{_slug(name)}.{rng.choice(tlds)}",
                region=region,
                currency=currency,
                industry=industry,
                employees=int(min(80_000, 15 + rng.lognormvariate(5.5, 1.4))),
                appears_at=appears,
                customer_since=since,
                engagement=affinity,
            )
        )
    return companies


def _account_records(companies: list[_Company]) -> list[AccountIn]:
    return [
        AccountIn(
            external_id=c.key,
            name=c.name,
            domain=f"https://www.{c.domain}" if i % 7 == 0 else c.domain,
            employees=c.employees,
            annual_revenue=Decimal(c.employees * 180_000),
            properties={"industry": c.industry, "region": c.region},
        )
        for i, c in enumerate(companies)
    ]


def _contacts(rng: random.Random, span: _Span, companies: list[_Company], people: _People) -> None:
    """Contacts per account by size; the first few arrive with the account, the rest over time."""
    for company in companies:
        count = 3 + int(math.log10(company.employees) * rng.uniform(1.5, 4.5))
        for i in range(count):
            first, last = _person_name(rng)
            if company.customer_since is not None and rng.random() < 0.6:
                created = _instant(rng, company.customer_since, span.start)
            elif i < 2:
                created = _instant(rng, company.appears_at, company.appears_at + 20 * _DAY)
            else:
                created = _instant(rng, max(company.appears_at, span.start), span.end)
            people.contacts.append(
                _Contact(
                    key=f"CON-{len(people.contacts) + 1:06d}",
                    account=company.key,
                    name=f"{first} {last}",
                    email=_unique_email(people, first, last, company.domain),
                    created_at=min(created, span.end),
                )
            )


def _leads(
    rng: random.Random,
    span: _Span,
    people: _People,
    companies: list[_Company],
    others: list[tuple[str, str]],
) -> dict[str, str]:
    """Converted leads behind some newer contacts, and unconverted leads from other companies.

    Returns the personal email each converted lead signed up with, by contact, where it is not the
    contact's work email: a member with that email reaches the contact only through the lead.
    """
    names = {c.key: c.name for c in companies}
    personal: dict[str, str] = {}
    for contact in people.contacts:
        if contact.created_at < span.start or rng.random() > 0.3:
            continue
        first, last = contact.name.split(" ", 1)
        email = contact.email
        if rng.random() < 0.35:
            email = _unique_email(people, first, last, rng.choice(_PERSONAL_DOMAINS))
            personal[contact.key] = email
        people.leads.append(
            _Lead(
                key=f"LEAD-{len(people.leads) + 1:06d}",
                name=contact.name,
                company=names[contact.account],
                email=email,
                created_at=_instant(rng, contact.created_at - 60 * _DAY, contact.created_at - _DAY),
                converted_contact=contact.key,
                converted_at=contact.created_at,
            )
        )
    for company, _ in others:
        for _ in range(rng.randint(1, 3)):
            first, last = _person_name(rng)
            on_free_mail = rng.random() < 0.25
            domain = rng.choice(_PERSONAL_DOMAINS) if on_free_mail else f"{_slug(company)}.com"
            people.leads.append(
                _Lead(
                    key=f"LEAD-{len(people.leads) + 1:06d}",
                    name=f"{first} {last}",
                    company=company,
                    email=_unique_email(people, first, last, domain),
                    created_at=_instant(rng, span.start, span.end),
                )
            )
    return personal


def _email_as_typed(rng: random.Random, email: str) -> str:
    """Mostly as the CRM has it; sometimes capitalised or padded, as people type them."""
    roll = rng.random()
    if roll < 0.08:
        local, domain = email.split("@")
        return ".".join(p.capitalize() for p in local.split(".")) + "@" + domain.title()
    if roll < 0.12:
        return email.upper()
    if roll < 0.16:
        return f" {email} "
    return email


def _member(
    rng: random.Random,
    span: _Span,
    *,
    key: str,
    name: str,
    emails: tuple[str, ...],
    kind: str,
    joined_near: datetime,
    rate_factor: float,
    contact: str | None = None,
    account: str | None = None,
) -> _Member:
    """A member whose activity starts around ``joined_near``, often weeks before it."""
    joined = max(span.start, joined_near - timedelta(days=rng.uniform(-30, 240)))
    joined = min(joined, span.end - 2 * _DAY).replace(microsecond=0)
    until = span.end if rng.random() < 0.8 else _instant(rng, joined, span.end)
    return _Member(
        key=key,
        name=name,
        emails=emails,
        kind=kind,
        persona=rng.choices(_MEMBER_PERSONAS, _PERSONA_SHARES)[0],
        joined_at=joined,
        active_until=until,
        monthly_rate=rng.lognormvariate(-0.2, 0.9) * rate_factor,
        contact=contact,
        account=account,
    )


def _members(
    rng: random.Random,
    span: _Span,
    companies: list[_Company],
    people: _People,
    personal: dict[str, str],
    scale: float,
) -> list[_Member]:
    by_key = {c.key: c for c in companies}
    members: list[_Member] = []

    def key() -> str:
        return f"m{len(members) + 1:06d}"

    for contact in people.contacts:
        company = by_key[contact.account]
        if rng.random() > 0.12 + 0.65 * company.engagement:
            continue
        if contact.key in personal and rng.random() < 0.6:
            emails: tuple[str, ...] = (personal[contact.key],)
        else:
            emails = (_email_as_typed(rng, contact.email),)
            if rng.random() < 0.05:
                first, last = contact.name.split(" ", 1)
                emails += (_unique_email(people, first, last, rng.choice(_PERSONAL_DOMAINS)),)
        members.append(
            _member(
                rng,
                span,
                key=key(),
                name=contact.name,
                emails=emails,
                kind="contact",
                joined_near=contact.created_at,
                rate_factor=0.6 + company.engagement,
                contact=contact.key,
                account=contact.account,
            )
        )
    for lead in people.leads:
        if lead.converted_contact is None and rng.random() < 0.3:
            members.append(
                _member(
                    rng,
                    span,
                    key=key(),
                    name=lead.name,
                    emails=(lead.email,),
                    kind="lead",
                    joined_near=lead.created_at,
                    rate_factor=0.8,
                )
            )
    for company in companies:
        for _ in range(_poisson(rng, 2.5 * company.engagement)):
            first, last = _person_name(rng)
            email = _unique_email(people, first, last, company.domain)
            members.append(
                _member(
                    rng,
                    span,
                    key=key(),
                    name=f"{first} {last}",
                    emails=(email,),
                    kind="domain",
                    joined_near=_instant(rng, span.start, span.end),
                    rate_factor=0.8,
                    account=company.key,
                )
            )
    for _ in range(max(5, round(900 * scale))):
        first, last = _person_name(rng)
        domain = rng.choice((*_PERSONAL_DOMAINS, "student.example.edu", "freelance.dev"))
        email = _email_as_typed(rng, _unique_email(people, first, last, domain))
        members.append(
            _member(
                rng,
                span,
                key=key(),
                name=f"{first} {last}",
                emails=(email,),
                kind="unmatched",
                joined_near=_instant(rng, span.start, span.end),
                rate_factor=0.5,
            )
        )
    for _ in range(max(3, round(45 * scale))):
        first, last = _person_name(rng)
        email = _unique_email(people, first, last, STAFF_DOMAIN)
        staff = _member(
            rng,
            span,
            key=key(),
            name=f"{first} {last}",
            emails=(_email_as_typed(rng, email),),
            kind="staff",
            joined_near=span.start,
            rate_factor=8.0,
        )
        members.append(replace(staff, persona="staff", joined_at=span.start, active_until=span.end))
    return members


def _programs(span: _Span) -> tuple[list[tuple[str, ProgramIn]], list[tuple[str, date]]]:
    """Programs with costs; returns them and the summits (program key, first day)."""
    start, end = span.start.date(), span.end.date()
    summits = [d for d in (end - timedelta(days=420), end - timedelta(days=60)) if d >= start]
    programs: list[tuple[str, ProgramIn]] = [
        (
            f"summit-{d.year}",
            ProgramIn(
                name=f"Lumen Summit {d.year}",
                cost=Decimal("185000.00"),
                currency="USD",
                start_date=d,
                end_date=d + 2 * _DAY,
            ),
        )
        for d in summits
    ]
    fixed = (
        ("user-groups", "User group meetups", "48000.00", start),
        ("champions", "Lumen Champions advocacy", "36000.00", start + timedelta(days=120)),
        ("academy", "Lumen Academy", "60000.00", start),
        ("webinars", "Webinar series", "54000.00", start),
        ("trade-shows", "Trade shows", "240000.00", start),
        ("paid-social", "Paid social", "150000.00", start),
        ("content", "Gated content and syndication", "70000.00", start),
        ("email-nurture", "Email nurture", "12000.00", start),
    )
    programs += [
        (k, ProgramIn(name=n, cost=Decimal(c), currency="USD", start_date=s, end_date=end))
        for k, n, c, s in fixed
    ]
    return programs, [(f"summit-{d.year}", d) for d in summits]


def _community_touches(
    rng: random.Random, span: _Span, members: list[_Member], summits: list[tuple[str, date]]
) -> list[tuple[_Member, str, datetime, str | None]]:
    """(member, activity type, instant, program) for every community touch, in member order."""
    champions_from = span.start + timedelta(days=120)
    touches: list[tuple[_Member, str, datetime, str | None]] = []
    for member in members:
        months = (member.active_until - member.joined_at).total_seconds() / (30 * 86_400)
        mix = _PERSONAS[member.persona][1]
        categories, shares = list(mix), list(mix.values())
        for _ in range(_poisson(rng, member.monthly_rate * months)):
            category = rng.choices(categories, shares)[0]
            kinds = _TYPES_BY_CATEGORY[category]
            kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
            at = _instant(rng, member.joined_at, member.active_until)
            program: str | None = None
            if kind == "summit_attended":
                reachable = [
                    (p, d) for p, d in summits if member.joined_at.date() <= d <= at.date()
                ]
                if reachable:
                    program, day = rng.choice(reachable)
                    at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(
                        hours=rng.uniform(13, 22) + 24 * rng.randint(0, 2)
                    )
                    at = min(at.replace(microsecond=0), span.end)
                else:
                    kind = "meetup_attended"
            if kind == "meetup_attended":
                program = "user-groups"
            elif kind in ("course_completed", "certification_earned"):
                program = "academy"
            elif category is Category.ACQUISITION and at >= champions_from:
                program = "champions"
            touches.append((member, kind, at, program))
    return touches


def _touchpoints(touches: list[tuple[_Member, str, datetime, str | None]]) -> list[TouchpointIn]:
    return [
        TouchpointIn(
            source=_SOURCE_OF[kind],
            external_id=f"{kind}-{n:07d}",
            activity_type=kind,
            occurred_at=at,
            member_external_id=member.key,
            program=program,
        )
        for n, (member, kind, at, program) in enumerate(touches, start=1)
    ]


def _activity_index(
    touches: list[tuple[_Member, str, datetime, str | None]],
) -> tuple[dict[str, list[datetime]], dict[str, list[datetime]]]:
    """Sorted non-staff community touch instants by contact and by account, to judge influence."""
    by_contact: dict[str, list[datetime]] = {}
    by_account: dict[str, list[datetime]] = {}
    for member, _, at, _ in touches:
        if member.contact is not None:
            by_contact.setdefault(member.contact, []).append(at)
        if member.account is not None:
            by_account.setdefault(member.account, []).append(at)
    for instants in (*by_contact.values(), *by_account.values()):
        instants.sort()
    return by_contact, by_account


def _any_between(instants: list[datetime], low: datetime, high: datetime) -> bool:
    i = bisect.bisect_left(instants, low)
    return i < len(instants) and instants[i] <= high


# Per opportunity type: win rate, its lift when the deal's people were active in the community, sales
# cycle in days, and the name of the deal.
_WIN = {"new_business": 0.24, "expansion": 0.45, "renewal": 0.85, "other": 0.6}
_LIFT = {"new_business": 0.16, "expansion": 0.15, "renewal": 0.08, "other": 0.1}
_CYCLE = {"new_business": (30, 150), "expansion": (20, 90), "renewal": (45, 80), "other": (10, 45)}
_LABEL = {
    "new_business": "New subscription",
    "expansion": "Seat expansion",
    "renewal": "Renewal",
    "other": "Professional services",
}


@dataclass
class _DealMaker:
    """Writes an account's deals one by one, deciding each outcome from the community around it."""

    rng: random.Random
    span: _Span
    by_contact: dict[str, list[datetime]]
    by_account: dict[str, list[datetime]]
    contacts_by_account: dict[str, list[_Contact]]
    opportunities: list[OpportunityIn] = field(default_factory=list)
    roles: list[ContactRoleIn] = field(default_factory=list)
    primary: dict[str, str] = field(default_factory=dict)

    def deal(
        self, company: _Company, kind: OpportunityType, created: datetime, amount: Decimal
    ) -> tuple[bool | None, date]:
        """Adds the deal; returns (won, close date), won None while it is still open."""
        rng = self.rng
        key = f"OPP-{len(self.opportunities) + 1:06d}"
        created = created.replace(microsecond=0)
        low, high = _CYCLE[kind]
        close = (created + timedelta(days=rng.uniform(low, high))).date()
        people = self._pick_roles(key, company, created)
        is_open = close > self.span.last_closed_date
        until = (
            self.span.end if is_open else datetime(close.year, close.month, close.day, tzinfo=UTC)
        )
        influenced = any(
            _any_between(instants, created - _YEAR, until)
            for instants in (
                [self.by_contact.get(c, []) for c in people]
                or [self.by_account.get(company.key, [])]
            )
        )
        won = rng.random() < _WIN[kind] + (_LIFT[kind] if influenced else 0.0)
        if is_open:
            expected = datetime(close.year, close.month, close.day, tzinfo=UTC)
            progress = (self.span.end - created) / max(expected - created, _DAY)
            stage = _OPEN_STAGES[min(3, int(max(0.0, progress) * 4))]
        else:
            stage = "Closed Won" if won else "Closed Lost"
        self.opportunities.append(
            OpportunityIn(
                external_id=key,
                name=f"{company.name} - {_LABEL[kind]} {close.year}",
                account=company.key,
                type=kind,
                stage_name=stage,
                pipeline="New business" if kind == "new_business" else "Customer",
                is_closed=not is_open,
                is_won=won and not is_open,
                amount=amount,
                currency=company.currency,
                created_at=created,
                close_date=close,
                properties={"forecast_category": "Pipeline" if is_open else stage},
            )
        )
        return (None if is_open else won), close

    def _pick_roles(self, key: str, company: _Company, created: datetime) -> list[str]:
        """The deal's contact roles, from contacts known by then; some deals have none."""
        rng = self.rng
        known = [
            c for c in self.contacts_by_account[company.key] if c.created_at <= created + 7 * _DAY
        ]
        if not known or rng.random() < 0.12:
            return []
        chosen = rng.sample(known, min(len(known), rng.choice((1, 2, 2, 3, 3, 4))))
        for i, contact in enumerate(chosen):
            self.roles.append(
                ContactRoleIn(
                    external_id=f"{key}-R{i + 1}",
                    opportunity=key,
                    contact=contact.key,
                    role=_ROLES[0] if i == 0 else rng.choice(_ROLES[1:]),
                    is_primary=i == 0,
                )
            )
        self.primary[key] = chosen[0].key
        return [c.key for c in chosen]


def _contract_value(rng: random.Random, company: _Company) -> float:
    """Yearly contract value grows with the company's size (in the account's own currency)."""
    size = float(math.log10(company.employees) ** 1.6)
    return 6_000 + 9_000 * size * rng.lognormvariate(0, 0.35)


def _account_deals(maker: _DealMaker, company: _Company) -> None:
    rng, span = maker.rng, maker.span
    since = company.customer_since
    acv = _contract_value(rng, company)
    if since is None:
        attempt = company.appears_at + timedelta(days=rng.uniform(15, 120))
        while since is None and attempt <= span.end:
            acv = _contract_value(rng, company)
            won, close = maker.deal(company, "new_business", attempt, _money(acv, 500))
            if won is None or (not won and rng.random() > 0.35):
                return
            if won:
                since = datetime(close.year, close.month, close.day, 12, tzinfo=UTC)
            attempt = datetime(close.year, close.month, close.day, tzinfo=UTC) + timedelta(
                days=rng.uniform(150, 300)
            )
        if since is None:
            return
    _customer_deals(maker, company, since, acv)


def _customer_deals(maker: _DealMaker, company: _Company, since: datetime, acv: float) -> None:
    """Renewals every year, expansions and services at random, until a renewal is lost.

    ``acv`` is the yearly contract value: renewals renew it (with an uplift), won expansions grow it.
    """
    rng, span = maker.rng, maker.span
    events: list[tuple[datetime, OpportunityType]] = []
    anniversary = since + _YEAR
    while anniversary - 80 * _DAY <= span.end:
        created = anniversary - timedelta(days=rng.uniform(70, 80))
        if span.start <= created <= span.end:
            events.append((created, "renewal"))
        anniversary += _YEAR
    yearly: tuple[tuple[OpportunityType, float], ...] = (
        ("expansion", 0.3 + 0.6 * company.engagement),
        ("other", 0.25),
    )
    for kind, per_year in yearly:
        at = max(since, span.start)
        while (at := at + timedelta(days=rng.expovariate(per_year / 365))) <= span.end:
            events.append((at.replace(microsecond=0), kind))
    events.sort(key=lambda e: (e[0], e[1]))
    for created, kind in events:
        if kind == "renewal":
            won, _ = maker.deal(company, kind, created, _money(acv * rng.uniform(1.0, 1.08), 100))
            if won is False:
                return
        elif kind == "expansion":
            amount = _money(acv * rng.uniform(0.1, 0.45), 250)
            won, _ = maker.deal(company, kind, created, amount)
            if won:
                acv += float(amount)
        else:
            maker.deal(company, kind, created, _money(rng.uniform(2_500, 30_000), 250))


def _deals(
    rng: random.Random,
    span: _Span,
    companies: list[_Company],
    people: _People,
    touches: list[tuple[_Member, str, datetime, str | None]],
) -> _Deals:
    contacts_by_account: dict[str, list[_Contact]] = {c.key: [] for c in companies}
    for contact in people.contacts:
        contacts_by_account[contact.account].append(contact)
    by_contact, by_account = _activity_index([t for t in touches if t[0].kind != "staff"])
    maker = _DealMaker(rng, span, by_contact, by_account, contacts_by_account)
    for company in companies:
        _account_deals(maker, company)
    return _Deals(maker.opportunities, maker.roles, maker.primary)


def _campaigns(rng: random.Random, span: _Span) -> list[_Campaign]:
    """Webinars, trade shows, content, nurture emails and paid social over the period."""
    campaigns: list[_Campaign] = []

    def add(
        name: str, kind: str, program: str, start: datetime, days: float, weight: float
    ) -> None:
        end = min(span.end, start + timedelta(days=days))
        if start < end:
            campaigns.append(_Campaign(name, kind, program, start, end, weight))

    day = span.start + timedelta(days=5)
    while day < span.end:
        add(f"Webinar {day:%Y-%m-%d}", "webinar_attended", "webinars", day, 0.1, 1.0)
        day += timedelta(days=14)
    for month in range(0, 18):
        send = span.start + timedelta(days=30 * month + 3)
        add(f"Newsletter {send:%Y-%m}", "email_click", "email-nurture", send, 7, 1.6)
    for n, offset in enumerate(range(20, 540, 90), start=1):
        show = span.start + timedelta(days=offset + rng.uniform(0, 40))
        add(f"Trade show {show:%Y} #{n}", "trade_show_visit", "trade-shows", show, 2, 0.8)
    for n, offset in enumerate(range(0, 540, 60), start=1):
        release = span.start + timedelta(days=offset + rng.uniform(0, 20))
        add(f"Ebook {n}: {release:%b %Y}", "content_download", "content", release, 120, 0.9)
    for quarter in range(6):
        start = span.start + timedelta(days=91 * quarter)
        add(f"Paid social Q{quarter + 1}", "paid_social_click", "paid-social", start, 91, 1.2)
        if quarter % 2 == 0:
            add(
                f"Syndication wave {quarter // 2 + 1}",
                "content_syndication",
                "content",
                start,
                60,
                0.6,
            )
    return campaigns


def _campaign_members(
    rng: random.Random,
    span: _Span,
    people: _People,
    deals: _Deals,
    target: int,
) -> list[CampaignMemberIn]:
    """``target`` campaign responses: demo requests before new deals, the rest across campaigns.

    A contact who came in as a lead responds as the lead before the conversion, as the contact after.
    """
    contacts = {c.key: c for c in people.contacts}
    lead_of = {lead.converted_contact: lead for lead in people.leads if lead.converted_contact}
    members: list[CampaignMemberIn] = []

    def respond(
        kind: str,
        at: datetime,
        contact: _Contact | None,
        lead: _Lead | None,
        campaign: str,
        program: str | None,
    ) -> None:
        as_lead = lead is not None and (
            contact is None or lead.converted_at is None or at < lead.converted_at
        )
        members.append(
            CampaignMemberIn(
                external_id=f"CM-{len(members) + 1:07d}",
                activity_type=kind,
                occurred_at=at,
                contact=None if as_lead or contact is None else contact.key,
                lead=lead.key if as_lead and lead is not None else None,
                campaign=campaign,
                program=program,
            )
        )

    for opportunity in deals.opportunities:
        primary = deals.primary_contacts.get(opportunity.external_id)
        if opportunity.type != "new_business" or primary is None or rng.random() > 0.4:
            continue
        at = opportunity.created_at - timedelta(days=rng.uniform(1, 10))
        person, lead = contacts[primary], lead_of.get(primary)
        if at >= (lead.created_at if lead else person.created_at):
            respond("demo_request", at.replace(microsecond=0), person, lead, "Demo request", None)

    campaigns = _campaigns(rng, span)
    by_weight = list(itertools.accumulate(c.weight for c in campaigns))
    persons: list[tuple[_Contact | None, _Lead | None, datetime]] = [
        (c, lead_of.get(c.key), lead_of[c.key].created_at if c.key in lead_of else c.created_at)
        for c in people.contacts
    ]
    persons += [
        (None, lead, lead.created_at) for lead in people.leads if not lead.converted_contact
    ]
    responsiveness = list(itertools.accumulate(rng.lognormvariate(0, 0.8) for _ in persons))
    while len(members) < target and persons:
        before = len(members)
        for contact, lead, known_from in rng.choices(
            persons, cum_weights=responsiveness, k=target - len(members)
        ):
            for _ in range(20):  # a campaign the person was around for
                campaign = rng.choices(campaigns, cum_weights=by_weight)[0]
                if campaign.end >= known_from:
                    at = _instant(rng, max(campaign.start, known_from), campaign.end)
                    kind, name, program = campaign.activity_type, campaign.name, campaign.program
                    respond(kind, at, contact, lead, name, program)
                    break
        if len(members) == before:  # nobody was around for any campaign
            break
    return members


def _exchange_rates(rng: random.Random, first: date, last: date) -> list[ExchangeRateIn]:
    """Monthly EUR and GBP rates to USD from ``first``'s month through ``last``'s: no gaps."""
    rates: list[ExchangeRateIn] = []
    for currency, level in (("EUR", 1.08), ("GBP", 1.27)):
        month = first.replace(day=1)
        while month <= last:
            following = (month + timedelta(days=32)).replace(day=1)
            level *= math.exp(rng.gauss(0, 0.012))
            rates.append(
                ExchangeRateIn(
                    currency=currency,
                    to="USD",
                    rate=Decimal(f"{level:.4f}"),
                    valid_from=month,
                    valid_to=following - _DAY,
                )
            )
            month = following
    return rates


def _member_records(members: list[_Member]) -> list[MemberIn]:
    return [
        MemberIn(
            external_id=m.key,
            name=m.name,
            emails=list(m.emails),
            properties={"persona": m.persona, "joined_at": m.joined_at.isoformat()},
        )
        for m in members
    ]


def generate_demo(*, seed: int, now: datetime, scale: float = 1.0) -> DemoData:
    """The whole demo company for ``seed``, the 18 months ending at ``now`` (pure)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if scale <= 0:
        raise ValueError("scale must be positive")
    now = now.astimezone(UTC)
    rng = random.Random(seed)
    end = now.replace(microsecond=0)
    span = _Span(start=end - timedelta(days=PERIOD_DAYS), end=end)
    accounts = max(8, round(420 * scale))
    names = _company_names(rng, accounts + max(4, round(500 * scale)))
    companies = _accounts(rng, span, names[:accounts])
    people = _People()
    _contacts(rng, span, companies, people)
    personal = _leads(rng, span, people, companies, names[len(companies) :])
    members = _members(rng, span, companies, people, personal, scale)
    programs, summits = _programs(span)
    touches = _community_touches(rng, span, members, summits)
    deals = _deals(rng, span, companies, people, touches)
    campaign_members = _campaign_members(rng, span, people, deals, target=len(touches) * 11 // 10)
    last_close = max(
        (o.close_date for o in deals.opportunities if o.close_date), default=now.date()
    )
    crm = CrmImport(
        source=CRM_SOURCE,
        accounts=_account_records(companies),
        contacts=[
            ContactIn(
                external_id=c.key,
                account=c.account,
                name=c.name,
                email=c.email,
                created_at=c.created_at,
                properties={},
            )
            for c in people.contacts
        ],
        leads=[
            LeadIn(
                external_id=lead.key,
                name=lead.name,
                company=lead.company,
                email=lead.email,
                created_at=lead.created_at,
                converted_contact=lead.converted_contact,
                converted_at=lead.converted_at,
            )
            for lead in people.leads
        ],
        opportunities=deals.opportunities,
        contact_roles=deals.contact_roles,
        campaign_members=campaign_members,
        exchange_rates=_exchange_rates(rng, span.start.date(), max(last_close, now.date())),
    )
    return DemoData(
        now=now,
        activity_types=[
            (
                a.key,
                ActivityTypeIn(
                    name=a.name,
                    category=a.category,
                    weight=Decimal(a.weight),
                    cost=None if a.cost is None else Decimal(a.cost),
                ),
            )
            for a in _ACTIVITY_TYPES
        ],
        programs=programs,
        crm=crm,
        members=_member_records(members),
        touchpoints=_touchpoints(touches),
        staff_members=sum(m.kind == "staff" for m in members),
        unmatched_members=sum(m.kind == "unmatched" for m in members),
        converted_leads=sum(lead.converted_contact is not None for lead in people.leads),
    )


# ---------------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------------


def _has_workspace(factory: sessionmaker[Session]) -> bool:
    with transaction(factory) as session:
        return session.scalar(select(Workspace.id).limit(1)) is not None


def _load(
    session: Session, *, settings: Settings, data: DemoData, progress: Progress
) -> tuple[int, str, int]:
    """Everything through the service functions, in one transaction; returns id, key, matched."""
    crm_records = record_count(data.crm)
    total = crm_records + len(data.members) + len(data.touchpoints)
    done = 0

    def loaded(records: int) -> None:
        nonlocal done
        done += records
        progress(LOAD_PHASE, done, total)

    progress(LOAD_PHASE, 0, total)
    created = create_workspace(
        session,
        name=WORKSPACE_NAME,
        now=data.now,
        free_mail_domains=list(settings.free_mail_domains),
        settings=WorkspaceSettingsUpdate(
            reporting_currency="USD",
            time_zone=TIME_ZONE,
            fiscal_year_start_month=FISCAL_YEAR_START_MONTH,
            staff_domains=[STAFF_DOMAIN],
        ),
    )
    workspace = created.workspace
    for key, activity_type in data.activity_types:
        put_activity_type(session, workspace_id=workspace.id, key=key, body=activity_type)
    for key, program in data.programs:
        put_program(session, workspace_id=workspace.id, key=key, body=program)
    import_records(session, workspace=workspace, body=data.crm, now=data.now)
    loaded(crm_records)
    matched = 0
    for start in range(0, len(data.members), MEMBER_BATCH):
        batch = data.members[start : start + MEMBER_BATCH]
        matched += upsert_members(session, workspace=workspace, members=batch, now=data.now).matched
        loaded(len(batch))
    limit = settings.touchpoint_batch_limit
    for start in range(0, len(data.touchpoints), limit):
        batch_of_touches = data.touchpoints[start : start + limit]
        ingest(session, workspace=workspace, touchpoints=batch_of_touches, now=data.now)
        loaded(len(batch_of_touches))
    return workspace.id, created.api_key, matched


def _run_models(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    workspace_id: int,
    now: datetime,
    models: Sequence[str],
    progress: Progress,
) -> tuple[list[tuple[str, int]], list[tuple[str, str]]]:
    """One run per model, each in its own transaction; only a failing linear run is an error."""
    runs: list[tuple[str, int]] = []
    failures: list[tuple[str, str]] = []
    progress(RUNS_PHASE, 0, len(models))
    for done, model in enumerate(models, start=1):
        _run_model(
            factory,
            settings=settings,
            workspace_id=workspace_id,
            now=now,
            model=model,
            runs=runs,
            failures=failures,
        )
        progress(RUNS_PHASE, done, len(models))
    return runs, failures


def _run_model(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    workspace_id: int,
    now: datetime,
    model: str,
    runs: list[tuple[str, int]],
    failures: list[tuple[str, str]],
) -> None:
    if model not in MODEL_NAMES:
        failures.append((model, "not a model of this engine"))
        return
    try:
        with transaction(factory) as session:
            workspace = get_workspace(session, workspace_id)
            run = run_attribution(
                session,
                workspace=workspace,
                request=RunCreate(model=model),
                now=now,
                settings=settings,
            )
            runs.append((model, run.id))
    except Exception as error:  # a demo without one optional model is still a demo
        if model == "linear":
            raise
        failures.append((model, f"{type(error).__name__}: {error}"))


def load_demo(
    factory: sessionmaker[Session],
    *,
    settings: Settings,
    seed: int = 7,
    if_empty: bool = False,
    now: datetime | None = None,
    scale: float = 1.0,
    models: Sequence[str] = DEMO_MODELS,
    progress: Progress = _no_progress,
) -> LoadedDemo | None:
    """Generate the demo company into a new workspace and run attribution on it.

    With ``if_empty``, nothing happens (None) when the database already holds a workspace; otherwise
    every call makes a new workspace. ``scale`` shrinks or grows the company (tests use 0.05).
    ``progress`` hears how far the load and the runs have come.
    """
    started = time.perf_counter()
    if if_empty and _has_workspace(factory):
        return None
    data = generate_demo(seed=seed, now=now or system_clock(), scale=scale)
    with transaction(factory) as session:
        workspace_id, api_key, matched = _load(
            session, settings=settings, data=data, progress=progress
        )
    runs, failures = _run_models(
        factory,
        settings=settings,
        workspace_id=workspace_id,
        now=data.now,
        models=models,
        progress=progress,
    )
    return LoadedDemo(
        workspace_id=workspace_id,
        workspace_name=WORKSPACE_NAME,
        api_key=api_key,
        seed=seed,
        now=data.now,
        counts=_counts(data, matched),
        run_ids=tuple(runs),
        failed_models=tuple(failures),
        seconds=time.perf_counter() - started,
    )


def _counts(data: DemoData, matched: int) -> DemoCounts:
    crm = data.crm
    return DemoCounts(
        accounts=len(crm.accounts),
        contacts=len(crm.contacts),
        leads=len(crm.leads),
        converted_leads=data.converted_leads,
        opportunities=len(crm.opportunities),
        foreign_currency_opportunities=sum(o.currency != "USD" for o in crm.opportunities),
        contact_roles=len(crm.contact_roles),
        exchange_rates=len(crm.exchange_rates),
        members=len(data.members),
        staff_members=data.staff_members,
        unmatched_members=data.unmatched_members,
        members_matched=matched,
        community_touches=len(data.touchpoints),
        marketing_touches=len(crm.campaign_members),
    )
