"""GET /v1/identity/stats and /v1/identity/suggestions."""

from __future__ import annotations

from typing import Any

from tests.conftest import Api

CREATED = "2025-01-10T15:00:00Z"


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _seed(api: Api) -> None:
    _ok(api.patch("/v1/workspace", json={"staff_domains": ["us.example"]}))
    _ok(
        api.post(
            "/v1/crm/import",
            json={
                "accounts": [{"external_id": "001-A", "name": "Acme", "domain": "acme.com"}],
                "contacts": [
                    {
                        "external_id": "003-JO",
                        "account": "001-A",
                        "name": "Joanna Smith",
                        "email": "joanna.smith@acme.com",
                        "created_at": CREATED,
                    },
                    {
                        "external_id": "003-AL",
                        "account": "001-A",
                        "name": "Al Brown",
                        "email": "al@acme.com",
                        "created_at": CREATED,
                    },
                ],
                "leads": [{"external_id": "00Q-LI", "email": "li@beta.com", "created_at": CREATED}],
            },
        )
    )
    _ok(
        api.post(
            "/v1/members:batch",
            json={
                "members": [
                    {"external_id": "al", "source": "discourse", "emails": ["al@acme.com"]},
                    {"external_id": "li", "source": "discourse", "emails": ["li@beta.com"]},
                    {
                        "external_id": "jo",
                        "source": "slack",
                        "name": "Joanna Smith",
                        "emails": ["jsmith@eu.acme.com"],
                        "identities": [{"platform": "slack", "user_id": "U1"}],
                    },
                    {"external_id": "zed", "source": "slack", "emails": ["zed@gmail.com"]},
                    {"external_id": "me", "emails": ["me@us.example"]},
                ]
            },
        )
    )


def test_stats_count_members_by_match_source_and_method(api: Api) -> None:
    _seed(api)
    assert _ok(api.get("/v1/identity/stats")) == {
        "members": 5,
        "matched_to_contact": 1,
        "matched_to_lead_only": 1,
        "matched_to_account_only": 1,
        "unmatched": 2,
        "staff": 1,
        "match_rate": 0.75,
        "by_source": [
            {"source": "discourse", "members": 2, "matched": 2},
            {"source": "slack", "members": 2, "matched": 1},
            {"source": None, "members": 1, "matched": 0},
        ],
        "by_method": [
            {"method": "email", "members": 2},
            {"method": "parent_domain", "members": 1},
        ],
    }


def test_an_unmatched_member_gets_a_same_name_suggestion_confirmable_with_one_call(
    api: Api,
) -> None:
    _seed(api)
    jo = _ok(api.get("/v1/members/jo"))
    _ok(api.client.delete(f"/v1/members/jo/links/{jo['links'][0]['id']}", headers=api.headers))
    page = _ok(api.get("/v1/identity/suggestions"))
    assert [s["member"] for s in page["items"]] == ["jo"]
    best = page["items"][0]["candidates"][0]
    assert (best["external_id"], best["reason"], best["confidence"]) == (
        "003-JO",
        "same name as contact 'Joanna Smith' at account 001-A (acme.com)",
        0.9,
    )
    confirm = best["confirm"]
    _ok(
        api.client.request(
            confirm["method"], confirm["path"], json=confirm["body"], headers=api.headers
        )
    )
    assert [
        (lk["external_id"], lk["method"]) for lk in _ok(api.get("/v1/members/jo"))["links"]
    ] == [("003-JO", "manual")]
    assert _ok(api.get("/v1/identity/suggestions"))["items"] == []


def test_a_close_spelling_is_suggested_with_a_lower_confidence(api: Api) -> None:
    _seed(api)
    _ok(
        api.post(
            "/v1/members:batch",
            json={
                "members": [
                    {"external_id": "jo", "name": "Joana Smith", "emails": ["js@eu.acme.com"]}
                ]
            },
        )
    )
    jo = _ok(api.get("/v1/members/jo"))
    _ok(api.client.delete(f"/v1/members/jo/links/{jo['links'][0]['id']}", headers=api.headers))
    best = _ok(api.get("/v1/identity/suggestions"))["items"][0]["candidates"][0]
    assert (best["external_id"], best["reason"], best["confidence"]) == (
        "003-JO",
        "name 'Joana Smith' close to contact 'Joanna Smith' at account 001-A (acme.com)",
        0.77,
    )
