"""The report's run, chosen in one query, is the run the documented rule picks: the model's frozen
run covering the period, else its latest default run, else its latest run."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import build_engine, build_sessionmaker
from app.exceptions import NotFound
from app.models import AttributionRun
from app.reports import service
from app.runs import repository as runs
from app.runs.freeze import frozen_covering
from tests.conftest import new_workspace

PERIODS = [(date(2025, 1, 1), date(2025, 3, 31)), (date(2024, 7, 1), date(2025, 6, 30))]
FROZEN = [
    None,
    (date(2025, 1, 1), date(2025, 3, 31)),
    (date(2024, 1, 1), date(2025, 12, 31)),
    (date(2025, 2, 1), date(2025, 12, 31)),
]


def _reference(
    session: Session, workspace_id: int, model: str, period: tuple[date, date] | None
) -> AttributionRun | None:
    frozen = (
        frozen_covering(session, workspace_id=workspace_id, model=model, period=period)
        if period
        else None
    )
    return (
        frozen
        or runs.latest_run(session, workspace_id, model, default_only=True)
        or runs.latest_run(session, workspace_id, model)
    )


@pytest.mark.parametrize("seed", range(6))
def test_the_one_query_choice_follows_the_rule(settings: Settings, seed: int) -> None:
    workspace_id, _key = new_workspace(settings, name=f"Choice {seed}")
    other_id, _ = new_workspace(settings, name=f"Other {seed}")
    engine = build_engine(settings)
    factory = build_sessionmaker(engine)
    rng = random.Random(seed)
    now = datetime(2025, 6, 1, tzinfo=UTC)
    try:
        with factory() as session:
            for n in range(rng.randint(0, 9)):
                frozen = rng.choice(FROZEN)
                session.add(
                    AttributionRun(
                        workspace_id=rng.choice([workspace_id, workspace_id, other_id]),
                        model=rng.choice(["linear", "linear", "time_decay"]),
                        parameters={},
                        status=rng.choice(["succeeded", "succeeded", "failed", "running"]),
                        as_of=now,
                        created_at=now,
                        is_default=rng.random() < 0.4,
                        frozen_from=frozen and frozen[0],
                        frozen_to=frozen and frozen[1],
                        frozen_note=f"run {n}" if frozen else None,
                    )
                )
            session.commit()
            for model in (None, "linear", "time_decay"):
                for period in [None, *PERIODS]:
                    expected = _reference(session, workspace_id, model or "linear", period)
                    arguments = {
                        "workspace_id": workspace_id,
                        "run_id": None,
                        "model": model,
                        "period": period,
                    }
                    if expected is None:
                        with pytest.raises(NotFound, match="no successful attribution run"):
                            service.choose_run(session, **arguments)  # type: ignore[arg-type]
                        with pytest.raises(NotFound, match="no successful attribution run"):
                            service.workspace_and_run(session, **arguments)  # type: ignore[arg-type]
                        continue
                    assert service.choose_run(session, **arguments).id == expected.id  # type: ignore[arg-type]
                    workspace, run = service.workspace_and_run(session, **arguments)  # type: ignore[arg-type]
                    assert (workspace.id, run.id) == (workspace_id, expected.id)
            for run in session.query(AttributionRun).all():
                explicit = {"workspace_id": workspace_id, "run_id": run.id, "model": None}
                if run.workspace_id == workspace_id and run.status == "succeeded":
                    assert service.workspace_and_run(session, **explicit)[1].id == run.id  # type: ignore[arg-type]
                else:
                    with pytest.raises(NotFound, match=f"no finished attribution run {run.id}"):
                        service.workspace_and_run(session, **explicit)  # type: ignore[arg-type]
    finally:
        engine.dispose()
