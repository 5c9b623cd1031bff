"""All SQL of erasure: finding a person's rows, deleting them, amending runs, the suppression list."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import case, delete, func, insert, literal, select, update
from sqlalchemy.orm import Session

from app.members.repository import chunks
from app.models import (
    AttributionRun,
    Contact,
    Credit,
    CreditRollup,
    Erasure,
    IdempotencyKey,
    ImportChunk,
    ImportJob,
    ImportRejection,
    Lead,
    ReportRollup,
    RunAmendment,
    RunOpportunity,
    Suppression,
    Touchpoint,
)


def suppressed_hashes(session: Session, workspace_id: int, hashes: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunks(hashes):
        found.update(
            session.scalars(
                select(Suppression.subject_hash).where(
                    Suppression.workspace_id == workspace_id,
                    Suppression.subject_hash.in_(chunk),
                )
            )
        )
    return found


def suppress(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(Suppression), rows)


def crm_people_by_email(
    session: Session, model: type[Contact] | type[Lead], workspace_id: int, emails: Iterable[str]
) -> list[tuple[int, str, str]]:
    """(id, source, external_id) of the records with these emails."""
    found: list[tuple[int, str, str]] = []
    for chunk in chunks(emails):
        found += [
            (id_, source, external_id)
            for id_, source, external_id in session.execute(
                select(model.id, model.source, model.external_id).where(
                    model.workspace_id == workspace_id, model.email_normalized.in_(chunk)
                )
            )
        ]
    return found


def touch_ids(
    session: Session,
    workspace_id: int,
    *,
    member_ids: Sequence[int],
    contact_ids: Sequence[int],
    lead_ids: Sequence[int],
) -> list[int]:
    found: list[int] = []
    for column, ids in (
        (Touchpoint.member_id, member_ids),
        (Touchpoint.contact_id, contact_ids),
        (Touchpoint.lead_id, lead_ids),
    ):
        for chunk in chunks(ids):
            found += session.scalars(
                select(Touchpoint.id).where(
                    Touchpoint.workspace_id == workspace_id, column.in_(chunk)
                )
            )
    return sorted(set(found))


def credited_opportunities(
    session: Session, workspace_id: int, touch_ids: Sequence[int]
) -> dict[int, dict[int, int]]:
    """run id -> opportunity id -> credits of these touches."""
    found: dict[int, dict[int, int]] = defaultdict(dict)
    for chunk in chunks(touch_ids):
        rows = session.execute(
            select(Credit.run_id, Credit.opportunity_id, func.count())
            .where(Credit.workspace_id == workspace_id, Credit.touchpoint_id.in_(chunk))
            .group_by(Credit.run_id, Credit.opportunity_id)
        )
        for run_id, opportunity_id, n in rows:
            found[run_id][opportunity_id] = found[run_id].get(opportunity_id, 0) + int(n)
    return found


def delete_rows(session: Session, model: Any, ids: Sequence[int]) -> None:
    for chunk in chunks(ids):
        session.execute(delete(model).where(model.id.in_(chunk)))


def delete_credits(session: Session, workspace_id: int, touch_ids: Sequence[int]) -> None:
    for chunk in chunks(touch_ids):
        session.execute(
            delete(Credit).where(
                Credit.workspace_id == workspace_id, Credit.touchpoint_id.in_(chunk)
            )
        )


def rebuild_credit_rollups(
    session: Session, workspace_id: int, run_id: int, opportunity_ids: Sequence[int]
) -> None:
    """The run's per-opportunity credit sums of these opportunities, from the credits left."""
    for chunk in chunks(opportunity_ids):
        session.execute(
            delete(CreditRollup).where(
                CreditRollup.run_id == run_id, CreditRollup.opportunity_id.in_(chunk)
            )
        )
        grouped = (
            select(
                literal(workspace_id),
                literal(run_id),
                Credit.stage,
                Credit.opportunity_id,
                Credit.activity_type_id,
                Credit.program_id,
                Credit.is_community,
                func.count(),
                func.sum(Credit.fraction),
                func.sum(Credit.amount),
            )
            .where(Credit.run_id == run_id, Credit.opportunity_id.in_(chunk))
            .group_by(
                Credit.stage,
                Credit.opportunity_id,
                Credit.activity_type_id,
                Credit.program_id,
                Credit.is_community,
            )
        )
        session.execute(
            insert(CreditRollup).from_select(
                [
                    "workspace_id",
                    "run_id",
                    "stage",
                    "opportunity_id",
                    "activity_type_id",
                    "program_id",
                    "is_community",
                    "touches",
                    "fraction",
                    "amount",
                ],
                grouped,
            )
        )


