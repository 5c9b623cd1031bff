"""Salesforce rows (REST JSON or Bulk CSV, already shaped alike) -> normalized records.

Every id and reference leaves here in its 18-character, case-insensitive form: Salesforce accepts
both forms, but a store keyed by external id must see one spelling per record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from connectors.base import (
    AccountLinkRecord,
    AccountRecord,
    CampaignTouchRecord,
    ContactRecord,
    FieldMapping,
    LeadRecord,
    OpportunityContactRecord,
    OpportunityRecord,
    Record,
)
from connectors.errors import FatalError

Row = Mapping[str, Any]

_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def to_18(salesforce_id: str) -> str:
    """The case-insensitive 18-character form of an id: each 5-character chunk of the 15-character
    id contributes one suffix character whose bits mark the chunk's upper-case letters."""
    if len(salesforce_id) == 18:
        return salesforce_id
    if len(salesforce_id) != 15 or not salesforce_id.isalnum():
        raise FatalError(f"not a Salesforce id: {salesforce_id!r}")
    suffix = ""
    for start in (0, 5, 10):
        chunk = salesforce_id[start : start + 5]
        bits = sum(1 << position for position, char in enumerate(chunk) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return salesforce_id + suffix


def optional_id(value: Any) -> str | None:
    return to_18(str(value)) if value else None


def parse_datetime(value: Any) -> datetime:
    """REST sends ``2025-01-01T00:00:00.000+0000``, Bulk CSV ``...000Z``; both are UTC."""
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def optional_datetime(value: Any) -> datetime | None:
    return parse_datetime(value) if value else None


def optional_date(value: Any) -> date | None:
    return date.fromisoformat(str(value)[:10]) if value else None


def start_of_day(value: Any) -> datetime | None:
    """A date-only field (FirstRespondedDate, ConvertedDate) as the first instant of that UTC day:
    the connector knows no workspace time zone, and the earliest instant never moves a touch later
    than it happened."""
    day = optional_date(value)
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def optional_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation as error:
        raise FatalError(f"not a number: {value!r}") from error


def optional_int(value: Any) -> int | None:
    number = optional_decimal(value)
    return int(number) if number is not None else None


def boolean(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def website_domain(website: Any) -> str | None:
    """``https://www.Example.com/about`` -> ``example.com``: the domain member resolution matches."""
    raw = text(website)
    if raw is None:
        return None
    host = urlsplit(raw if "//" in raw else f"//{raw}").hostname or ""
    host = host.removeprefix("www.")
    return host or None


def field_value(row: Row, path: str) -> Any:
    """A field of the row; a dotted path follows a relationship (``Campaign.Name``)."""
    value: Any = row
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


class RecordBuilder:
    """Builds the normalized record of one object's rows under one connection's field mapping."""

    def __init__(
        self,
        convert: Callable[[RecordBuilder, Row], Record],
        *,
        mapping: FieldMapping,
        extra_fields: Sequence[str],
        default_currency: str = "USD",
    ) -> None:
        self._convert = convert
        self.mapping = mapping
        self.extra_fields = tuple(extra_fields)
        self.default_currency = default_currency

    def __call__(self, row: Row) -> Record:
        return self._convert(self, row)

    def common(self, row: Row) -> dict[str, Any]:
        """The Record fields every object shares."""
        return {
            "external_id": to_18(str(row["Id"])),
            "modified_at": parse_datetime(row["SystemModstamp"]),
            "deleted": boolean(row.get("IsDeleted")),
            "merged_into": optional_id(row.get("MasterRecordId")),
            "properties": {name: field_value(row, name) for name in self.extra_fields},
        }


def account(builder: RecordBuilder, row: Row) -> Record:
    return AccountRecord(
        **builder.common(row),
        name=text(row.get("Name")) or "",
        domain=website_domain(row.get("Website")),
        employees=optional_int(row.get("NumberOfEmployees")),
        annual_revenue=optional_decimal(row.get("AnnualRevenue")),
    )


def contact(builder: RecordBuilder, row: Row) -> Record:
    return ContactRecord(
        **builder.common(row),
        created_at=parse_datetime(row["CreatedDate"]),
        account_external_id=optional_id(row.get("AccountId")),
        name=text(row.get("Name")),
        email=text(row.get("Email")),
    )


def lead(builder: RecordBuilder, row: Row) -> Record:
    converted = boolean(row.get("IsConverted"))
    return LeadRecord(
        **builder.common(row),
        created_at=parse_datetime(row["CreatedDate"]),
        name=text(row.get("Name")),
        company=text(row.get("Company")),
        email=text(row.get("Email")),
        converted_contact_external_id=(
            optional_id(row.get("ConvertedContactId")) if converted else None
        ),
        converted_at=start_of_day(row.get("ConvertedDate")) if converted else None,
    )


def opportunity(builder: RecordBuilder, row: Row) -> Record:
    amount_field = builder.mapping.amount_field or "Amount"
    return OpportunityRecord(
        **builder.common(row),
        created_at=parse_datetime(row["CreatedDate"]),
        currency=text(row.get("CurrencyIsoCode")) or builder.default_currency,
        is_closed=boolean(row.get("IsClosed")),
        is_won=boolean(row.get("IsWon")),
        name=text(row.get("Name")),
        account_external_id=optional_id(row.get("AccountId")),
        type=builder.mapping.opportunity_type(text(row.get("Type"))),
        stage_name=text(row.get("StageName")),
        amount=optional_decimal(field_value(row, amount_field)),
        close_date=optional_date(row.get("CloseDate")),
    )


def opportunity_contact(builder: RecordBuilder, row: Row) -> Record:
    return OpportunityContactRecord(
        **builder.common(row),
        opportunity_external_id=to_18(str(row["OpportunityId"])),
        contact_external_id=to_18(str(row["ContactId"])),
        role=text(row.get("Role")),
        is_primary=boolean(row.get("IsPrimary")),
    )


def account_contact_relation(builder: RecordBuilder, row: Row) -> Record:
    """A contact related to an account (Contacts to Multiple Accounts); the direct relation is the
    contact's own AccountId, the others are indirect."""
    return AccountLinkRecord(
        **builder.common(row),
        object_kind="contact",
        object_external_id=to_18(str(row["ContactId"])),
        account_external_id=to_18(str(row["AccountId"])),
        is_primary=boolean(row.get("IsDirect")),
        role=text(row.get("Roles")),
    )


def campaign_touch(builder: RecordBuilder, row: Row) -> Record:
    """Status and HasResponded ride along in properties so the sync can tell responses apart."""
    common = builder.common(row)
    common["properties"] = {
        "Status": text(row.get("Status")),
        "HasResponded": boolean(row.get("HasResponded")),
        **common["properties"],
    }
    occurred_at = start_of_day(row.get("FirstRespondedDate")) or parse_datetime(row["CreatedDate"])
    return CampaignTouchRecord(
        **common,
        occurred_at=occurred_at,
        activity_type=builder.mapping.campaign_activity_type,
        contact_external_id=optional_id(row.get("ContactId")),
        lead_external_id=optional_id(row.get("LeadId")),
        campaign_external_id=optional_id(row.get("CampaignId")),
        campaign_name=text(field_value(row, "Campaign.Name")),
    )
