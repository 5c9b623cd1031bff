"""Member resolution on the golden dataset: links, accounts and staff exactly as expected.json."""

from __future__ import annotations

from tests.conftest import Api
from tests.golden import loader


def test_every_member_resolves_as_expected(api: Api) -> None:
    loader.load(api)
    for external_id, want in loader.expected()["members"].items():
        got = api.get(f"/v1/members/{external_id}").json()
        links = {(link["target"], link["external_id"]): link["method"] for link in got["links"]}
        expected_links = {
            **{("contact", c): method for c, method in want["contacts"].items()},
            **{("lead", lead): method for lead, method in want["leads"].items()},
        }
        if want["account_method"] == "domain":
            expected_links[("account", want["account"])] = "domain"
        assert links == expected_links, external_id
        assert (got["account"], got["account_method"]) == (
            want["account"],
            want["account_method"],
        ), external_id
        assert got["is_staff"] is want["staff"], external_id
        assert got["emails"] == sorted(want["emails"]), external_id


def test_a_touchpoint_delivered_twice_is_stored_once(api: Api) -> None:
    loader.load(api)
    touchpoints = loader.dataset()["touchpoints"]
    again = api.post(
        "/v1/touchpoints:batch",
        json={"touchpoints": [{k: v for k, v in t.items() if k != "notes"} for t in touchpoints]},
    )
    assert again.json() == {
        "received": len(touchpoints),
        "stored": loader.expected()["stored_touches"]["count"],
        "members_created": 0,
    }
