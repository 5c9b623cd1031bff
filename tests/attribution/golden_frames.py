"""The golden dataset turned into engine input frames.

The golden files describe people and touches the way the service stores them; the small
resolver below plays the service's part (which touches reach which opportunity, through
whom) using the resolution recorded in expected.json, so the engine sees exactly the rows
the service would give it, dropped touches included.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from attribution import JourneySettings

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "golden"

TOUCH_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.Int64(),
    "touch_id": pl.Int64(),
    "occurred_at": pl.Datetime("us", "UTC"),
    "source": pl.String(),
    "external_id": pl.String(),
    "activity_type": pl.String(),
    "category": pl.String(),
    "program": pl.String(),
    "is_community": pl.Boolean(),
    "is_staff": pl.Boolean(),
    "person": pl.String(),
    "weight": pl.Float64(),
}
OPPORTUNITY_SCHEMA: dict[str, pl.DataType] = {
    "opportunity_id": pl.Int64(),
    "amount": pl.Int64(),
    "created_at": pl.Datetime("us", "UTC"),
    "closed_at": pl.Datetime("us", "UTC"),
    "is_closed": pl.Boolean(),
    "is_won": pl.Boolean(),
    "lead_created_at": pl.Datetime("us", "UTC"),
    "value": pl.Float64(),
}


def parse_time(text: str | None) -> datetime | None:
    if text is None:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


@dataclass(frozen=True)
class Golden:
    expected: dict[str, Any]
    dataset: dict[str, Any]
    touches: pl.DataFrame
    opportunities: pl.DataFrame
    touch_ids: dict[str, int]  # "source/external_id" -> touch_id
    opportunity_ids: dict[str, int]  # "006-O01" -> 1
    settings: JourneySettings

    def touch_key(self, touch_id: int) -> str:
        return {v: k for k, v in self.touch_ids.items()}[touch_id]


def _reaching(person: str, opp: dict[str, Any], account: str, members: dict[str, Any]) -> list[str]:
    """Through which of the opportunity's people a touch of ``person`` reaches it."""
    kind, _, ident = person.partition(":")
    contacts = opp["people"]["contacts"]
    leads = opp["people"]["converted_leads"]
    if kind == "contact":
        return [ident] if ident in contacts else []
    if kind == "lead":
        return [ident] if ident in leads else []
    member = members[ident]
    via = [c for c in member["contacts"] if c in contacts]
    via += [lead for lead in member["leads"] if lead in leads]
    if (
        opp["scope_used"] == "account"
        and member["account"] == account
        and member["account_method"] == "domain"
    ):
        via.append(f"account:{account}")
    return via


@cache
def golden() -> Golden:
    expected = json.loads((GOLDEN / "expected.json").read_text())
    dataset = json.loads((GOLDEN / "dataset.json").read_text())
    activity = {a["key"]: a for a in dataset["activity_types"]}
    stored: dict[str, dict[str, Any]] = {}
    for record in dataset["touchpoints"]:
        stored[f"{record['source']}/{record['external_id']}"] = record  # upsert (R10)
    assert len(stored) == expected["stored_touches"]["count"]
    # Ids deliberately run against the touch order, so that nothing relies on them.
    touch_ids = {key: 9000 - i for i, key in enumerate(sorted(stored))}
    status = expected["stored_touches"]["status"]
    members = expected["members"]
    accounts = {o["external_id"]: o["account"] for o in dataset["opportunities"]}
    opportunity_ids = {key: int(key.split("-O")[1]) for key in expected["opportunities"]}
    values = {j["opportunity"]: float(j["value_usd_cents"]) for j in expected["markov"]["journeys"]}

    touch_rows = []
    opp_rows = []
    for key, opp in expected["opportunities"].items():
        for touch_key, record in stored.items():
            person = status[touch_key]["person"]
            for _via in _reaching(person, opp, accounts[key], members):
                kind = activity[record["activity_type"]]
                touch_rows.append(
                    {
                        "opportunity_id": opportunity_ids[key],
                        "touch_id": touch_ids[touch_key],
                        "occurred_at": parse_time(record["occurred_at"]),
                        "source": record["source"],
                        "external_id": record["external_id"],
                        "activity_type": record["activity_type"],
                        "category": kind["category"],
                        "program": record["program"],
                        "is_community": kind["is_community"],
                        "is_staff": status[touch_key]["staff"],
                        "person": person,
                        "weight": float(kind["weight"]),
                    }
                )
        won = opp["status"] == "won"
        opp_rows.append(
            {
                "opportunity_id": opportunity_ids[key],
                "amount": None if opp["amount_missing"] else opp["amount_cents"],
                "created_at": parse_time(opp["created_at"]),
                "closed_at": parse_time(opp["closed_at"]),
                "is_closed": opp["status"] in ("won", "lost"),
                "is_won": won,
                "lead_created_at": parse_time(opp["lead_creation_time"]),
                "value": values.get(key) if won else None,
            }
        )
    run = expected["settings"]
    settings = JourneySettings(
        as_of=parse_time(run["as_of"]),  # type: ignore[arg-type]
        lookback=timedelta(days=run["lookback_days"]),
        duplicate_window=timedelta(minutes=run["duplicate_window_minutes"]),
        exclude_staff=run["exclude_staff"],
    )
    return Golden(
        expected=expected,
        dataset=dataset,
        touches=pl.DataFrame(touch_rows, schema=TOUCH_SCHEMA),
        opportunities=pl.DataFrame(opp_rows, schema=OPPORTUNITY_SCHEMA),
        touch_ids=touch_ids,
        opportunity_ids=opportunity_ids,
        settings=settings,
    )
