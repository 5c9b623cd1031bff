"""POST /v1/touchpoints:import: CSV or NDJSON, gzip or not, mapped columns, every error by line
and field, all or nothing unless partial."""

from __future__ import annotations

import gzip
import json

from tests.conftest import Api
from tests.imports.helpers import NDJSON, member_count, stored_touches, upload

GOOD = (
    "external_id,occurred_at,activity_type,member_email\n"
    "t-1,2025-03-01T12:00:00Z,forum_answer,Ada@Example.com\n"
    "t-2,2025-03-02T12:00:00+02:00,webinar_attended,bob@example.com\n"
)


def test_a_csv_named_like_the_fields_is_stored_with_a_result_document(catalog: Api) -> None:
    response = upload(catalog, GOOD)
    assert response.status_code == 200, response.text
    result = response.json()
    assert {k: result[k] for k in ("status", "rows_read", "stored", "duplicates", "rejected")} == {
        "status": "succeeded",
        "rows_read": 2,
        "stored": 2,
        "duplicates": 0,
        "rejected": 0,
    }
    assert result["members_created"] == 2
    assert stored_touches(catalog) == [
        ("zoom", "t-1", "2025-03-01T12:00:00+00:00"),
        ("zoom", "t-2", "2025-03-02T10:00:00+00:00"),
    ]
    assert catalog.get(f"/v1/imports/{result['id']}").json()["stored"] == 2


def test_the_same_file_twice_stores_each_touch_once(catalog: Api) -> None:
    upload(catalog, GOOD)
    again = upload(catalog, GOOD).json()
    assert (again["stored"], again["members_created"]) == (2, 0)
    assert len(stored_touches(catalog)) == 2


def test_gzip_is_read_whether_declared_or_not(catalog: Api) -> None:
    packed = gzip.compress(GOOD.encode())
    assert (
        upload(catalog, packed, content_type="application/gzip", format="csv").json()["stored"] == 2
    )
    declared = upload(catalog, packed, headers={"Content-Encoding": "gzip"}, source="zoom2")
    assert declared.json()["stored"] == 2


def test_ndjson_with_a_mapping_into_nested_keys(catalog: Api) -> None:
    lines = [
        {"id": "e-1", "at": 1740830400, "user": {"email": "ada@example.com"}, "room": "A"},
        {"id": "e-2", "at": "2025-03-01T13:00:00Z", "user": {"email": "bob@example.com"}},
    ]
    response = upload(
        catalog,
        "\n".join(json.dumps(line) for line in lines) + "\n",
        content_type=NDJSON,
        mapping={
            "columns": {"external_id": "id", "occurred_at": "at", "member_email": "user.email"},
            "defaults": {"activity_type": "webinar_attended"},
            "properties": ["room"],
        },
    )
    assert response.json()["stored"] == 2, response.text
    assert stored_touches(catalog)[0] == ("zoom", "e-1", "2025-03-01T12:00:00+00:00")


def test_a_saved_mapping_is_used_for_its_source(catalog: Api) -> None:
    saved = catalog.put(
        "/v1/import-sources/touchpoints/zoom",
        json={
            "format": "csv",
            "mapping": {
                "columns": {
                    "member_email": "Email",
                    "occurred_at": "Join Time",
                    "session": "Meeting ID",
                },
                "defaults": {"activity_type": "webinar_attended"},
                "timezone": "America/New_York",
                "timestamp_format": "%m/%d/%Y %I:%M:%S %p",
            },
        },
    )
    assert saved.status_code == 200, saved.text
    zoom_export = (
        "Meeting ID,Email,Join Time\n"
        "853,ada@example.com,03/01/2025 09:00:00 AM\n"
        "853,ada@example.com,03/01/2025 09:20:00 AM\n"
        "853,ada@example.com,03/01/2025 08:55:00 AM\n"
        "853,bob@example.com,03/01/2025 09:01:00 AM\n"
    )
    result = upload(catalog, zoom_export, content_type="application/octet-stream").json()
    assert (result["rows_read"], result["stored"], result["duplicates"]) == (4, 2, 2)
    assert stored_touches(catalog) == [
        ("zoom", "853:ada@example.com", "2025-03-01T13:55:00+00:00"),
        ("zoom", "853:bob@example.com", "2025-03-01T14:01:00+00:00"),
    ]
    assert [s["key"] for s in catalog.get("/v1/import-sources").json()["sources"]] == ["zoom"]


BAD_ROWS = (
    "external_id,occurred_at,activity_type,member_email,program\n"
    "t-1,2025-03-01T12:00:00Z,forum_answer,ada@example.com,\n"
    "t-2,yesterday,forum_answer,bob@example.com,\n"
    "t-3,2025-03-01T12:00:00Z,podcast,carol@example.com,\n"
    "t-4,2025-03-01T12:00:00Z,forum_answer,,\n"
    "t-5,2025-03-01 12:00:00,forum_answer,not-an-email,nope\n"
)
EXPECTED = [
    (
        3,
        "occurred_at",
        "'yesterday' is not a timestamp: use ISO 8601 (2025-03-01T12:00:00Z) or Unix seconds",
    ),
    (4, "activity_type", "unknown activity type 'podcast'"),
    (5, "member_email", "give member_email or member_external_id"),
    (
        6,
        "occurred_at",
        "'2025-03-01 12:00:00' has no UTC offset: add one, or set the mapping's timezone",
    ),
    (6, "program", "unknown program 'nope'"),
    (6, "member_email", "'not-an-email' is not an email address"),
]


