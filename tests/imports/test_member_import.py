"""POST /v1/members:import: members by external_id or email, several emails in one column."""

from __future__ import annotations

from tests.conftest import Api
from tests.imports.helpers import member_emails, upload


def _members(api: Api, body: str, **params: str) -> object:
    return upload(api, body, path="/v1/members:import", source="bevy", **params)


def test_members_are_created_with_every_email_and_keyed_by_email_when_no_id(api: Api) -> None:
    body = (
        "Member ID,Name,Emails\n"
        "m-1,Ada,ada@example.com; Ada@Work.example\n"
        ",Bob,bob@example.com\n"
        "m-1,Ada again,ada@other.example\n"
    )
    mapping = {"columns": {"external_id": "Member ID", "name": "Name", "email": "Emails"}}
    response = _members(api, body, mapping=mapping)  # type: ignore[arg-type]
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    result = response.json()  # type: ignore[attr-defined]
    assert (result["rows_read"], result["stored"], result["duplicates"]) == (3, 2, 1)
    assert result["members_created"] == 2
    assert member_emails(api) == {
        "bob@example.com": ["bob@example.com"],
        "m-1": ["ada@example.com", "ada@work.example"],
    }
    assert api.get("/v1/members/m-1").json()["name"] == "Ada"


def test_a_member_row_with_no_id_and_no_email_is_rejected_by_line(api: Api) -> None:
    body = "external_id,name,email\n,Nobody,\nm-2,Two,not-an-email\n"
    response = _members(api, body)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert response.json()["detail"] == [  # type: ignore[attr-defined]
        {
            "loc": ["body", "line", 2, "external_id"],
            "msg": "give external_id, email or user_id",
            "type": "value_error",
        },
        {
            "loc": ["body", "line", 3, "email"],
            "msg": "'not-an-email' is not an email address",
            "type": "value_error",
        },
    ]
    assert member_emails(api) == {}


def test_members_from_ndjson(api: Api) -> None:
    body = '{"external_id": "m-1", "email": "ada@example.com", "karma": 12}\n'
    result = _members(api, body, format="ndjson", mapping='{"properties": "*"}').json()  # type: ignore[attr-defined]
    assert result["stored"] == 1
    assert member_emails(api) == {"m-1": ["ada@example.com"]}


def test_a_members_import_source_must_name_a_platform(api: Api) -> None:
    response = upload(api, "external_id\nm-1\n", path="/v1/members:import", source="Bevy Events")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "source"]


def test_members_created_counts_only_new_people_when_rows_merge_into_stored_ones(
    api: Api,
) -> None:
    api.post(
        "/v1/members:batch",
        json={"members": [{"external_id": "m-1", "emails": ["ada@example.com"]}]},
    )
    body = (
        "external_id,email\n"
        "m-2,ada@example.com\n"
        "m-3,bob@example.com\n"
        "m-4,BOB@example.com\n"
        "m-5,carol@example.com\n"
    )
    result = upload(api, body, path="/v1/members:import", source="bevy").json()
    assert result["members_created"] == 2
