"""The dashboard's own SQL: finding an opportunity by name or CRM id (no figure is computed here)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.models import Opportunity

SEARCH_LIMIT = 25


class Found(NamedTuple):
    id: int
    source: str
    external_id: str
    name: str | None


def find_opportunities(session: Session, workspace_id: int, text: str) -> Sequence[Found]:
    """Opportunities whose CRM id is ``text`` or whose name contains it (any case), by name."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = session.execute(
        select(Opportunity.id, Opportunity.source, Opportunity.external_id, Opportunity.name)
        .where(
            Opportunity.workspace_id == workspace_id,
            or_(
                Opportunity.external_id == text,
                func.lower(Opportunity.name).like(f"%{escaped}%", escape="\\"),
            ),
        )
        .order_by(Opportunity.name, Opportunity.id)
        .limit(SEARCH_LIMIT)
    ).all()
    return [Found(*row) for row in rows]
