"""Fixtures of the attribution tests."""

from __future__ import annotations

import pytest

from attribution import PreparedJourneys, prepare
from tests.attribution.golden_frames import Golden, golden


@pytest.fixture(scope="session")
def golden_data() -> Golden:
    return golden()


@pytest.fixture(scope="session")
def golden_prepared(golden_data: Golden) -> PreparedJourneys:
    return prepare(golden_data.touches, golden_data.opportunities, golden_data.settings)
