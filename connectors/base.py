"""The connector protocol: a connector exposes streams; a stream yields pages of normalized records
changed since a cursor, deletions marked. Connectors never touch the database.

The sync engine (app/sync) owns the rules around it: it asks for records from ``cursor - overlap``,
stores each page with its cursor in one transaction, and never stores a cursor later than the
sync's start. A connector only has to read correctly: ``>=`` the given cursor, ordered by
(modified_at, external_id), every record exactly as the CRM holds it.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable


class RecordKind(enum.StrEnum):
    ACCOUNT = "account"
    CONTACT = "contact"
    LEAD = "lead"
    OPPORTUNITY = "opportunity"
    OPPORTUNITY_CONTACT = "opportunity_contact"
    CAMPAIGN_TOUCH = "campaign_touch"
    ACCOUNT_LINK = "account_link"


@dataclass(frozen=True, order=True)
class Cursor:
    """A replication bookmark: the last (modified_at, external_id) read. Ordered like the reads."""

    modified_at: datetime
    external_id: str = ""


@dataclass(frozen=True, kw_only=True)
class Record:
    """Fields every normalized record has. ``deleted`` marks a deletion (Salesforce IsDeleted,
    HubSpot archived); ``merged_into`` names the surviving record of a merge."""

    external_id: str
    modified_at: datetime
    deleted: bool = False
    merged_into: str | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class AccountRecord(Record):
    name: str
    domain: str | None = None
    employees: int | None = None
    annual_revenue: Decimal | None = None


@dataclass(frozen=True, kw_only=True)
class ContactRecord(Record):
    created_at: datetime
    account_external_id: str | None = None
    name: str | None = None
    email: str | None = None
    additional_emails: tuple[str, ...] = ()  # HubSpot hs_additional_emails


@dataclass(frozen=True, kw_only=True)
class LeadRecord(Record):
    created_at: datetime
    name: str | None = None
    company: str | None = None
    email: str | None = None
    converted_contact_external_id: str | None = None
    converted_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class OpportunityRecord(Record):
    """``amount`` in major units of ``currency`` (None when the CRM has none); ``type`` already
    mapped to new_business, expansion, renewal or other; ``close_date`` a local date."""

    created_at: datetime
    currency: str
    is_closed: bool
    is_won: bool
    name: str | None = None
    account_external_id: str | None = None
    type: str = "other"
    stage_name: str | None = None
    pipeline: str | None = None
    amount: Decimal | None = None
    close_date: date | None = None


@dataclass(frozen=True, kw_only=True)
class OpportunityContactRecord(Record):
    """A contact on an opportunity (Salesforce OpportunityContactRole, HubSpot deal→contact)."""

    opportunity_external_id: str
    contact_external_id: str
    role: str | None = None
    is_primary: bool = False


@dataclass(frozen=True, kw_only=True)
class AccountLinkRecord(Record):
    """A contact or an opportunity associated with an account, the primary one or another
    (HubSpot company associations, Salesforce AccountContactRelation)."""

    object_kind: str  # "contact" or "opportunity"
    object_external_id: str
    account_external_id: str
    is_primary: bool = False
    role: str | None = None


@dataclass(frozen=True, kw_only=True)
class CampaignTouchRecord(Record):
    """A campaign response of a contact or a lead: a marketing touchpoint."""

    occurred_at: datetime
    activity_type: str
    contact_external_id: str | None = None
    lead_external_id: str | None = None
    campaign_external_id: str | None = None
    campaign_name: str | None = None
    email: str | None = None  # the person when the CRM names no record (a form submission)


@dataclass(frozen=True)
class Page:
    """Records of one stream, in cursor order, and the cursor after the last of them."""

    records: tuple[Record, ...]
    cursor: Cursor | None


@dataclass(frozen=True)
class ApiUsage:
    """The CRM's own count of today's API calls (Salesforce DailyApiRequests; HubSpot daily limit)."""

    used: int
    limit: int

    @property
    def share(self) -> float:
        return self.used / self.limit if self.limit else 0.0


@dataclass(frozen=True)
class ConnectionCheck:
    authenticated: bool
    missing: tuple[str, ...] = ()  # "Object.Field" the connector needs but cannot read
    usage: ApiUsage | None = None
    detail: str | None = None
    # each scope (HubSpot) or object (Salesforce) the sync reads, and whether it may
    scopes: Mapping[str, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class FieldMapping:
    """Per-connection choices: the amount field, how the CRM's opportunity type maps to ours, which
    extra fields land in ``properties``, and the activity type of campaign touches."""

    amount_field: str | None = None  # default: Amount (Salesforce) / amount (HubSpot)
    type_map: Mapping[str, str] = field(default_factory=dict)  # CRM value -> our type
    extra_fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # kind -> fields
    campaign_activity_type: str = "campaign_response"
    # HubSpot marketing event participation state (lower case) or form_submission -> activity type
    marketing_activity_types: Mapping[str, str] = field(default_factory=dict)

    def marketing_activity_type(self, state: str) -> str:
        """``state``: a participation state, or ``form_submission``."""
        key = state.strip().lower()
        default = "hubspot_form_submission" if key == "form_submission" else f"hubspot_event_{key}"
        return self.marketing_activity_types.get(key) or default

    def opportunity_type(self, crm_value: str | None) -> str:
        if crm_value is None:
            return "other"
        mapped = self.type_map.get(crm_value) or _DEFAULT_TYPES.get(crm_value.strip().lower())
        return mapped or "other"


_DEFAULT_TYPES = {
    "new business": "new_business",
    "new_business": "new_business",
    "newbusiness": "new_business",
    "new customer": "new_business",
    "existing business": "expansion",
    "existing customer - upgrade": "expansion",
    "existingbusiness": "expansion",
    "upsell": "expansion",
    "expansion": "expansion",
    "renewal": "renewal",
    "existing customer - replacement": "renewal",
}


class Stream(Protocol):
    kind: RecordKind

    def pages(self, since: Cursor | None, *, until: datetime) -> Iterator[Page]:
        """Records modified at or after ``since`` (all when None) and at or before ``until``,
        deletions included, ordered by (modified_at, external_id), in pages."""
        ...

    def all_ids(self) -> Iterator[str]:
        """Every live record's external id: junction rows can vanish without a trace, so the sync
        reconciles them by a full id comparison."""
        ...


@runtime_checkable
class LinkStream(Protocol):
    """Associations without timestamps of their own (HubSpot): read in full, parent by parent.

    The sync hands ``links`` the external ids of the parents it stores (``parents`` names their
    kind) and compares what comes back with what it stored for exactly those parents: links
    added, changed or removed without any change to either record are all seen, on every run."""

    kind: RecordKind
    parents: tuple[RecordKind, ...]

    def links(self, parent: RecordKind, ids: Sequence[str], *, now: datetime) -> list[Record]:
        """Every live link of these parents (``now`` stamps the records: links carry no time)."""
        ...


class Connector(Protocol):
    source: str  # "salesforce" or "hubspot": the source column of every stored record
    # Called with the new refresh token the moment the CRM rotates it (OAuth refresh-token
    # rotation), so that whoever stores the credentials never keeps a revoked one.
    on_token_rotated: Callable[[str], None] | None

    def streams(self) -> Mapping[RecordKind, Stream | LinkStream]: ...

    def check(self) -> ConnectionCheck: ...

    def api_usage(self) -> ApiUsage | None: ...

    def server_time(self) -> datetime | None:
        """The CRM's own clock now (from its responses' ``Date`` header), None when unknown:
        reads are capped by it, not by ours, which may run ahead of or behind the CRM's."""
        ...