def test_all_or_nothing_names_every_bad_row_by_line_and_field_and_writes_nothing(
    catalog: Api,
) -> None:
    response = upload(catalog, BAD_ROWS)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {"loc": ["body", "line", line, field], "msg": message, "type": "value_error"}
        for line, field, message in EXPECTED
    ]
    assert stored_touches(catalog) == []
    assert member_count(catalog) == 0


def test_partial_stores_the_valid_rows_and_returns_every_rejected_one(catalog: Api) -> None:
    response = upload(catalog, BAD_ROWS, partial="true")
    assert response.status_code == 200
    result = response.json()
    assert (result["rows_read"], result["stored"], result["rejected"]) == (5, 1, 4)
    assert [(r["line"], r["field"], r["message"]) for r in result["rejections"]] == EXPECTED
    assert stored_touches(catalog) == [("zoom", "t-1", "2025-03-01T12:00:00+00:00")]
    page = catalog.get(f"/v1/imports/{result['id']}/rejections", params={"limit": 4}).json()
    assert len(page["rejections"]) == 4 and page["next_after"] is not None
    rest = catalog.get(
        f"/v1/imports/{result['id']}/rejections", params={"after": page["next_after"]}
    ).json()
    assert len(rest["rejections"]) == 2 and rest["next_after"] is None


def test_duplicate_rows_in_one_file_keep_the_earliest(catalog: Api) -> None:
    body = (
        "external_id,occurred_at,activity_type,member_email\n"
        "t-1,2025-03-02T12:00:00Z,forum_answer,ada@example.com\n"
        "t-1,2025-03-01T12:00:00Z,forum_answer,ada@example.com\n"
        "t-1,2025-03-03T12:00:00Z,forum_answer,ada@example.com\n"
    )
    result = upload(catalog, body).json()
    assert (result["rows_read"], result["stored"], result["duplicates"]) == (3, 1, 2)
    assert stored_touches(catalog) == [("zoom", "t-1", "2025-03-01T12:00:00+00:00")]


def test_a_mapped_column_missing_from_the_header_rejects_the_file(catalog: Api) -> None:
    response = upload(catalog, GOOD, mapping={"columns": {"member_email": "Email"}})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "line", 1, "header"],
            "msg": "no column named 'Email' (the mapping names it)",
            "type": "value_error",
        }
    ]


def test_a_mapping_naming_an_unknown_field_is_refused(catalog: Api) -> None:
    response = upload(catalog, GOOD, mapping={"columns": {"mail": "Email"}})
    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "mapping", "columns", "mail"]
    assert detail["msg"].startswith("unknown field 'mail'; fields: source, external_id")


def test_without_a_format_or_a_known_content_type_the_request_is_refused(catalog: Api) -> None:
    response = upload(catalog, GOOD, content_type="application/octet-stream")
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "format"]


def test_a_file_over_the_size_limit_is_refused_with_413(catalog: Api) -> None:
    catalog.client.app.state.settings.import_max_bytes = 64  # type: ignore[attr-defined]
    response = upload(catalog, GOOD)
    assert response.status_code == 413
    assert response.json() == {"detail": "body: an import holds at most 64 bytes"}
    assert stored_touches(catalog) == []


def test_a_file_over_the_row_limit_is_refused_and_nothing_is_written(catalog: Api) -> None:
    catalog.client.app.state.settings.import_row_limit = 1  # type: ignore[attr-defined]
    response = upload(catalog, GOOD)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "line", 3, "body"],
            "msg": "an import holds at most 1 rows",
            "type": "value_error",
        }
    ]
    assert stored_touches(catalog) == [] and member_count(catalog) == 0


def test_a_damaged_gzip_names_where_it_breaks(catalog: Api) -> None:
    packed = gzip.compress(GOOD.encode())[:-12]
    response = upload(catalog, packed, format="csv")
    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"] == "the gzip stream is damaged or cut short"


def test_a_known_member_external_id_is_used_and_an_unknown_one_rejected(catalog: Api) -> None:
    catalog.post("/v1/members:batch", json={"members": [{"external_id": "m-1"}]})
    body = (
        "external_id,occurred_at,activity_type,member_external_id\n"
        "t-1,2025-03-01T12:00:00Z,forum_answer,m-1\n"
        "t-2,2025-03-01T12:00:00Z,forum_answer,m-2\n"
    )
    response = upload(catalog, body)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "line", 3, "member_external_id"],
            "msg": "unknown member 'm-2'",
            "type": "value_error",
        }
    ]
    assert upload(catalog, body, partial="true").json()["stored"] == 1


