"""Through the API, an amount the engine cannot allocate exactly is a clear 422."""

from __future__ import annotations

from sqlalchemy import update

from app.config import Settings
from app.db import build_engine, build_sessionmaker, transaction
from app.models import Opportunity
from tests.conftest import Api


def test_an_amount_above_10_15_minor_units_answers_422(api: Api, settings: Settings) -> None:
    opportunity = {
        "external_id": "006-HUGE",
        "type": "new_business",
        "is_closed": False,
        "is_won": False,
        "amount": "10.00",
        "currency": "USD",
        "created_at": "2025-01-10T15:00:00Z",
    }
    assert api.post("/v1/crm/import", json={"opportunities": [opportunity]}).status_code == 200
    # the API refuses such an amount at the edge (10^12 major units); a CRM sync may still bring it
    engine = build_engine(settings)
    with transaction(build_sessionmaker(engine)) as session:
        session.execute(
            update(Opportunity)
            .where(Opportunity.workspace_id == api.workspace_id)
            .values(amount=10**15 + 1)  # 10^15 + 1 cents
        )
    engine.dispose()
    response = api.post("/v1/attribution-runs", json={"model": "linear"})
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["data", "opportunities", "amount"]
    assert "1,000,000,000,000,001 minor units is above the 1,000,000,000,000,000" in error["msg"]