def refresh_attributed(session: Session, run_id: int, opportunity_ids: Sequence[int]) -> None:
    """The snapshot's community credit per stage, from the credits left."""
    for chunk in chunks(opportunity_ids):
        sums = session.execute(
            select(
                Credit.opportunity_id,
                *(
                    func.coalesce(
                        func.sum(case((Credit.stage == stage, Credit.amount), else_=0)), 0
                    )
                    for stage in ("pipeline", "revenue")
                ),
                *(
                    func.coalesce(
                        func.max(
                            case(((Credit.stage == stage) & (Credit.fraction > 0), 1), else_=0)
                        ),
                        0,
                    )
                    for stage in ("pipeline", "revenue")
                ),
            )
            .where(
                Credit.run_id == run_id,
                Credit.opportunity_id.in_(chunk),
                Credit.is_community.is_(True),
            )
            .group_by(Credit.opportunity_id)
        )
        found = {row[0]: row[1:] for row in sums}
        for opportunity_id in chunk:
            pipeline, revenue, pipeline_any, revenue_any = found.get(opportunity_id, (0, 0, 0, 0))
            session.execute(
                update(RunOpportunity)
                .where(
                    RunOpportunity.run_id == run_id,
                    RunOpportunity.opportunity_id == opportunity_id,
                )
                .values(
                    pipeline_attributed=int(pipeline),
                    revenue_attributed=int(revenue),
                    pipeline_attributed_any=bool(pipeline_any),
                    revenue_attributed_any=bool(revenue_any),
                )
            )


def delete_report_rollups(session: Session, run_id: int) -> None:
    session.execute(delete(ReportRollup).where(ReportRollup.run_id == run_id))


def runs(session: Session, run_ids: Iterable[int]) -> list[AttributionRun]:
    return list(
        session.scalars(select(AttributionRun).where(AttributionRun.id.in_(sorted(run_ids))))
    )


def add_amendments(session: Session, rows: list[dict[str, Any]]) -> None:
    if rows:
        session.execute(insert(RunAmendment), rows)


def erasures(session: Session, workspace_id: int, *, after: int, limit: int) -> list[Erasure]:
    return list(
        session.scalars(
            select(Erasure)
            .where(Erasure.workspace_id == workspace_id, Erasure.id > after)
            .order_by(Erasure.id)
            .limit(limit)
        )
    )


def amended_runs(session: Session, erasure_ids: Sequence[int]) -> dict[int, list[int]]:
    found: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks(erasure_ids):
        for erasure_id, run_id in session.execute(
            select(RunAmendment.erasure_id, RunAmendment.run_id)
            .where(RunAmendment.erasure_id.in_(chunk))
            .order_by(RunAmendment.run_id)
        ):
            found[erasure_id].append(run_id)
    return found


def forget_stored_answers(session: Session, workspace_id: int) -> None:
    """Answers kept for Idempotency-Key replays may quote the person: they are retry caches, so
    the workspace's finished ones are dropped (a retry then runs again, idempotently)."""
    session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.workspace_id == workspace_id, IdempotencyKey.state == "done"
        )
    )


def forget_import_traces(session: Session, workspace_id: int, needles: Iterable[str]) -> None:
    """Uploaded files of finished imports, and rejections quoting the person."""
    jobs = select(ImportJob.id).where(ImportJob.workspace_id == workspace_id)
    finished = jobs.where(ImportJob.status.in_(("succeeded", "failed")))
    session.execute(delete(ImportChunk).where(ImportChunk.import_id.in_(finished)))
    for needle in needles:
        session.execute(
            delete(ImportRejection).where(
                ImportRejection.import_id.in_(jobs),
                func.lower(ImportRejection.message).contains(needle.lower(), autoescape=True),
            )
        )
