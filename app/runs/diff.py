"""What changed between two runs, per opportunity, and why (DESIGN.md: runs are snapshots)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AttributionRun, Credit, Opportunity, RunOpportunity, Touchpoint
from app.runs.schemas import OpportunityDiff, RunDiff

CRM_FIELDS = (
    "amount",
    "currency",
    "stage_name",
    "type",
    "is_closed",
    "is_won",
    "created_at",
    "closed_at",
    "account_id",
)
FLAG_FIELDS = ("pipeline_influenced", "revenue_influenced", "sourced", "accelerated")
CREDIT_FIELDS = ("pipeline_attributed", "revenue_attributed")


def _snapshots(session: Session, run_id: int) -> dict[int, RunOpportunity]:
    rows = session.scalars(select(RunOpportunity).where(RunOpportunity.run_id == run_id))
    return {row.opportunity_id: row for row in rows}


def _touch_sets(session: Session, run_id: int) -> dict[int, set[int]]:
    touches: dict[int, set[int]] = defaultdict(set)
    rows = session.execute(
        select(Credit.opportunity_id, Credit.touchpoint_id).where(Credit.run_id == run_id)
    )
    for opportunity_id, touchpoint_id in rows:
        touches[opportunity_id].add(touchpoint_id)
    return touches


def _touch_reasons(
    session: Session, added: set[int], removed: set[int], earlier: AttributionRun
) -> list[str]:
    """A touch new to the later run arrived after the earlier run (new_touches), or existed
    already and now reaches the opportunity through a new member or contact link (identity_links)."""
    reasons = []
    if added:
        received = session.scalars(select(Touchpoint.received_at).where(Touchpoint.id.in_(added)))
        arrived_later = [at > earlier.as_of for at in received]
        if any(arrived_later):
            reasons.append("new_touches")
        if not all(arrived_later):
            reasons.append("identity_links")
    if removed:
        reasons.append("removed_touches")
    return reasons


def diff(session: Session, *, earlier: AttributionRun, later: AttributionRun) -> RunDiff:
    keys = set(earlier.parameters) | set(later.parameters)
    parameters = {
        k: [earlier.parameters.get(k), later.parameters.get(k)]
        for k in sorted(keys)
        if earlier.parameters.get(k) != later.parameters.get(k)
    }
    before, after = _snapshots(session, earlier.id), _snapshots(session, later.id)
    touches_before, touches_after = _touch_sets(session, earlier.id), _touch_sets(session, later.id)
    changes: list[tuple[int, dict[str, Any]]] = []
    for opportunity_id in sorted(before.keys() | after.keys()):
        a, b = before.get(opportunity_id), after.get(opportunity_id)
        flags = [f for f in FLAG_FIELDS if a and b and getattr(a, f) != getattr(b, f)]
        credit_moved = (
            a is None or b is None or any(getattr(a, f) != getattr(b, f) for f in CREDIT_FIELDS)
        )
        if not flags and not credit_moved:
            continue
        reasons = ["parameters"] if parameters else []
        if a is None:
            reasons.append("new_opportunity")
        elif b is None:
            reasons.append("removed_opportunity")
        else:
            reasons += [f"crm_change:{f}" for f in CRM_FIELDS if getattr(a, f) != getattr(b, f)]
            old, new = (
                touches_before.get(opportunity_id, set()),
                touches_after.get(opportunity_id, set()),
            )
            reasons += _touch_reasons(session, new - old, old - new, earlier)
        changes.append((opportunity_id, {"a": a, "b": b, "flags": flags, "reasons": reasons}))
    names = dict(
        (row.id, (row.source, row.external_id))
        for row in session.execute(
            select(Opportunity.id, Opportunity.source, Opportunity.external_id).where(
                Opportunity.id.in_([opportunity_id for opportunity_id, _ in changes])
            )
        )
    )
    return RunDiff(
        run_a=earlier.id,
        run_b=later.id,
        parameters_changed=parameters,
        opportunities=[_opportunity_diff(names[o], change) for o, change in changes if o in names],
    )


def _opportunity_diff(name: tuple[str, str], change: dict[str, Any]) -> OpportunityDiff:
    a, b = change["a"], change["b"]
    return OpportunityDiff(
        source=name[0],
        external_id=name[1],
        currency=(b or a).currency,
        pipeline_attributed_before=a.pipeline_attributed if a else None,
        pipeline_attributed_after=b.pipeline_attributed if b else None,
        revenue_attributed_before=a.revenue_attributed if a else None,
        revenue_attributed_after=b.revenue_attributed if b else None,
        flags_changed=change["flags"],
        reasons=change["reasons"],
    )
