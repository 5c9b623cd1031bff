"""Links made and removed by hand win over resolution and survive it; merges by hand."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Api

CREATED = "2025-01-10T15:00:00Z"


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


@pytest.fixture
def crm(api: Api) -> Api:
    _ok(
        api.post(
            "/v1/crm/import",
            json={
                "accounts": [
                    {"external_id": "001-A", "name": "Acme", "domain": "acme.com"},
                    {"external_id": "001-B", "name": "Beta", "domain": "beta.com"},
                ],
                "contacts": [
                    {
                        "external_id": "003-JO",
                        "account": "001-A",
                        "email": "jo@acme.com",
                        "created_at": CREATED,
                    },
                    {
                        "external_id": "003-JB",
                        "account": "001-B",
                        "email": "jo@beta.com",
                        "created_at": CREATED,
                    },
                ],
            },
        )
    )
    _ok(
        api.post(
            "/v1/members:batch",
            json={
                "members": [
                    {"external_id": "jo", "emails": ["jo@acme.com"]},
                    {"external_id": "gmail-jo", "emails": ["jo.private@gmail.com"]},
                ]
            },
        )
    )
    return api


def _links(api: Api, member: str) -> list[tuple[str, str, str]]:
    return [
        (link["target"], link["external_id"], link["method"])
        for link in _ok(api.get(f"/v1/members/{member}"))["links"]
    ]


def test_a_manual_link_replaces_the_automatic_ones(crm: Api) -> None:
    member = _ok(
        crm.post("/v1/members/jo/links", json={"target": "contact", "external_id": "003-JB"})
    )
    assert [
        (lk["target"], lk["external_id"], lk["method"], lk["confidence"]) for lk in member["links"]
    ] == [("contact", "003-JB", "manual", 1.0)]
    assert (member["account"], member["account_method"]) == ("001-B", "contact")


def test_a_manual_link_survives_a_crm_import_that_resolves_the_member_again(crm: Api) -> None:
    _ok(crm.post("/v1/members/gmail-jo/links", json={"target": "account", "external_id": "001-A"}))
    _ok(
        crm.post(
            "/v1/crm/import",
            json={
                "contacts": [
                    {"external_id": "003-P", "email": "jo.private@gmail.com", "created_at": CREATED}
                ]
            },
        )
    )
    assert _links(crm, "gmail-jo") == [("account", "001-A", "manual")]


def test_a_removed_contact_link_is_not_made_again_the_domain_link_takes_over(crm: Api) -> None:
    link = _ok(crm.get("/v1/members/jo"))["links"][0]
    after = _ok(crm.client.delete(f"/v1/members/jo/links/{link['id']}", headers=crm.headers))
    assert [(lk["target"], lk["method"]) for lk in after["links"]] == [("account", "domain")]
    _ok(
        crm.post(
            "/v1/members:batch",
            json={"members": [{"external_id": "jo", "emails": ["jo@acme.com"]}]},
        )
    )
    assert _links(crm, "jo") == [("account", "001-A", "domain")]


def test_linking_an_unknown_record_is_rejected_and_writes_nothing(crm: Api) -> None:
    response = crm.post("/v1/members/jo/links", json={"target": "lead", "external_id": "00Q-NONE"})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "external_id"], "msg": "unknown lead '00Q-NONE'", "type": "value_error"}
    ]
    assert _links(crm, "jo") == [("contact", "003-JO", "email")]


def test_removing_a_link_of_another_member_is_a_404(crm: Api) -> None:
    link = _ok(crm.get("/v1/members/jo"))["links"][0]
    response = crm.client.delete(f"/v1/members/gmail-jo/links/{link['id']}", headers=crm.headers)
    assert (response.status_code, response.json()) == (
        404,
        {"detail": f"link {link['id']} of member 'gmail-jo' not found"},
    )


def test_members_merged_by_hand_read_as_one(crm: Api) -> None:
    merge = _ok(crm.post("/v1/members:merge", json={"into": "jo", "members": ["gmail-jo"]}))
    assert merge == {"member": "jo", "merged": ["gmail-jo"], "shared": ["merged by hand"]}
    member = _ok(crm.get("/v1/members/gmail-jo"))
    assert (member["external_id"], member["emails"]) == (
        "jo",
        ["jo.private@gmail.com", "jo@acme.com"],
    )


def test_merging_an_unknown_member_is_rejected_and_writes_nothing(crm: Api) -> None:
    response = crm.post("/v1/members:merge", json={"into": "jo", "members": ["gmail-jo", "nobody"]})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "members", 1], "msg": "unknown member 'nobody'", "type": "value_error"}
    ]
    assert _ok(crm.get("/v1/members/gmail-jo"))["external_id"] == "gmail-jo"


def test_members_are_listed_by_match_account_source_and_method(crm: Api) -> None:
    _ok(
        crm.post(
            "/v1/members:batch",
            json={
                "members": [
                    {
                        "external_id": "slack:U1",
                        "source": "slack",
                        "identities": [{"platform": "slack", "user_id": "U1"}],
                    }
                ]
            },
        )
    )

    def ids(**params: Any) -> list[str]:
        return [m["external_id"] for m in _ok(crm.get("/v1/members", params=params))["items"]]

    assert ids() == ["jo", "gmail-jo", "slack:U1"]
    assert ids(matched="matched") == ["jo"]
    assert ids(matched="unmatched") == ["gmail-jo", "slack:U1"]
    assert ids(account="001-A") == ["jo"]
    assert ids(account="001-B") == []
    assert ids(source="slack") == ["slack:U1"]
    assert ids(method="email") == ["jo"]
    first = _ok(crm.get("/v1/members", params={"limit": 2}))
    assert [m["external_id"] for m in first["items"]] == ["jo", "gmail-jo"]
    rest = _ok(crm.get("/v1/members", params={"limit": 2, "cursor": first["next_cursor"]}))
    assert ([m["external_id"] for m in rest["items"]], rest["next_cursor"]) == (["slack:U1"], None)
