"""The demo company: generated from a seed, loaded through the services, attributed, believable."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.demo import (
    DEMO_MODELS,
    STAFF_DOMAIN,
    WORKSPACE_NAME,
    LoadedDemo,
    generate_demo,
    load_demo,
)
from app.models import ActivityType as ActivityTypeRow
from app.models import (
    AttributionRun,
    Category,
    ExchangeRate,
    LinkMethod,
    Member,
    MemberIdentity,
    MemberLink,
    Opportunity,
    Touchpoint,
    Workspace,
)
from app.reports.filters import ReportFilters
from app.reports.service import summary
from tests.conftest import DEFAULT_NOW, new_workspace

SEED = 7
SCALE = 0.05
COMMUNITY = [c for c in Category if c is not Category.MARKETING]


@pytest.fixture(scope="module")
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = build_engine(Settings(database_url=database_url))
    yield build_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def demo(factory: sessionmaker[Session], database_url: str) -> LoadedDemo:
    """One small demo per backend, shared by the tests that only read it."""
    loaded = load_demo(
        factory,
        settings=Settings(database_url=database_url),
        seed=SEED,
        now=DEFAULT_NOW,
        scale=SCALE,
    )
    assert loaded is not None
    return loaded


def _count(
    session: Session, model: type[Any], workspace_id: int, *where: ColumnElement[bool]
) -> int:
    """Rows of the model in the workspace that satisfy ``where``."""
    query = select(func.count()).select_from(model).where(model.workspace_id == workspace_id)
    return int(session.scalar(query.where(*where)) or 0)


def _linear_figures(session: Session, workspace_id: int) -> dict[str, object]:
    workspace = session.get_one(Workspace, workspace_id)
    run = session.scalars(
        select(AttributionRun).where(
            AttributionRun.workspace_id == workspace_id, AttributionRun.model == "linear"
        )
    ).one()
    figures = summary(
        session,
        workspace=workspace,
        run=run,
        filters=ReportFilters(
            period_from=DEFAULT_NOW.date() - timedelta(days=600),
            period_to=DEFAULT_NOW.date() + timedelta(days=400),
        ),
    )
    return figures.model_dump(exclude={"run_id"})


def test_generation_is_pure_and_seeded() -> None:
    first = generate_demo(seed=SEED, now=DEFAULT_NOW, scale=SCALE)
    assert first == generate_demo(seed=SEED, now=DEFAULT_NOW, scale=SCALE)
    assert first != generate_demo(seed=SEED + 1, now=DEFAULT_NOW, scale=SCALE)


def test_the_demo_workspace_has_the_company_settings(
    demo: LoadedDemo, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        workspace = session.get_one(Workspace, demo.workspace_id)
        assert workspace.name == WORKSPACE_NAME
        assert (workspace.reporting_currency, workspace.time_zone) == ("USD", "America/New_York")
        assert workspace.fiscal_year_start_month == 2
        assert workspace.staff_domains == [STAFF_DOMAIN]
    assert demo.api_key
    text = demo.describe()
    assert WORKSPACE_NAME in text
    assert f"linear #{dict(demo.run_ids)['linear']}" in text


def test_the_same_seed_loads_the_same_company_into_a_new_workspace(
    demo: LoadedDemo, factory: sessionmaker[Session], settings: Settings
) -> None:
    again = load_demo(
        factory, settings=settings, seed=SEED, now=DEFAULT_NOW, scale=SCALE, models=("linear",)
    )
    assert again is not None
    assert again.workspace_id != demo.workspace_id
    assert again.counts == demo.counts
    with transaction(factory) as session:
        for model in (Opportunity, Member, Touchpoint):
            assert _count(session, model, again.workspace_id) == _count(
                session, model, demo.workspace_id
            )
        assert _linear_figures(session, again.workspace_id) == _linear_figures(
            session, demo.workspace_id
        )


def test_counts_describe_what_was_stored(demo: LoadedDemo, factory: sessionmaker[Session]) -> None:
    counts = demo.counts
    with transaction(factory) as session:
        assert _count(session, Opportunity, demo.workspace_id) == counts.opportunities
        assert _count(session, Member, demo.workspace_id) == counts.members
        assert _count(session, Touchpoint, demo.workspace_id) == (
            counts.community_touches + counts.marketing_touches
        )
    assert counts.marketing_touches >= counts.community_touches > 0
    assert min(asdict(counts).values()) > 0, counts


def test_every_category_has_touches(demo: LoadedDemo, factory: sessionmaker[Session]) -> None:
    with transaction(factory) as session:
        by_category = dict(
            session.execute(
                select(ActivityTypeRow.category, func.count())
                .join(Touchpoint, Touchpoint.activity_type_id == ActivityTypeRow.id)
                .where(Touchpoint.workspace_id == demo.workspace_id)
                .group_by(ActivityTypeRow.category)
            ).all()
        )
    assert set(by_category) == set(Category)
    assert by_category[Category.MARKETING] >= sum(by_category[c] for c in COMMUNITY)


def test_members_include_staff_unmatched_and_messy_emails(
    demo: LoadedDemo, factory: sessionmaker[Session]
) -> None:
    ws = demo.workspace_id
    with transaction(factory) as session:
        staff = _count(session, Member, ws, Member.is_staff.is_(True))
        unmatched = _count(
            session, Member, ws, ~Member.is_staff, Member.id.not_in(select(MemberLink.member_id))
        )
        by_method = dict(
            session.execute(
                select(MemberLink.method, func.count())
                .where(MemberLink.workspace_id == ws)
                .group_by(MemberLink.method)
            ).all()
        )
        retyped = _count(
            session, MemberIdentity, ws, MemberIdentity.raw_value != MemberIdentity.value
        )
    assert staff == demo.counts.staff_members > 0
    assert unmatched == demo.counts.unmatched_members > 0
    assert by_method.get(LinkMethod.EMAIL, 0) > by_method.get(LinkMethod.DOMAIN, 0) > 0
    assert retyped > 0  # capitals and padding that normalization must see through


def test_opportunities_cover_every_type_stage_and_currency(
    demo: LoadedDemo, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        rows = session.execute(
            select(
                Opportunity.type,
                Opportunity.stage_name,
                Opportunity.is_closed,
                Opportunity.currency,
                Opportunity.amount,
                Opportunity.created_at,
                Opportunity.close_date,
            ).where(Opportunity.workspace_id == demo.workspace_id)
        ).all()
    assert {r.type for r in rows} == {"new_business", "expansion", "renewal", "other"}
    assert {"Closed Won", "Closed Lost"} <= {r.stage_name for r in rows}
    assert any(not r.is_closed for r in rows)
    assert {"USD", "EUR", "GBP"} == {r.currency for r in rows}
    assert all(r.amount and r.amount > 0 for r in rows)
    start = DEFAULT_NOW - timedelta(days=548)
    assert all(start <= r.created_at <= DEFAULT_NOW for r in rows)
    assert all(r.close_date >= r.created_at.date() for r in rows)


def test_exchange_rates_cover_the_period_without_gaps(
    demo: LoadedDemo, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        rates = session.scalars(
            select(ExchangeRate)
            .where(ExchangeRate.workspace_id == demo.workspace_id)
            .order_by(ExchangeRate.currency, ExchangeRate.valid_from)
        ).all()
        last_close = session.scalar(
            select(func.max(Opportunity.close_date)).where(
                Opportunity.workspace_id == demo.workspace_id
            )
        )
    assert last_close is not None
    for currency in ("EUR", "GBP"):
        spans = [(r.valid_from, r.valid_to) for r in rates if r.currency == currency]
        assert spans[0][0] <= (DEFAULT_NOW - timedelta(days=548)).date()
        assert spans[-1][1] >= max(last_close, DEFAULT_NOW.date())
        for (_, before_to), (after_from, _) in itertools.pairwise(spans):
            assert after_from == before_to + timedelta(days=1)


def test_linear_attributes_less_than_community_influences(
    demo: LoadedDemo, factory: sessionmaker[Session]
) -> None:
    with transaction(factory) as session:
        figures = _linear_figures(session, demo.workspace_id)
    pipeline, revenue = figures["pipeline"], figures["revenue"]
    assert isinstance(pipeline, dict) and isinstance(revenue, dict)
    total, influenced = pipeline["total"]["amount_minor"], pipeline["influenced"]["amount_minor"]
    attributed = pipeline["attributed"]["amount_minor"]
    assert 0 < attributed < influenced < total
    assert 0 < revenue["attributed"]["amount_minor"] < revenue["influenced"]["amount_minor"]
    assert pipeline["total"]["unconverted"] == {}  # every EUR and GBP amount had a rate


def test_every_demo_model_runs(demo: LoadedDemo) -> None:
    assert [model for model, _ in demo.run_ids] == list(DEMO_MODELS)
    assert demo.failed_models == ()


def test_if_empty_leaves_a_database_with_a_workspace_alone(
    factory: sessionmaker[Session], settings: Settings
) -> None:
    new_workspace(settings)
    with transaction(factory) as session:
        before = session.scalar(select(func.count()).select_from(Workspace))
    assert load_demo(factory, settings=settings, seed=SEED, now=DEFAULT_NOW, if_empty=True) is None
    with transaction(factory) as session:
        assert session.scalar(select(func.count()).select_from(Workspace)) == before
