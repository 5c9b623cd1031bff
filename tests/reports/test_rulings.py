"""Rulings B-E of DESIGN.md (Fine print), one small hand-made company each, through the API.

Pat, a community member, has two work emails: one at Acme (contact 003-A1) and one at Beta
(contact 003-B1). Acme's deal 006-A is 1,000.00 USD; Beta's deal 006-B is 500.00 CHF, a
currency with no exchange rate. Both are won on 2025-06-30, created 2025-06-01.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

PERIOD = {"from": "2025-01-01", "to": "2025-12-31"}
CREATED = {"created_at": "2025-01-02T00:00:00Z"}


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _deal(external_id: str, account: str, amount: str, currency: str) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "account": account,
        "type": "new_business",
        "stage_name": "Closed Won",
        "is_closed": True,
        "is_won": True,
        "amount": amount,
        "currency": currency,
        "created_at": "2025-06-01T12:00:00Z",
        "close_date": "2025-06-30",
    }


def _touch(external_id: str, activity: str, day: int, **person: Any) -> dict[str, Any]:
    return {
        # A CRM person's touch comes from the CRM (campaign members, CRM activities).
        "source": "salesforce" if "person" in person else "forum",
        "external_id": external_id,
        "activity_type": activity,
        "occurred_at": f"2025-05-{day:02d}T12:00:00Z",
        "properties": {},
        **person,
    }


@pytest.fixture(scope="module")
def company(client_module: Api) -> Api:
    api = client_module
    for key, category, community in (
        ("forum_question", "support", True),
        ("webinar_attended", "marketing", False),
    ):
        body = {"name": key, "category": category, "weight": "1", "is_community": community}
        _ok(api.put(f"/v1/activity-types/{key}", json=body))
    program = {"name": "Summit", "cost": "100.00", "currency": "USD"}
    _ok(api.put("/v1/programs/prg-summit", json=program))
    crm = {
        "source": "salesforce",
        "accounts": [
            {"external_id": "001-A", "name": "Acme", "domain": "acme.example"},
            {"external_id": "001-B", "name": "Beta", "domain": "beta.example"},
        ],
        "contacts": [
            {"external_id": "003-A1", "account": "001-A", "email": "pat@acme.example", **CREATED},
            {"external_id": "003-B1", "account": "001-B", "email": "pat@beta.example", **CREATED},
        ],
        "opportunities": [
            _deal("006-A", "001-A", "1000.00", "USD"),
            _deal("006-B", "001-B", "500.00", "CHF"),
        ],
        "contact_roles": [
            {"external_id": "00K-A", "opportunity": "006-A", "contact": "003-A1"},
            {"external_id": "00K-B", "opportunity": "006-B", "contact": "003-B1"},
        ],
    }
    _ok(api.post("/v1/crm/import", json=crm))
    member = {"external_id": "mem-pat", "emails": ["pat@acme.example", "pat@beta.example"]}
    _ok(api.post("/v1/members:batch", json={"members": [member]}))
    touches = [
        # Pat's own community touch: reaches both deals through both contacts.
        _touch("t-pat", "forum_question", 5, member_external_id="mem-pat"),
        # A campaign touch of Acme's contact, in the summit program (marketing).
        {
            **_touch(
                "t-webinar",
                "webinar_attended",
                6,
                person={"type": "contact", "external_id": "003-A1"},
            ),
            "program": "prg-summit",
        },
        # A CRM record's own touch of a community activity type: community (ruling D).
        _touch("t-crm", "forum_question", 7, person={"type": "contact", "external_id": "003-B1"}),
        # Pat at the summit (community, in the program).
        {
            **_touch("t-summit", "forum_question", 8, member_external_id="mem-pat"),
            "program": "prg-summit",
        },
    ]
    _ok(api.post("/v1/touchpoints:batch", json={"touchpoints": touches}))
    _ok(api.post("/v1/attribution-runs", json={"model": "linear"}))
    return api


def _report(api: Api, name: str, **params: Any) -> Any:
    return _ok(api.get(f"/v1/reports/{name}", params={**PERIOD, **params}))


def _journey(api: Api, external_id: str) -> dict[str, Any]:
    [row] = [
        o
        for o in _report(api, "opportunities", basis="revenue")["items"]
        if o["external_id"] == external_id
    ]
    return dict(_ok(api.get(f"/v1/reports/opportunities/{row['id']}/journey")))


def test_b_an_unconverted_deal_counts_and_its_amount_is_listed_apart(company: Api) -> None:
    revenue = _report(company, "summary")["revenue"]
    for measure in ("total", "influenced", "attributed"):
        figure = revenue[measure]
        assert figure["opportunities"] == 2, measure
        assert figure["unconverted"] == {"CHF": 50_000}, measure
    assert revenue["total"]["amount_minor"] == 100_000  # USD only: CHF never summed in


def test_c_program_revenue_credits_its_community_and_marketing_touches(company: Api) -> None:
    rows = {r["key"]: r for r in _report(company, "by-program")["rows"]}
    # 006-A's revenue path: t-pat, t-webinar (summit, marketing), t-summit (summit,
    # community): linear thirds of 100,000 -> 33,334 / 33,333 / 33,333; the program holds
    # the webinar's and the summit's: 66,666.
    summit = rows["prg-summit"]
    assert summit["revenue_attributed_minor"] == 66_666
    assert summit["cost_minor"] == 10_000
    assert summit["roi"] == pytest.approx((66_666 - 10_000) / 10_000)


def test_d_a_crm_records_own_touch_of_a_community_type_is_community(company: Api) -> None:
    touches = {t["touchpoint_external_id"]: t for t in _journey(company, "006-B")["revenue"]}
    assert touches["t-crm"]["is_community"] is True
    assert touches["t-crm"]["person"] == "contact:003-B1"
    acme = {t["touchpoint_external_id"]: t for t in _journey(company, "006-A")["revenue"]}
    assert acme["t-webinar"]["is_community"] is False


def test_e_a_member_at_two_accounts_has_no_single_account(company: Api) -> None:
    member = _ok(company.get("/v1/members/mem-pat"))
    assert member["account"] is None
    assert member["account_method"] == "several_accounts"
    assert sorted(link["external_id"] for link in member["links"]) == ["003-A1", "003-B1"]
    # Its reach through its contacts stays: its touches count for both accounts' deals.
    for deal in ("006-A", "006-B"):
        touches = {t["touchpoint_external_id"] for t in _journey(company, deal)["revenue"]}
        assert {"t-pat", "t-summit"} <= touches, deal
