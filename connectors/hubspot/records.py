"""HubSpot records -> the connector's normalized records, one small function per kind.

HubSpot returns every property as a string (or null): datetimes as ISO-8601 in UTC (older
properties as epoch milliseconds), numbers as decimal strings, multi-values joined by ``;``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import (
    AccountLinkRecord,
    AccountRecord,
    CampaignTouchRecord,
    ContactRecord,
    FieldMapping,
    OpportunityContactRecord,
    OpportunityRecord,
    Record,
    RecordKind,
)
from connectors.errors import FatalError
from connectors.hubspot.client import (
    Associated,
    FormSubmission,
    HubSpotObject,
    Participation,
    Stage,
)

MERGED_IDS = "hs_merged_object_ids"
ADDITIONAL_EMAILS = "hs_additional_emails"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


def parse_time(value: str) -> datetime:
    if value.isdigit():
        return _EPOCH + int(value) * _MILLISECOND
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """Cursors may come back from storage naive; they are UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def epoch_ms(moment: datetime) -> int:
    """Search filters compare datetimes as epoch milliseconds."""
    return (as_utc(moment) - _EPOCH) // _MILLISECOND


def modified_at(item: HubSpotObject, cursor_property: str) -> datetime:
    value = _text(item, cursor_property)
    if value is None:
        raise FatalError(f"HubSpot record {item.id} has no {cursor_property}")
    return parse_time(value)


def order_key(record: Record) -> tuple[datetime, int]:
    """Cursor order: timestamp, then the numeric HubSpot id (junction ids: the deal's id)."""
    return record.modified_at, int(record.external_id.split(":", 1)[0])


def _text(item: HubSpotObject, name: str) -> str | None:
    value = item.properties.get(name)
    return value if value not in (None, "") else None


def _decimal(item: HubSpotObject, name: str) -> Decimal | None:
    value = _text(item, name)
    try:
        return Decimal(value) if value is not None else None
    except InvalidOperation:
        return None


def _time(item: HubSpotObject, name: str) -> datetime | None:
    value = _text(item, name)
    return parse_time(value) if value is not None else None


def extra_properties(
    item: HubSpotObject, mapping: FieldMapping, kind: RecordKind
) -> dict[str, Any]:
    return {name: item.properties.get(name) for name in mapping.extra_fields.get(kind, ())}


def merged_ids(item: HubSpotObject) -> list[str]:
    """The ids merged into this record: ``hs_merged_object_ids`` is a ``;``-joined list."""
    value = _text(item, MERGED_IDS) or ""
    return [part.strip() for part in value.split(";") if part.strip().isdigit()]


def merged_losers(survivor: Record, item: HubSpotObject) -> list[Record]:
    """Each merged-away id as a deletion pointing at the survivor. HubSpot keeps nothing of the
    losers but a redirect to the survivor, so they carry the survivor's fields."""
    return [
        replace(survivor, external_id=loser, deleted=True, merged_into=survivor.external_id)
        for loser in merged_ids(item)
        if loser != survivor.external_id
    ]


def account(
    item: HubSpotObject, mapping: FieldMapping, *, modified_at: datetime, deleted: bool
) -> AccountRecord:
    employees = _decimal(item, "numberofemployees")
    return AccountRecord(
        external_id=item.id,
        modified_at=modified_at,
        deleted=deleted,
        properties=extra_properties(item, mapping, RecordKind.ACCOUNT),
        name=_text(item, "name") or "",
        domain=_text(item, "domain"),
        employees=int(employees) if employees is not None else None,
        annual_revenue=_decimal(item, "annualrevenue"),
    )


def contact(
    item: HubSpotObject, mapping: FieldMapping, *, modified_at: datetime, deleted: bool
) -> ContactRecord:
    """The account is ``associatedcompanyid``: HubSpot keeps it equal to the contact's primary
    company association."""
    names = [_text(item, "firstname"), _text(item, "lastname")]
    return ContactRecord(
        external_id=item.id,
        modified_at=modified_at,
        deleted=deleted,
        properties=extra_properties(item, mapping, RecordKind.CONTACT),
        created_at=_time(item, "createdate") or modified_at,
        account_external_id=_text(item, "associatedcompanyid"),
        name=" ".join(name for name in names if name) or None,
        email=_text(item, "email"),
        additional_emails=_listed(item, ADDITIONAL_EMAILS),
    )


