"""POST /v1/crm/import: references checked before anything is written; money in minor units."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api


def _opportunity(**overrides: Any) -> dict[str, Any]:
    return {
        "external_id": "006-A",
        "account": "001-A",
        "type": "new_business",
        "stage_name": "Closed Won",
        "is_closed": True,
        "is_won": True,
        "amount": "10000.01",
        "currency": "USD",
        "created_at": "2025-01-10T15:00:00Z",
        "close_date": "2025-02-10",
        **overrides,
    }


ACCOUNT = {"external_id": "001-A", "name": "Acme", "domain": "https://www.Acme.com/"}


def test_an_import_stores_amounts_in_minor_units(api: Api) -> None:
    response = api.post(
        "/v1/crm/import", json={"accounts": [ACCOUNT], "opportunities": [_opportunity()]}
    )
    assert response.status_code == 200, response.text
    assert response.json()["opportunities"] == 1
    run = api.post("/v1/attribution-runs", json={"model": "linear"}).json()
    page = api.get(f"/v1/attribution-runs/{run['id']}/opportunities").json()
    assert [(o["external_id"], o["amount_minor"]) for o in page["items"]] == [("006-A", 1_000_001)]


def test_an_unknown_account_names_the_row_and_writes_nothing(api: Api) -> None:
    response = api.post(
        "/v1/crm/import",
        json={
            "accounts": [ACCOUNT],
            "opportunities": [_opportunity(), _opportunity(external_id="006-B", account="001-Z")],
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "opportunities", 1, "account"],
            "msg": "unknown account '001-Z'",
            "type": "value_error",
        }
    ]
    run = api.post("/v1/attribution-runs", json={"model": "linear"}).json()
    assert api.get(f"/v1/attribution-runs/{run['id']}/opportunities").json()["items"] == []


def test_more_decimals_than_the_currency_has_is_rejected(api: Api) -> None:
    response = api.post(
        "/v1/crm/import",
        json={"accounts": [ACCOUNT], "opportunities": [_opportunity(amount="5.001")]},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "opportunities", 0, "amount"]


def test_overlapping_exchange_rates_are_rejected(api: Api) -> None:
    rates = [
        {
            "currency": "EUR",
            "to": "USD",
            "rate": "1.1",
            "valid_from": "2025-01-01",
            "valid_to": "2025-01-31",
        },
        {
            "currency": "EUR",
            "to": "USD",
            "rate": "1.2",
            "valid_from": "2025-01-31",
            "valid_to": "2025-02-28",
        },
    ]
    response = api.post("/v1/crm/import", json={"exchange_rates": rates})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "exchange_rates", 1, "valid_from"],
            "msg": "overlaps the rate valid from 2025-01-01 to 2025-01-31",
            "type": "value_error",
        }
    ]


def test_a_won_opportunity_must_be_closed(api: Api) -> None:
    response = api.post(
        "/v1/crm/import",
        json={"accounts": [ACCOUNT], "opportunities": [_opportunity(is_closed=False)]},
    )
    assert response.status_code == 422
    assert "is_won" in response.json()["detail"][0]["msg"]


def test_exchange_rates_load_and_list(api: Api) -> None:
    rates = [
        {
            "currency": "EUR",
            "to": "USD",
            "rate": "1.0898",
            "valid_from": "2024-10-01",
            "valid_to": "2024-10-31",
        },
        {
            "currency": "EUR",
            "to": "USD",
            "rate": "1.0632",
            "valid_from": "2024-11-01",
            "valid_to": "2024-11-30",
        },
    ]
    response = api.put("/v1/exchange-rates", json={"rates": rates})
    assert response.status_code == 200, response.text
    assert [
        (r["currency"], r["rate"], r["valid_from"])
        for r in api.get("/v1/exchange-rates").json()["rates"]
    ] == [
        ("EUR", "1.089800000000", "2024-10-01"),
        ("EUR", "1.063200000000", "2024-11-01"),
    ]
    overlapping = {**rates[0], "valid_from": "2024-11-15", "valid_to": "2024-12-15"}
    rejected = api.put("/v1/exchange-rates", json={"rates": [overlapping]})
    assert rejected.status_code == 422
    assert rejected.json()["detail"][0]["loc"] == ["body", "rates", 0, "valid_from"]
