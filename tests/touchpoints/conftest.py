from __future__ import annotations

import pytest

from tests.conftest import Api


@pytest.fixture
def catalog(api: Api) -> Api:
    response = api.put(
        "/v1/activity-types/forum_answer", json={"name": "Answer", "category": "support"}
    )
    assert response.status_code == 200
    return api
