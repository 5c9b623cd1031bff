"""Journeys: windows, duplicates, staff, order and flags (DESIGN.md section 2, Fine print)."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import polars as pl

from attribution import JourneySettings, prepare
from attribution._journeys import duplicate_mask
from tests.attribution.builders import (
    AS_OF,
    SETTINGS,
    amounts,
    at,
    credits,
    flags,
    frames,
    opportunity,
    run,
    touch,
    touch_ids,
)

CREATED = at(200)
WINDOW_START = CREATED - timedelta(days=365)
MICROSECOND = timedelta(microseconds=1)


def test_touch_reached_through_several_people_counts_once() -> None:
    # The same touch arrives once per reaching contact (one member, two contact records).
    shared = touch(1, 1, at(100), person="member:carol")
    rows = [shared, dict(shared), touch(1, 2, at(110), person="member:dave")]
    result = run(rows, [opportunity(1, 1000, CREATED)], "linear")
    assert touch_ids(result, "pipeline", 1) == [1, 2]
    assert amounts(result, "pipeline", 1) == [500, 500]


def test_touches_of_several_members_of_one_opportunity() -> None:
    rows = [
        touch(1, 1, at(100), person="member:a"),
        touch(1, 2, at(101), person="member:b"),
        touch(1, 3, at(102), "webinar_attended", source="salesforce", person="contact:c"),
    ]
    result = run(rows, [opportunity(1, 900, CREATED)], "linear")
    assert amounts(result, "pipeline", 1) == [300, 300, 300]


def test_window_edges_are_inclusive() -> None:
    rows = [
        touch(1, 1, WINDOW_START - MICROSECOND),  # out
        touch(1, 2, WINDOW_START),  # in: the window start
        touch(1, 3, CREATED),  # in: exactly at created_at
        touch(1, 4, CREATED + MICROSECOND),  # revenue only
        touch(1, 5, CREATED + timedelta(days=10)),  # exactly at the close: in revenue
        touch(1, 6, CREATED + timedelta(days=10) + MICROSECOND),  # after the close: out
    ]
    opp = opportunity(1, 1000, CREATED, closed_at=CREATED + timedelta(days=10))
    result = run(rows, [opp], "linear")
    assert touch_ids(result, "pipeline", 1) == [2, 3]
    assert touch_ids(result, "revenue", 1) == [2, 3, 4, 5]


def test_same_instant_ordered_by_source_then_external_id() -> None:
    rows = [
        touch(1, 1, at(100), source="zoom", external_id="a"),
        touch(1, 2, at(100), source="bevy", external_id="z"),
        touch(1, 3, at(100), source="bevy", external_id="m"),
        touch(1, 4, at(99), source="zzz", external_id="zzz"),
    ]
    result = run(rows, [opportunity(1, 1000, CREATED)], "first_touch")
    assert touch_ids(result, "pipeline", 1) == [4, 3, 2, 1]


def test_duplicates_keep_the_earliest_without_chaining() -> None:
    # Same member and activity type at 0, 40 and 70 minutes: 40 is within 60 of the kept 0
    # (dropped); 70 is more than 60 after the kept touch, so it starts a new group (the
    # dropped 40 does not chain). 60 minutes exactly is inclusive (dropped).
    same = {"person": "member:m", "activity_type": "forum_question"}
    rows = [
        touch(1, 1, at(100, 0), **same),  # type: ignore[arg-type]
        touch(1, 2, at(100, 40), **same),  # type: ignore[arg-type]
        touch(1, 3, at(100, 70), **same),  # type: ignore[arg-type]
        touch(1, 4, at(100, 130), **same),  # type: ignore[arg-type]  (60 after 70: dropped)
        touch(1, 5, at(100, 10), "forum_answer", person="member:m"),  # other type: kept
        touch(1, 6, at(100, 20), person="member:n"),  # other person: kept
    ]
    result = run(rows, [opportunity(1, 1000, CREATED)], "linear")
    assert touch_ids(result, "pipeline", 1) == [1, 5, 6, 3]


def test_duplicates_are_removed_before_any_window() -> None:
    # The kept touch is 30 minutes before the window start; its duplicate inside the window
    # is dropped all the same, so the opportunity only has the other touch.
    same = {"person": "member:m"}
    rows = [
        touch(1, 1, WINDOW_START - timedelta(minutes=30), **same),  # type: ignore[arg-type]
        touch(1, 2, WINDOW_START + timedelta(minutes=10), **same),  # type: ignore[arg-type]
        touch(1, 3, at(100)),
    ]
    result = run(rows, [opportunity(1, 1000, CREATED)], "linear")
    assert touch_ids(result, "pipeline", 1) == [3]


def test_duplicate_mask_long_runs() -> None:
    # One group, a touch every 25 minutes for 200 touches, window 60: kept every third
    # (0, 75, 150, ... minutes): the greedy chain, followed by binary lifting.
    minutes = np.arange(200, dtype=np.int64) * 25
    dropped = duplicate_mask(np.zeros(200, dtype=np.int64), minutes, 60)
    assert np.flatnonzero(~dropped).tolist() == list(range(0, 200, 3))
    # Two groups interleaved in time are independent.
    group = np.array([0, 0, 0, 1, 1, 1], dtype=np.int64)
    time = np.array([0, 30, 61, 0, 60, 61], dtype=np.int64)
    assert duplicate_mask(group, time, 60).tolist() == [False, True, False, False, True, False]


def test_staff_touches_are_excluded_unless_asked() -> None:
    rows = [touch(1, 1, at(100), staff=True), touch(1, 2, at(110))]
    opps = [opportunity(1, 1000, CREATED)]
    assert touch_ids(run(rows, opps, "linear"), "pipeline", 1) == [2]
    keep_staff = JourneySettings(as_of=AS_OF, exclude_staff=False)
    assert touch_ids(run(rows, opps, "linear", keep_staff), "pipeline", 1) == [1, 2]


def test_opportunity_without_touches() -> None:
    rows = [touch(1, 1, at(100))]
    opps = [opportunity(1, 1000, CREATED), opportunity(2, 500, CREATED, status="open")]
    result = run(rows, opps, "w_shaped")
    assert credits(result, "pipeline", 2) == []
    assert flags(result, 2) == {
        "opportunity_id": 2,
        "pipeline_influenced": False,
        "revenue_influenced": False,
        "sourced": False,
        "accelerated": False,
    }


def test_flags_sourced_influenced_accelerated() -> None:
    closed = CREATED + timedelta(days=20)
    rows = [
        # O1 won: first pipeline touch is marketing -> not sourced; community in both windows.
        touch(1, 1, at(100), "webinar_attended", source="salesforce", person="contact:x"),
        touch(1, 2, at(150)),
        touch(1, 3, CREATED + timedelta(days=5)),  # after creation, before close: accelerated
        # O2 lost: community touch only after the close -> not accelerated.
        touch(2, 4, at(150)),
        touch(2, 5, closed + timedelta(days=1)),
        # O3 open: community touch after creation and before as_of -> accelerated.
        touch(3, 6, CREATED + timedelta(days=100)),
        # O4 open: the touch is after as_of -> not accelerated.
        touch(4, 7, AS_OF + timedelta(days=1)),
        # O5: a marketing activity flagged community still is not community.
        touch(5, 8, at(150), "email_click", source="salesforce", community=True),
    ]
    opps = [
        opportunity(1, 1000, CREATED, closed_at=closed),
        opportunity(2, 1000, CREATED, status="lost", closed_at=closed),
        opportunity(3, 1000, CREATED, status="open"),
        opportunity(4, 1000, CREATED, status="open"),
        opportunity(5, 1000, CREATED, status="open"),
    ]
    result = run(rows, opps, "linear")
    assert flags(result, 1) | {} == {
        "opportunity_id": 1,
        "pipeline_influenced": True,
        "revenue_influenced": True,
        "sourced": False,
        "accelerated": True,
    }
    assert flags(result, 2)["accelerated"] is False
    assert flags(result, 2)["sourced"] is True
    assert flags(result, 2)["revenue_influenced"] is False
    assert flags(result, 3)["accelerated"] is True
    assert flags(result, 4)["accelerated"] is False
    assert flags(result, 5)["pipeline_influenced"] is False
    assert flags(result, 5)["sourced"] is False


def test_missing_and_negative_amounts() -> None:
    rows = [touch(1, 1, at(100)), touch(2, 2, at(100)), touch(3, 3, at(100))]
    opps = [
        opportunity(1, None, CREATED),
        opportunity(2, -500, CREATED),
        opportunity(3, 700, CREATED, status="lost"),
    ]
    result = run(rows, opps, "linear")
    # A missing amount counts as 0: rows with 0 cents.
    assert amounts(result, "revenue", 1) == [0]
    # A negative amount: no credit rows (flags still reported) and left out of the fits.
    assert credits(result, "pipeline", 2) == []
    assert flags(result, 2)["pipeline_influenced"] is True
    prepared = prepare(*frames(rows, opps), SETTINGS)
    assert prepared.opportunity_id[prepared.fit.opp].tolist() == [1, 3]
    assert prepared.stats["negative_amounts"] == 1


def test_rows_of_unknown_opportunities_are_ignored() -> None:
    rows = [touch(1, 1, at(100)), touch(99, 2, at(100))]
    result = run(rows, [opportunity(1, 100, CREATED)], "linear")
    assert result.credits["opportunity_id"].unique().to_list() == [1]


def test_empty_inputs() -> None:
    result = run([], [], "markov")
    assert result.credits.height == 0
    assert result.flags.height == 0
    assert result.credits.schema == pl.Schema(
        {
            "stage": pl.String,
            "opportunity_id": pl.Int64,
            "touch_id": pl.Int64,
            "fraction": pl.Float64,
            "amount": pl.Int64,
        }
    )
