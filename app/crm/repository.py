from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Account, Contact, ExchangeRate, Lead, Opportunity, OpportunityContact
from app.upsert import ids_by_external_id, upsert

SYNCED_KEY = ("workspace_id", "source", "external_id")


def write(
    session: Session,
    model: type[Account]
    | type[Contact]
    | type[Lead]
    | type[Opportunity]
    | type[OpportunityContact],
    rows: list[dict[str, object]],
    *,
    workspace_id: int,
    source: str,
) -> dict[str, int]:
    """Upsert the records (undeleting any that were deleted) and return every id of that source."""
    upsert(session, model, rows, key=SYNCED_KEY)
    return ids_by_external_id(session, model, workspace_id=workspace_id, source=source)


def existing_ids(
    session: Session,
    model: type[Account] | type[Contact] | type[Lead] | type[Opportunity],
    *,
    workspace_id: int,
    source: str,
) -> dict[str, int]:
    return ids_by_external_id(session, model, workspace_id=workspace_id, source=source)


def exchange_rates(session: Session, workspace_id: int) -> Sequence[ExchangeRate]:
    return session.scalars(
        select(ExchangeRate)
        .where(ExchangeRate.workspace_id == workspace_id)
        .order_by(ExchangeRate.currency, ExchangeRate.valid_from)
    ).all()


def write_exchange_rates(session: Session, rows: list[dict[str, object]]) -> None:
    upsert(session, ExchangeRate, rows, key=("workspace_id", "currency", "valid_from"))
