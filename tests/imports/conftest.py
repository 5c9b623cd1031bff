from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def catalog(api: Api) -> Api:
    for key, category in (("webinar_attended", "engagement"), ("forum_answer", "support")):
        assert (
            api.put(
                f"/v1/activity-types/{key}", json={"name": key, "category": category}
            ).status_code
            == 200
        )
    return api
