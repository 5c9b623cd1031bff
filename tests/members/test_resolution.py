"""Resolution: email, converted lead, unique domain with a registrable-domain fallback, free mail
from the shipped list, staff; each link with its method and confidence."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.models import Contact, ContactEmail
from tests.conftest import Api
from tests.imports.helpers import reading

CREATED = "2025-01-10T15:00:00Z"


def _crm(api: Api, **parts: list[dict[str, Any]]) -> Any:
    response = api.post("/v1/crm/import", json=parts)
    assert response.status_code == 200, response.text
    return response.json()


def _members(api: Api, *members: dict[str, Any]) -> Any:
    response = api.post("/v1/members:batch", json={"members": list(members)})
    assert response.status_code == 200, response.text
    return response.json()


def _links(api: Api, external_id: str) -> list[tuple[str, str, str, float]]:
    return [
        (link["target"], link["external_id"], link["method"], link["confidence"])
        for link in api.get(f"/v1/members/{external_id}").json()["links"]
    ]


def test_a_subdomain_email_falls_back_to_its_registrable_domain(api: Api) -> None:
    _crm(api, accounts=[{"external_id": "001-A", "name": "Acme", "domain": "acme.com"}])
    _members(api, {"external_id": "jo", "emails": ["jo@eu.acme.com"]})
    assert _links(api, "jo") == [("account", "001-A", "parent_domain", 0.6)]
    member = api.get("/v1/members/jo").json()
    assert (member["account"], member["account_method"]) == ("001-A", "parent_domain")


def test_a_subdomain_with_an_account_of_its_own_links_to_that_account(api: Api) -> None:
    _crm(
        api,
        accounts=[
            {"external_id": "001-A", "name": "Acme", "domain": "acme.com"},
            {"external_id": "001-EU", "name": "Acme Europe", "domain": "eu.acme.com"},
        ],
    )
    _members(api, {"external_id": "jo", "emails": ["jo@eu.acme.com"]})
    assert _links(api, "jo") == [("account", "001-EU", "domain", 0.7)]


def test_a_domain_on_the_shipped_free_mail_list_never_links_an_account(api: Api) -> None:
    assert api.patch("/v1/workspace", json={"free_mail_domains": []}).status_code == 200
    _crm(api, accounts=[{"external_id": "001-G", "name": "Someone", "domain": "gmx.net"}])
    _members(api, {"external_id": "jo", "emails": ["jo@gmx.net"]})
    assert _links(api, "jo") == []


def test_email_and_converted_lead_links_carry_their_confidence(api: Api) -> None:
    _crm(
        api,
        accounts=[{"external_id": "001-A", "name": "Acme", "domain": "acme.com"}],
        contacts=[
            {
                "external_id": "003-JO",
                "account": "001-A",
                "email": "jo@acme.com",
                "created_at": CREATED,
            }
        ],
        leads=[
            {
                "external_id": "00Q-JO",
                "email": "jo@home.example",
                "created_at": CREATED,
                "converted_contact": "003-JO",
            }
        ],
    )
    _members(api, {"external_id": "a", "emails": ["jo@acme.com"]})
    _members(api, {"external_id": "b", "emails": ["jo@home.example"]})
    assert _links(api, "a") == [("contact", "003-JO", "email", 1.0)]
    assert _links(api, "b") == [
        ("contact", "003-JO", "converted_lead", 0.95),
        ("lead", "00Q-JO", "email", 1.0),
    ]


def test_a_crm_import_resolves_only_the_members_it_concerns(api: Api) -> None:
    _members(
        api,
        {"external_id": "jo", "emails": ["jo@acme.com"]},
        {"external_id": "al", "emails": ["al@eu.initech.com"]},
        {"external_id": "zed", "emails": ["zed@nowhere.example"]},
    )
    answer = _crm(
        api,
        accounts=[{"external_id": "001-I", "name": "Initech", "domain": "initech.com"}],
        contacts=[{"external_id": "003-JO", "email": "Jo@Acme.com", "created_at": CREATED}],
    )
    assert answer["members_resolved"] == 2
    assert _links(api, "jo") == [("contact", "003-JO", "email", 1.0)]
    assert _links(api, "al") == [("account", "001-I", "parent_domain", 0.6)]


def test_a_staff_member_shows_why(api: Api) -> None:
    assert api.patch("/v1/workspace", json={"staff_domains": ["acme-corp.com"]}).status_code == 200
    _members(api, {"external_id": "dana", "emails": ["dana@eu.acme-corp.com"]})
    member = api.get("/v1/members/dana").json()
    assert (member["is_staff"], member["staff_reason"]) == (
        True,
        "dana@eu.acme-corp.com is on the staff domain acme-corp.com",
    )


def test_a_changed_contact_reresolves_the_members_of_its_other_emails(api: Api) -> None:
    """A contact's other emails (HubSpot ``hs_additional_emails``, kept in ``contact_email``)
    name members as its primary email does when the contact changes."""
    _members(api, {"external_id": "m-alt", "emails": ["ada.alt@acme.com"]})
    contact = {"external_id": "003-ADA", "email": "ada@acme.com", "created_at": CREATED}
    _crm(api, contacts=[contact])
    assert _links(api, "m-alt") == []
    with reading(api) as session:
        contact_id = session.scalars(
            select(Contact.id).where(
                Contact.workspace_id == api.workspace_id, Contact.external_id == "003-ADA"
            )
        ).one()
        session.add(
            ContactEmail(
                workspace_id=api.workspace_id,
                contact_id=contact_id,
                email="Ada.Alt@acme.com",
                email_normalized="ada.alt@acme.com",
            )
        )
    _crm(api, contacts=[{**contact, "name": "Ada Lovelace"}])
    assert _links(api, "m-alt") == [("contact", "003-ADA", "email", 1.0)]
