from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from app.models import ActivityType, CreditRollup, Program, Touchpoint


def activity_type(session: Session, workspace_id: int, key: str) -> ActivityType | None:
    return session.scalar(
        select(ActivityType).where(
            ActivityType.workspace_id == workspace_id, ActivityType.key == key
        )
    )


def activity_types(session: Session, workspace_id: int) -> Sequence[ActivityType]:
    return session.scalars(
        select(ActivityType)
        .where(ActivityType.workspace_id == workspace_id)
        .order_by(ActivityType.key)
    ).all()


def insert_activity_types(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(insert(ActivityType), rows)


def program(session: Session, workspace_id: int, key: str) -> Program | None:
    return session.scalar(
        select(Program).where(Program.workspace_id == workspace_id, Program.key == key)
    )


def programs(session: Session, workspace_id: int) -> Sequence[Program]:
    return session.scalars(
        select(Program).where(Program.workspace_id == workspace_id).order_by(Program.key)
    ).all()


def activity_type_ids(session: Session, workspace_id: int, keys: Iterable[str]) -> dict[str, int]:
    rows = session.execute(
        select(ActivityType.key, ActivityType.id).where(
            ActivityType.workspace_id == workspace_id, ActivityType.key.in_(set(keys))
        )
    )
    return {key: id_ for key, id_ in rows}


def program_ids(session: Session, workspace_id: int, keys: Iterable[str]) -> dict[str, int]:
    rows = session.execute(
        select(Program.key, Program.id).where(
            Program.workspace_id == workspace_id, Program.key.in_(set(keys))
        )
    )
    return {key: id_ for key, id_ in rows}


def uses(session: Session, workspace_id: int, column: str, id_: int) -> tuple[int, int]:
    """(touchpoints, attribution runs) that refer to this activity type or program."""
    touches = session.scalar(
        select(func.count())
        .select_from(Touchpoint)
        .where(Touchpoint.workspace_id == workspace_id, getattr(Touchpoint, column) == id_)
    )
    runs = session.scalar(
        select(func.count(func.distinct(CreditRollup.run_id))).where(
            CreditRollup.workspace_id == workspace_id, getattr(CreditRollup, column) == id_
        )
    )
    return int(touches or 0), int(runs or 0)
