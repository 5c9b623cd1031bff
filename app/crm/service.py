"""The CRM file import: every reference checked first, then all records written in one transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from itertools import pairwise
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from app.crm import repository
from app.crm.schemas import CrmImport, ExchangeRateIn, ImportCounts
from app.exceptions import InvalidInput
from app.members.emails import normalize_domain, normalize_email
from app.members.service import resolve_for_crm_changes
from app.models import Account, Contact, Lead, Opportunity, OpportunityContact, Workspace
from app.money import to_minor_units
from app.privacy import service as privacy
from app.touchpoints import service as touchpoints
from app.touchpoints.schemas import PersonRef, TouchpointIn


def record_count(body: CrmImport) -> int:
    """How many records one import holds, over every kind."""
    return sum(
        len(part)
        for part in (
            body.accounts,
            body.contacts,
            body.leads,
            body.opportunities,
            body.contact_roles,
            body.campaign_members,
            body.exchange_rates,
        )
    )


def import_records(
    session: Session, *, workspace: Workspace, body: CrmImport, now: datetime
) -> ImportCounts:
    body = privacy.without_erased_people(session, workspace, body)
    source = body.source
    ids = {
        model: repository.existing_ids(session, model, workspace_id=workspace.id, source=source)
        for model in (Account, Contact, Lead, Opportunity)
    }
    _check_references(body, ids)
    _check_exchange_rates(session, workspace, body.exchange_rates)
    amounts = _minor_amounts(body)
    base = {"workspace_id": workspace.id, "source": source, "synced_at": now, "deleted_at": None}

    accounts = repository.write(
        session,
        Account,
        [
            {
                **base,
                "external_id": a.external_id,
                "name": a.name,
                "domain": normalize_domain(a.domain),
                "employees": a.employees,
                "annual_revenue": None if a.annual_revenue is None else int(a.annual_revenue),
                "properties": a.properties,
            }
            for a in body.accounts
        ],
        workspace_id=workspace.id,
        source=source,
    )
    contacts = repository.write(
        session,
        Contact,
        [
            {
                **base,
                "external_id": c.external_id,
                "account_id": accounts[c.account] if c.account else None,
                "name": c.name,
                "email": c.email,
                "email_normalized": normalize_email(c.email),
                "created_at": c.created_at,
                "properties": c.properties,
            }
            for c in body.contacts
        ],
        workspace_id=workspace.id,
        source=source,
    )
    leads = repository.write(
        session,
        Lead,
        [
            {
                **base,
                "external_id": lead.external_id,
                "name": lead.name,
                "company": lead.company,
                "email": lead.email,
                "email_normalized": normalize_email(lead.email),
                "created_at": lead.created_at,
                "converted_contact_id": contacts[lead.converted_contact]
                if lead.converted_contact
                else None,
                "converted_at": lead.converted_at,
                "properties": lead.properties,
            }
            for lead in body.leads
        ],
        workspace_id=workspace.id,
        source=source,
    )
    opportunities = repository.write(
        session,
        Opportunity,
        [
            {
                **base,
                "external_id": o.external_id,
                "name": o.name,
                "account_id": accounts[o.account] if o.account else None,
                "type": o.type,
                "stage_name": o.stage_name,
                "pipeline": o.pipeline,
                "is_closed": o.is_closed,
                "is_won": o.is_won,
                "amount": amount,
                "currency": o.currency,
                "created_at": o.created_at,
                "close_date": o.close_date,
                "properties": o.properties,
            }
            for o, amount in zip(body.opportunities, amounts, strict=True)
        ],
        workspace_id=workspace.id,
        source=source,
    )
    repository.write(
        session,
        OpportunityContact,
        [
            {
                **base,
                "external_id": r.external_id,
                "opportunity_id": opportunities[r.opportunity],
                "contact_id": contacts[r.contact],
                "role": r.role,
                "is_primary": r.is_primary,
                "properties": {},
            }
            for r in body.contact_roles
        ],
        workspace_id=workspace.id,
        source=source,
    )
    _write_exchange_rates(session, workspace, body.exchange_rates)
    session.flush()
    resolution = resolve_for_crm_changes(
        session,
        workspace=workspace,
        contact_ids=[contacts[c.external_id] for c in body.contacts],
        lead_ids=[leads[lead.external_id] for lead in body.leads],
        account_ids=[accounts[a.external_id] for a in body.accounts],
    )
    campaign = (
        touchpoints.ingest(
            session,
            workspace=workspace,
            touchpoints=_campaign_touchpoints(body),
            now=now,
            loc=("body", "campaign_members"),
        )
        if body.campaign_members
        else None
    )
    return ImportCounts(
        accounts=len(body.accounts),
        contacts=len(body.contacts),
        leads=len(body.leads),
        opportunities=len(body.opportunities),
        contact_roles=len(body.contact_roles),
        campaign_members=campaign.stored if campaign else 0,
        exchange_rates=len(body.exchange_rates),
        members_resolved=resolution.members,
    )


def load_exchange_rates(
    session: Session, *, workspace: Workspace, rates: list[ExchangeRateIn]
) -> list[ExchangeRateIn]:
    """Upsert dated rates by (currency, valid_from); the result may have no overlaps."""
    _check_exchange_rates(session, workspace, rates, loc=("body", "rates"))
    _write_exchange_rates(session, workspace, rates)
    return exchange_rates(session, workspace=workspace)


def exchange_rates(session: Session, *, workspace: Workspace) -> list[ExchangeRateIn]:
    return [
        ExchangeRateIn(
            currency=r.currency,
            to=workspace.reporting_currency,
            rate=r.rate,
            valid_from=r.valid_from,
            valid_to=r.valid_to,
        )
        for r in repository.exchange_rates(session, workspace.id)
    ]


def _write_exchange_rates(
    session: Session, workspace: Workspace, rates: list[ExchangeRateIn]
) -> None:
    repository.write_exchange_rates(
        session,
        [
            {
                "workspace_id": workspace.id,
                "currency": r.currency,
                "rate": r.rate,
                "valid_from": r.valid_from,
                "valid_to": r.valid_to,
            }
            for r in rates
        ],
    )


def _campaign_touchpoints(body: CrmImport) -> list[TouchpointIn]:
    return [
        TouchpointIn(
            source=body.source,
            external_id=m.external_id,
            activity_type=m.activity_type,
            occurred_at=m.occurred_at,
            person=PersonRef(
                type="contact" if m.contact else "lead",
                external_id=m.contact or m.lead or "",
            ),
            program=m.program,
            properties={"campaign": m.campaign} if m.campaign else {},
        )
        for m in body.campaign_members
    ]


def _require(
    known: Iterable[str], value: str | None, loc: tuple[str | int, ...], what: str
) -> None:
    if value is not None and value not in known:
        raise InvalidInput.at(loc, f"unknown {what} '{value}'")


def _check_references(body: CrmImport, ids: dict[Any, dict[str, int]]) -> None:
    accounts = ids[Account].keys() | {a.external_id for a in body.accounts}
    contacts = ids[Contact].keys() | {c.external_id for c in body.contacts}
    opportunities = ids[Opportunity].keys() | {o.external_id for o in body.opportunities}
    leads = ids[Lead].keys() | {lead.external_id for lead in body.leads}
    for row, contact in enumerate(body.contacts):
        _require(accounts, contact.account, ("body", "contacts", row, "account"), "account")
    for row, lead in enumerate(body.leads):
        _require(
            contacts, lead.converted_contact, ("body", "leads", row, "converted_contact"), "contact"
        )
    for row, opportunity in enumerate(body.opportunities):
        _require(
            accounts, opportunity.account, ("body", "opportunities", row, "account"), "account"
        )
    for row, role in enumerate(body.contact_roles):
        _require(
            opportunities,
            role.opportunity,
            ("body", "contact_roles", row, "opportunity"),
            "opportunity",
        )
        _require(contacts, role.contact, ("body", "contact_roles", row, "contact"), "contact")
    for row, member in enumerate(body.campaign_members):
        _require(contacts, member.contact, ("body", "campaign_members", row, "contact"), "contact")
        _require(leads, member.lead, ("body", "campaign_members", row, "lead"), "lead")


def _minor_amounts(body: CrmImport) -> list[int | None]:
    amounts: list[int | None] = []
    for row, opportunity in enumerate(body.opportunities):
        if opportunity.amount is None:
            amounts.append(None)
            continue
        try:
            amounts.append(to_minor_units(opportunity.amount, opportunity.currency))
        except ValueError as error:
            raise InvalidInput.at(("body", "opportunities", row, "amount"), str(error)) from error
    return amounts


class _Span(NamedTuple):
    valid_from: date
    valid_to: date
    row: int | None  # the request row, or None for a stored rate


def _check_exchange_rates(
    session: Session,
    workspace: Workspace,
    rates: list[ExchangeRateIn],
    loc: tuple[str, ...] = ("body", "exchange_rates"),
) -> None:
    """Rates convert to the reporting currency, and one currency's date ranges never overlap."""
    spans: dict[str, dict[date, _Span]] = defaultdict(dict)
    for stored in repository.exchange_rates(session, workspace.id):
        spans[stored.currency][stored.valid_from] = _Span(stored.valid_from, stored.valid_to, None)
    for row, rate in enumerate(rates):
        if rate.to != workspace.reporting_currency:
            raise InvalidInput.at(
                (*loc, row, "to"),
                f"rates must convert to the reporting currency {workspace.reporting_currency}",
            )
        spans[rate.currency][rate.valid_from] = _Span(rate.valid_from, rate.valid_to, row)
    for by_start in spans.values():
        ordered = sorted(by_start.values())
        for before, after in pairwise(ordered):
            if after.valid_from <= before.valid_to:
                culprit = after.row if after.row is not None else before.row
                raise InvalidInput.at(
                    (*loc, culprit or 0, "valid_from"),
                    f"overlaps the rate valid from {before.valid_from} to {before.valid_to}",
                )