def _listed(item: HubSpotObject, name: str) -> tuple[str, ...]:
    """A multi-value property: values joined by ``;``."""
    value = _text(item, name) or ""
    return tuple(dict.fromkeys(part.strip() for part in value.split(";") if part.strip()))


def opportunity(
    item: HubSpotObject,
    mapping: FieldMapping,
    *,
    modified_at: datetime,
    deleted: bool,
    stages: Mapping[tuple[str, str], Stage],
    account_id: str | None,
    default_currency: str,
) -> OpportunityRecord:
    """A deal: closed/won come from its stage's pipeline metadata; ``closedate`` (a UTC
    timestamp HubSpot sets to the chosen day) becomes that day."""
    pipeline_id = _text(item, "pipeline")
    stage_id = _text(item, "dealstage")
    stage = stages.get((pipeline_id or "", stage_id or ""))
    close = _time(item, "closedate")
    return OpportunityRecord(
        external_id=item.id,
        modified_at=modified_at,
        deleted=deleted,
        properties=extra_properties(item, mapping, RecordKind.OPPORTUNITY),
        created_at=_time(item, "createdate") or modified_at,
        currency=(_text(item, "deal_currency_code") or default_currency).upper(),
        is_closed=stage.is_closed if stage else False,
        is_won=stage.is_won if stage else False,
        name=_text(item, "dealname"),
        account_external_id=account_id,
        type=mapping.opportunity_type(_text(item, "dealtype")),
        stage_name=stage.label if stage else stage_id,
        pipeline=stage.pipeline_label if stage else pipeline_id,
        amount=_decimal(item, mapping.amount_field or "amount"),
        close_date=close.date() if close else None,
    )


def primary_company(companies: Sequence[Associated]) -> str | None:
    """A deal's account: the company associated as Primary, else the lowest company id."""
    for company in companies:
        if "Primary" in company.labels:
            return company.to_id
    ids = sorted((company.to_id for company in companies), key=int)
    return ids[0] if ids else None


def opportunity_contacts(
    deal_id: str, contacts: Sequence[Associated], *, modified_at: datetime
) -> list[OpportunityContactRecord]:
    """A deal's contacts; the role is the association's label, when it has one."""
    records = [
        OpportunityContactRecord(
            external_id=f"{deal_id}:{associated.to_id}",
            modified_at=modified_at,
            opportunity_external_id=deal_id,
            contact_external_id=associated.to_id,
            role=next((label for label in associated.labels if label), None),
        )
        for associated in contacts
    ]
    return sorted(records, key=lambda record: int(record.contact_external_id))


def account_links(
    company_id: str, object_kind: str, associated: Sequence[Associated], *, modified_at: datetime
) -> list[AccountLinkRecord]:
    """A company's contacts or deals; ``is_primary`` when the association carries HubSpot's
    "Primary" label (company to contact type 2, company to deal type 6)."""
    return [
        AccountLinkRecord(
            external_id=f"{object_kind}:{item.to_id}:{company_id}",
            modified_at=modified_at,
            object_kind=object_kind,
            object_external_id=item.to_id,
            account_external_id=company_id,
            is_primary="Primary" in item.labels,
            role=next((label for label in item.labels if label and label != "Primary"), None),
        )
        for item in associated
    ]


def event_touch_id(item: Participation) -> str:
    return f"event-participation:{item.id}"


def event_touch(item: Participation, mapping: FieldMapping) -> CampaignTouchRecord:
    """A marketing event participation as a campaign touch of its contact."""
    return CampaignTouchRecord(
        external_id=event_touch_id(item),
        modified_at=item.occurred_at,
        properties={"state": item.state},
        occurred_at=item.occurred_at,
        activity_type=mapping.marketing_activity_type(item.state),
        contact_external_id=item.contact_id,
        campaign_external_id=item.event_id,
        campaign_name=item.event_name,
    )


def form_touch_id(item: FormSubmission) -> str:
    return f"form-submission:{item.id}"


def form_touch(item: FormSubmission, mapping: FieldMapping) -> CampaignTouchRecord:
    """A form submission as a campaign touch of the contact with its email."""
    return CampaignTouchRecord(
        external_id=form_touch_id(item),
        modified_at=item.submitted_at,
        properties={"page_url": item.page_url},
        occurred_at=item.submitted_at,
        activity_type=mapping.marketing_activity_type("form_submission"),
        campaign_external_id=item.form_id,
        email=item.email,
    )