def test_rows_are_read_a_few_at_a_time_with_every_line_number_right(catalog: Api) -> None:
    """Rows are checked a chunk at a time (here 2 lines); a quoted value over several lines,
    a blank line and Windows line ends keep every later line number right."""
    catalog.client.app.state.settings.import_batch_rows = 2  # type: ignore[attr-defined]
    body = (
        "external_id,occurred_at,activity_type,member_email,note\r\n"
        't-1,2025-03-01T12:00:00Z,forum_answer,ada@example.com,"one\r\ntwo\r\nthree"\r\n'
        "\r\n"
        "t-2,later,forum_answer,bob@example.com,\r\n"
        't-3,2025-03-01T12:00:00Z,podcast,carol@example.com,"a, b"\r\n'
        "t-4,1740830400,forum_answer,dan@example.com,plain\r\n"
    )
    response = upload(catalog, body, partial="true", mapping={"properties": ["note"]})
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["rows_read"], result["stored"], result["rejected"]) == (4, 2, 2)
    assert [(r["line"], r["field"]) for r in result["rejections"]] == [
        (6, "occurred_at"),
        (7, "activity_type"),
    ]
    assert stored_touches(catalog) == [
        ("zoom", "t-1", "2025-03-01T12:00:00+00:00"),
        ("zoom", "t-4", "2025-03-01T12:00:00+00:00"),
    ]


def test_a_quoted_value_left_open_names_the_line_it_starts_on(catalog: Api) -> None:
    catalog.client.app.state.settings.import_batch_rows = 2  # type: ignore[attr-defined]
    body = GOOD + 't-3,2025-03-01T12:00:00Z,forum_answer,"carol@example.com\nt-4,x,y,z\n'
    response = upload(catalog, body)
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "loc": ["body", "line", 4, "body"],
            "msg": "not CSV: unexpected end of data",
            "type": "value_error",
        }
    ]


def test_members_a_file_creates_are_resolved_like_any_member(catalog: Api) -> None:
    """Members are created for a file's new emails in bulk; each is linked to its contact, its
    lead or its domain's account, and flagged staff, as ``members:batch`` would."""
    assert catalog.patch("/v1/workspace", json={"staff_domains": ["ourco.com"]}).status_code == 200
    crm = {
        "accounts": [
            {"external_id": "001-A", "name": "Acme", "domain": "acme.com"},
            {"external_id": "001-G", "name": "Globex", "domain": "globex.com"},
        ],
        "contacts": [
            {
                "external_id": "003-ADA",
                "account": "001-A",
                "email": "ada@acme.com",
                "created_at": "2025-01-10T15:00:00Z",
            }
        ],
        "leads": [
            {
                "external_id": "00Q-BO",
                "email": "bo@lead.example",
                "created_at": "2025-01-10T15:00:00Z",
            }
        ],
    }
    assert catalog.post("/v1/crm/import", json=crm).status_code == 200
    body = "external_id,occurred_at,activity_type,member_email\n" + "".join(
        f"t-{n},2025-03-01T12:00:00Z,forum_answer,{email}\n"
        for n, email in enumerate(
            [
                "ADA@acme.com",
                "bo@lead.example",
                "jo@eu.globex.com",
                "me@ourco.com",
                "x@other.example",
            ]
        )
    )
    assert upload(catalog, body).json()["members_created"] == 5
    links = {
        email: [(link["target"], link["external_id"], link["method"]) for link in member["links"]]
        for email in (
            "ada@acme.com",
            "bo@lead.example",
            "jo@eu.globex.com",
            "me@ourco.com",
            "x@other.example",
        )
        for member in [catalog.get(f"/v1/members/{email}").json()]
    }
    assert links == {
        "ada@acme.com": [("contact", "003-ADA", "email")],
        "bo@lead.example": [("lead", "00Q-BO", "email")],
        "jo@eu.globex.com": [("account", "001-G", "parent_domain")],
        "me@ourco.com": [],
        "x@other.example": [],
    }
    staff = catalog.get("/v1/members/me@ourco.com").json()
    assert (staff["is_staff"], staff["staff_reason"]) == (
        True,
        "me@ourco.com is on the staff domain ourco.com",
    )
    assert catalog.get("/v1/members/x@other.example").json()["is_staff"] is False


def test_members_created_by_a_touch_import_counts_only_new_emails(catalog: Api) -> None:
    catalog.post(
        "/v1/members:batch",
        json={"members": [{"external_id": "m-1", "emails": ["ada@example.com"]}]},
    )
    body = (
        "external_id,occurred_at,activity_type,member_email\n"
        "t-1,2025-03-01T12:00:00Z,forum_answer,ADA@example.com\n"
        "t-2,2025-03-01T12:00:00Z,forum_answer,bob@example.com\n"
        "t-3,2025-03-01T12:00:00Z,forum_answer,bob@example.com\n"
    )
    assert upload(catalog, body).json()["members_created"] == 1
