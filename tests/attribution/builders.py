"""Small builders of engine input frames for hand-written cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import polars as pl

from attribution import AttributionResult, JourneySettings, ModelSpec, attribute, prepare
from tests.attribution.golden_frames import OPPORTUNITY_SCHEMA, TOUCH_SCHEMA

T0 = datetime(2025, 1, 1, tzinfo=UTC)
AS_OF = datetime(2025, 12, 31, tzinfo=UTC)
SETTINGS = JourneySettings(as_of=AS_OF)

CATEGORY_OF = {
    "forum_question": "support",
    "forum_answer": "support",
    "beta_feedback": "product",
    "referral": "acquisition",
    "blog_post": "contribution",
    "meetup_attended": "engagement",
    "office_hours": "success",
    "webinar_attended": "marketing",
    "email_click": "marketing",
}


def at(days: float = 0.0, minutes: float = 0.0) -> datetime:
    return T0 + timedelta(days=days, minutes=minutes)


def touch(
    opportunity_id: int,
    touch_id: int,
    occurred_at: datetime,
    activity_type: str = "forum_question",
    *,
    source: str = "discourse",
    external_id: str | None = None,
    program: str | None = None,
    community: bool | None = None,
    staff: bool = False,
    person: str | None = None,
    weight: float = 1.0,
) -> dict[str, Any]:
    category = CATEGORY_OF[activity_type]
    return {
        "opportunity_id": opportunity_id,
        "touch_id": touch_id,
        "occurred_at": occurred_at,
        "source": source,
        "external_id": external_id if external_id is not None else f"x-{touch_id:05d}",
        "activity_type": activity_type,
        "category": category,
        "program": program,
        "is_community": (category != "marketing") if community is None else community,
        "is_staff": staff,
        "person": person if person is not None else f"member:p{touch_id}",
        "weight": weight,
    }


def opportunity(
    opportunity_id: int,
    amount: int | None,
    created_at: datetime,
    *,
    status: str = "won",
    closed_at: datetime | None = None,
    lead_created_at: datetime | None = None,
    value: float | None = None,
    unconverted: bool = False,
) -> dict[str, Any]:
    """An opportunity; its reporting-currency ``value`` is its amount unless given, or
    null (no exchange rate) when ``unconverted``."""
    closed = status in ("won", "lost")
    return {
        "opportunity_id": opportunity_id,
        "amount": amount,
        "created_at": created_at,
        "closed_at": (closed_at or created_at + timedelta(days=30)) if closed else None,
        "is_closed": closed,
        "is_won": status == "won",
        "lead_created_at": lead_created_at,
        "value": None if unconverted else (value if value is not None else amount),
    }


def frames(
    touches: list[dict[str, Any]], opportunities: list[dict[str, Any]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        pl.DataFrame(touches, schema=TOUCH_SCHEMA),
        pl.DataFrame(opportunities, schema=OPPORTUNITY_SCHEMA),
    )


def run(
    touches: list[dict[str, Any]],
    opportunities: list[dict[str, Any]],
    spec: ModelSpec | str,
    settings: JourneySettings = SETTINGS,
) -> AttributionResult:
    touch_frame, opportunity_frame = frames(touches, opportunities)
    if isinstance(spec, str):
        spec = ModelSpec(spec)
    return attribute(prepare(touch_frame, opportunity_frame, settings), spec)


@dataclass(frozen=True)
class Credit:
    touch_id: int
    fraction: float
    amount: int


def credits(result: AttributionResult, stage: str, opportunity_id: int) -> list[Credit]:
    rows = result.credits.filter(
        (pl.col("stage") == stage) & (pl.col("opportunity_id") == opportunity_id)
    )
    return [Credit(r["touch_id"], r["fraction"], r["amount"]) for r in rows.iter_rows(named=True)]


def fractions(result: AttributionResult, stage: str, opportunity_id: int) -> list[float]:
    return [c.fraction for c in credits(result, stage, opportunity_id)]


def amounts(result: AttributionResult, stage: str, opportunity_id: int) -> list[int]:
    return [c.amount for c in credits(result, stage, opportunity_id)]


def touch_ids(result: AttributionResult, stage: str, opportunity_id: int) -> list[int]:
    return [c.touch_id for c in credits(result, stage, opportunity_id)]


def flags(result: AttributionResult, opportunity_id: int) -> dict[str, Any]:
    rows = result.flags.filter(pl.col("opportunity_id") == opportunity_id)
    assert rows.height == 1
    return rows.row(0, named=True)
