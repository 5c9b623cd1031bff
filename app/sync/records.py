"""Normalized connector records -> database rows, one small function per kind."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from app.members.emails import normalize_domain, normalize_email
from app.models import Account, AccountLink, Contact, Lead, Opportunity, OpportunityContact
from app.models.base import Base
from app.money import exponent
from connectors.base import (
    AccountLinkRecord,
    AccountRecord,
    ContactRecord,
    LeadRecord,
    OpportunityContactRecord,
    OpportunityRecord,
    Record,
    RecordKind,
)

Refs = Mapping[str, Mapping[str, int]]  # referenced model name -> external_id -> id


def _minor_units(amount: Decimal | None, currency: str) -> int | None:
    """CRM amounts can carry more decimals than the currency: round half up to minor units."""
    if amount is None:
        return None
    return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _ref(refs: Refs, model: str, external_id: str | None) -> int | None:
    return None if external_id is None else refs[model].get(external_id)


def account_row(record: Record, _refs: Refs) -> dict[str, Any]:
    assert isinstance(record, AccountRecord)
    return {
        "name": record.name,
        "domain": normalize_domain(record.domain),
        "employees": record.employees,
        "annual_revenue": None if record.annual_revenue is None else int(record.annual_revenue),
    }


def contact_row(record: Record, refs: Refs) -> dict[str, Any]:
    assert isinstance(record, ContactRecord)
    return {
        "account_id": _ref(refs, "account", record.account_external_id),
        "name": record.name,
        "email": record.email,
        "email_normalized": normalize_email(record.email),
        "created_at": record.created_at,
    }


def lead_row(record: Record, refs: Refs) -> dict[str, Any]:
    assert isinstance(record, LeadRecord)
    return {
        "name": record.name,
        "company": record.company,
        "email": record.email,
        "email_normalized": normalize_email(record.email),
        "created_at": record.created_at,
        "converted_contact_id": _ref(refs, "contact", record.converted_contact_external_id),
        "converted_at": record.converted_at,
    }


def opportunity_row(record: Record, refs: Refs) -> dict[str, Any]:
    assert isinstance(record, OpportunityRecord)
    return {
        "account_id": _ref(refs, "account", record.account_external_id),
        "name": record.name,
        "type": record.type,
        "stage_name": record.stage_name,
        "pipeline": record.pipeline,
        "is_closed": record.is_closed,
        "is_won": record.is_won,
        "amount": _minor_units(record.amount, record.currency),
        "currency": record.currency,
        "created_at": record.created_at,
        "close_date": record.close_date,
    }


def opportunity_contact_row(record: Record, refs: Refs) -> dict[str, Any] | None:
    """None when either side is unknown here: the role cannot be stored without both."""
    assert isinstance(record, OpportunityContactRecord)
    opportunity_id = _ref(refs, "opportunity", record.opportunity_external_id)
    contact_id = _ref(refs, "contact", record.contact_external_id)
    if opportunity_id is None or contact_id is None:
        return None
    return {
        "opportunity_id": opportunity_id,
        "contact_id": contact_id,
        "role": record.role,
        "is_primary": record.is_primary,
    }


def account_link_row(record: Record, refs: Refs) -> dict[str, Any] | None:
    """None when the account or the linked record is unknown here."""
    assert isinstance(record, AccountLinkRecord)
    account_id = _ref(refs, "account", record.account_external_id)
    linked = _ref(refs, record.object_kind, record.object_external_id)
    if account_id is None or linked is None:
        return None
    return {
        "account_id": account_id,
        "contact_id": linked if record.object_kind == "contact" else None,
        "opportunity_id": linked if record.object_kind == "opportunity" else None,
        "is_primary": record.is_primary,
        "role": record.role,
    }


@dataclass(frozen=True)
class Spec:
    model: type[Base]
    to_row: Callable[[Record, Refs], dict[str, Any] | None]
    references: tuple[str, ...]


SPECS: dict[RecordKind, Spec] = {
    RecordKind.ACCOUNT: Spec(Account, account_row, ()),
    RecordKind.CONTACT: Spec(Contact, contact_row, ("account",)),
    RecordKind.LEAD: Spec(Lead, lead_row, ("contact",)),
    RecordKind.OPPORTUNITY: Spec(Opportunity, opportunity_row, ("account",)),
    RecordKind.OPPORTUNITY_CONTACT: Spec(
        OpportunityContact, opportunity_contact_row, ("opportunity", "contact")
    ),
    RecordKind.ACCOUNT_LINK: Spec(
        AccountLink, account_link_row, ("account", "contact", "opportunity")
    ),
}

REFERENCE_MODELS: dict[str, type[Base]] = {
    "account": Account,
    "contact": Contact,
    "opportunity": Opportunity,
    "lead": Lead,
}


def stored_row(
    record: Record, content: dict[str, Any], *, workspace_id: int, source: str, now: datetime
) -> dict[str, Any]:
    return {
        **content,
        "workspace_id": workspace_id,
        "source": source,
        "external_id": record.external_id,
        "properties": dict(record.properties),
        "synced_at": now,
        "deleted_at": record.modified_at if record.deleted else None,
        "merged_into": record.merged_into,
    }
