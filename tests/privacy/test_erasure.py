"""POST /v1/privacy/erase: the person leaves no trace in any table, every run loses their credits
(frozen runs too, each recording the amendment), and no later import brings them back."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import JSON, LargeBinary, String, Table, Text, create_engine, select, true
from sqlalchemy import cast as sql_cast

from app.models import Base
from tests.conftest import Api

CREATED = "2025-01-10T15:00:00Z"
TRACES = ("jo@acme.com", "jo@home.example", "u-jo-42", "Joanna Q. Public")


def _ok(response: Any) -> Any:
    assert response.status_code in (200, 201), response.text
    return response.json()


def _crm(jo_email: str = "Jo@Acme.com") -> dict[str, Any]:
    return {
        "accounts": [{"external_id": "001-A", "name": "Acme", "domain": "acme.com"}],
        "contacts": [
            {
                "external_id": "003-JO",
                "account": "001-A",
                "name": "Joanna Q. Public",
                "email": jo_email,
                "created_at": CREATED,
            },
            {
                "external_id": "003-AL",
                "account": "001-A",
                "email": "al@acme.com",
                "created_at": CREATED,
            },
        ],
        "opportunities": [
            {
                "external_id": "006-A",
                "account": "001-A",
                "is_closed": True,
                "is_won": True,
                "amount": "1000.00",
                "currency": "USD",
                "created_at": "2025-03-01T12:00:00Z",
                "close_date": "2025-03-20",
            }
        ],
        "contact_roles": [
            {"external_id": "R1", "opportunity": "006-A", "contact": "003-JO"},
            {"external_id": "R2", "opportunity": "006-A", "contact": "003-AL"},
        ],
    }


JO = {
    "external_id": "forum-jo",
    "name": "Joanna Q. Public",
    "emails": ["jo@acme.com", "jo@home.example"],
    "identities": [{"platform": "slack", "user_id": "U-JO-42", "handle": "joanna"}],
    "properties": {"bio": "Joanna Q. Public, jo@home.example"},
}


def _touches(email: str, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "source": "forum",
            "external_id": f"{prefix}-{day}",
            "activity_type": "forum_answer",
            "occurred_at": f"2025-02-{day:02d}T12:00:00Z",
            "member_email": email,
            "properties": {"author": email},
        }
        for day in (1, 2)
    ]


@pytest.fixture
def erased(api: Api) -> tuple[Api, dict[str, Any], int]:
    _ok(api.post("/v1/crm/import", json=_crm()))
    _ok(
        api.client.post(
            "/v1/members:batch",
            json={
                "members": [
                    JO,
                    {"external_id": "forum-jo-2", "emails": ["jo@acme.com"]},  # merged: quoted
                    {"external_id": "al", "emails": ["al@acme.com"]},
                ]
            },
            headers={**api.headers, "Idempotency-Key": "members-1"},  # its answer is kept
        )
    )
    touches = _touches("jo@acme.com", "jo") + _touches("al@acme.com", "al")
    _ok(api.post("/v1/touchpoints:batch", json={"touchpoints": touches}))
    run = _ok(api.post("/v1/attribution-runs", json={"model": "linear"}))
    _ok(
        api.post(
            f"/v1/attribution-runs/{run['id']}/freeze",
            json={"from": "2025-01-01", "to": "2025-12-31"},
        )
    )
    answer = _ok(api.post("/v1/privacy/erase", json={"email": " Jo@ACME.com "}))
    return api, answer, run["id"]


def _mine(table: Table, workspace_id: int) -> Any:
    """The rows of ``table`` that belong to the workspace (through a parent when it has no
    workspace_id of its own)."""
    if "workspace_id" in table.c:
        return table.c.workspace_id == workspace_id
    if table.name == "workspace":
        return table.c.id == workspace_id
    for key in table.foreign_keys:
        parent = key.column.table
        if "workspace_id" in parent.c:
            owned = select(parent.c.id).where(parent.c.workspace_id == workspace_id)
            return key.parent.in_(owned)
    return true()


def _traces(database_url: str, workspace_id: int) -> list[str]:
    """Every text, JSON or binary value of the workspace's rows, in every table, that contains
    one of the person's traces."""
    engine = create_engine(database_url)
    found = []
    try:
        with engine.connect() as connection:
            for table in Base.metadata.sorted_tables:
                for column in table.columns:
                    if isinstance(column.type, LargeBinary):
                        values = connection.execute(
                            select(column).where(_mine(table, workspace_id))
                        ).scalars()
                        text_values = [
                            bytes(v).decode(errors="replace").lower() for v in values if v
                        ]
                    elif isinstance(column.type, String | Text | JSON):
                        values = connection.execute(
                            select(sql_cast(column, Text)).where(_mine(table, workspace_id))
                        ).scalars()
                        text_values = [v.lower() for v in values if v]
                    else:
                        continue
                    found += [
                        f"{table.name}.{column.name}: {trace}"
                        for trace in TRACES
                        if any(trace.lower() in v for v in text_values)
                    ]
    finally:
        engine.dispose()
    return found


