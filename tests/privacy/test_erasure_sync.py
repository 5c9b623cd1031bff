"""An erased person stays out of the CRM sync: the contact comes back from the CRM, nothing is
stored."""

from __future__ import annotations

from sqlalchemy import func, select

from app.models import Contact
from tests.fakes.salesforce import FakeSalesforce
from tests.sync.conftest import SyncHarness, harness_for
from tests.sync.test_salesforce_sync import connect, fake, harness, seed

__all__ = ["fake", "harness", "harness_for"]  # the sync suite's fixtures, used here


def test_a_resync_of_an_erased_contact_stores_nothing(
    harness: SyncHarness, fake: FakeSalesforce
) -> None:
    ids = seed(fake)
    connection = connect(harness, fake)
    assert harness.sync(connection)["status"] == "succeeded"
    erased = harness.api.post("/v1/privacy/erase", json={"email": "alice@globex.com"})
    assert (erased.status_code, erased.json()["crm_records"]) == (200, 1)
    harness.later()
    fake.put("Contact", {"Id": ids["alice"], "Title": "VP Platform"})
    again = harness.sync(connection)
    assert again["status"] == "succeeded"
    assert again["counts"]["contact"]["skipped"] == 1
    stored = harness.scalars(
        select(func.count())
        .select_from(Contact)
        .where(
            Contact.workspace_id == harness.api.workspace_id,
            Contact.email_normalized == "alice@globex.com",
        )
    )
    assert stored == [0]