def test_the_answer_counts_what_was_removed(erased: tuple[Api, dict[str, Any], int]) -> None:
    _, answer, run_id = erased
    assert {k: v for k, v in answer.items() if k not in ("id", "requested_at")} == {
        "subject_kind": "email",
        "members": 1,
        "identities": 4,
        "crm_records": 1,
        "touchpoints": 2,
        "credits": 4,
        "runs_amended": [run_id],
    }


def test_no_table_holds_a_trace_of_the_person(
    erased: tuple[Api, dict[str, Any], int], database_url: str
) -> None:
    api, _, _ = erased
    assert _traces(database_url, api.workspace_id) == []


def test_the_frozen_run_keeps_only_the_credits_of_others(
    erased: tuple[Api, dict[str, Any], int],
) -> None:
    api, _, run_id = erased
    credits = _ok(api.get(f"/v1/attribution-runs/{run_id}/credits"))["items"]
    assert sorted(c["touchpoint_external_id"] for c in credits) == ["al-1", "al-1", "al-2", "al-2"]
    summary = _ok(
        api.get(
            "/v1/reports/summary", params={"from": "2025-01-01", "to": "2025-12-31", "run": run_id}
        )
    )
    assert summary["revenue"]["attributed"]["amount_minor"] == 50_000


def test_erasures_are_listed_without_personal_data(
    erased: tuple[Api, dict[str, Any], int],
) -> None:
    api, answer, _ = erased
    assert _ok(api.get("/v1/privacy/erasures")) == {"items": [answer], "next_cursor": None}


def test_a_reimport_of_the_person_stores_nothing(
    erased: tuple[Api, dict[str, Any], int], database_url: str
) -> None:
    api, _, _ = erased
    members = _ok(api.post("/v1/members:batch", json={"members": [JO]}))
    assert (members["records"], members["suppressed"], members["members"]) == (1, 1, 0)
    slack_only = {
        "external_id": "slack-x",
        "identities": [{"platform": "slack", "user_id": "U-JO-42"}],
    }
    assert _ok(api.post("/v1/members:batch", json={"members": [slack_only]}))["suppressed"] == 1
    touches = _ok(
        api.post("/v1/touchpoints:batch", json={"touchpoints": _touches("JO@acme.com", "again")})
    )
    assert (touches["received"], touches["stored"]) == (2, 0)
    by_id = {
        **_touches("x@y.z", "by-id")[0],
        "member_email": None,
        "member_external_id": "forum-jo",
    }
    assert _ok(api.post("/v1/touchpoints:batch", json={"touchpoints": [by_id]}))["stored"] == 0
    _ok(api.post("/v1/crm/import", json=_crm("jo@acme.com")))
    assert _traces(database_url, api.workspace_id) == []


def test_a_request_naming_both_an_email_and_a_member_is_rejected_and_erases_nothing(
    api: Api,
) -> None:
    _ok(api.post("/v1/members:batch", json={"members": [JO]}))
    response = api.post("/v1/privacy/erase", json={"email": "jo@acme.com", "member": "forum-jo"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "Value error, give either email or member"
    assert _ok(api.get("/v1/members/forum-jo"))["name"] == "Joanna Q. Public"
    assert _ok(api.get("/v1/privacy/erasures"))["items"] == []


def test_erasing_an_unknown_member_is_a_404_and_erases_nothing(api: Api) -> None:
    response = api.post("/v1/privacy/erase", json={"member": "nobody"})
    assert (response.status_code, response.json()) == (404, {"detail": "member 'nobody' not found"})
    assert _ok(api.get("/v1/privacy/erasures"))["items"] == []


def test_a_member_is_erased_by_its_id_with_every_email(api: Api, database_url: str) -> None:
    _ok(api.post("/v1/members:batch", json={"members": [JO]}))
    answer = _ok(api.post("/v1/privacy/erase", json={"member": "forum-jo"}))
    assert (answer["subject_kind"], answer["members"], answer["identities"]) == ("member", 1, 4)
    assert api.get("/v1/members/forum-jo").status_code == 404
    assert _traces(database_url, api.workspace_id) == []


def test_a_touch_of_the_erased_crm_contact_stores_nothing(
    erased: tuple[Api, dict[str, Any], int],
) -> None:
    api, _, _ = erased
    campaign = {
        "source": "crm",
        "external_id": "cm-1",
        "activity_type": "campaign_response",
        "occurred_at": "2025-02-03T12:00:00Z",
        "person": {"type": "contact", "external_id": "003-JO", "source": "import"},
    }
    answer = _ok(api.post("/v1/touchpoints:batch", json={"touchpoints": [campaign]}))
    assert (answer["received"], answer["stored"]) == (1, 0)
