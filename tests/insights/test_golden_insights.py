"""Lift and coverage on the golden dataset (tests/fixtures/golden), every value derived by hand
from dataset.json and README.md.

Account sizes are not in the golden dataset; the fixture adds them (employees: Globex 40,
Initech 200, Umbrella 800, Hooli 3,000, Stark 12,000, Pendant 2,500; annual revenue: Globex 5M,
Hooli 2B, the others none). They change no attribution figure."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from tests.conftest import Api
from tests.golden import loader

PERIOD = {"from": "2024-10-31", "to": "2025-09-12"}
SIZES: dict[str, dict[str, Any]] = {
    "001-GLOBEX": {"employees": 40, "annual_revenue": "5000000"},
    "001-INITECH": {"employees": 200},
    "001-UMBRELLA": {"employees": 800},
    "001-HOOLI": {"employees": 3000, "annual_revenue": "2000000000"},
    "001-STARK": {"employees": 12000},
    "001-PENDANT": {"employees": 2500},
}


@pytest.fixture(scope="module")
def golden(insights_api: Api) -> Api:
    loader.load(insights_api)
    accounts = [
        {k: v for k, v in a.items() if k != "notes"} | SIZES[a["external_id"]]
        for a in loader.dataset()["accounts"]
    ]
    response = insights_api.post(
        "/v1/crm/import", json={"source": loader.CRM_SOURCE, "accounts": accounts}
    )
    assert response.status_code in (200, 201), response.text
    loader.run(insights_api, "linear")
    return insights_api


def report(api: Api, name: str, **params: Any) -> Any:
    response = api.get(f"/v1/reports/{name}", params={**PERIOD, **params})
    assert response.status_code == 200, response.text
    return response.json()


# Days from created_at to the end of the CloseDate's local day (America/New_York; EDT is UTC-4
# from 2025-03-09, EST UTC-5 before), less the 1 µs before midnight:
#   O01 03-04 15:00Z -> 05-31 04:00Z  87 d 13 h = 87.5417    O03 04-08 13:30Z -> 07-16 04:00Z = 98.6042
#   O05 06-16 14:00Z -> 08-30 04:00Z  74 d 14 h = 74.5833    O07 05-06 16:00Z -> 08-01 04:00Z = 86.5
#   O09 2024-11-01 02:00Z -> 2025-01-21 05:00Z  81 d 3 h = 81.125
#   O11 06-24 14:00Z -> 09-13 04:00Z  80 d 14 h = 80.5833    O10 06-03 14:00Z -> 06-30 04:00Z = 26.5833
DAYS = {
    "O01": 87 + 13 / 24,
    "O03": 98 + 14.5 / 24,
    "O05": 74 + 14 / 24,
    "O07": 86.5,
    "O09": 81.125,
    "O11": 80 + 14 / 24,
    "O10": 26 + 14 / 24,
}


def test_lift_overall_compares_influenced_with_the_rest(golden: Api) -> None:
    lift = report(golden, "lift")
    assert (lift["band_by"], lift["confidence"], lift["bootstrap_resamples"]) == (
        "employees",
        0.95,
        2000,
    )
    overall = lift["overall"]
    assert overall["band"] == "all"
    influenced, other = overall["influenced"], overall["not_influenced"]
    # All 12 opportunities are created in the period. Not influenced in the pipeline window:
    # O08 (no touches, open) and O10 (only marketing before creation; won). The other 10 are
    # influenced: closed O01 O03 O04 O05 O07 O09 O11 O12, of which O04 and O12 lost.
    assert (influenced["opportunities"], influenced["closed"], influenced["won"]) == (10, 8, 6)
    assert (other["opportunities"], other["closed"], other["won"]) == (2, 1, 1)
    assert influenced["win_rate"] == 0.75
    # Wilson 6/8 (see test_statistics): [0.4092754, 0.9285208]; 1/1: [0.2065493, 1]
    assert influenced["win_rate_low"] == pytest.approx(0.4092754, abs=1e-7)
    assert influenced["win_rate_high"] == pytest.approx(0.9285208, abs=1e-7)
    assert (other["win_rate"], other["win_rate_high"]) == (1.0, 1.0)
    assert other["win_rate_low"] == pytest.approx(0.2065493, abs=1e-7)
    assert overall["win_rate_difference"] == -0.25
    # Won amounts in USD cents at the close date: 4,800,000 + 1,000,001 + 3,600,000 + 6,000,000
    # + O09 2,500,000 EUR x 1.03531 = 2,588,275 + 1,200,000 = 19,188,276; / 6 = 3,198,046.
    assert influenced["avg_won_amount_minor"] == 3_198_046
    assert (influenced["won_with_amount"], influenced["won_missing_amount"]) == (6, 0)
    assert influenced["won_without_rate"] == 0
    assert other["avg_won_amount_minor"] == 720_000  # O10 7,200.00
    assert overall["avg_won_amount_ratio"] == pytest.approx(3_198_046 / 720_000)
    # A bootstrap mean lies between the smallest and the largest value
    assert 1_000_001 < influenced["avg_won_amount_low_minor"] < 3_198_046
    assert 3_198_046 < influenced["avg_won_amount_high_minor"] < 6_000_000
    assert (other["avg_won_amount_low_minor"], other["avg_won_amount_high_minor"]) == (
        720_000,
        720_000,
    )
    # (87.5417 + 98.6042 + 74.5833 + 86.5 + 81.125 + 80.5833) / 6 = 508.9375 / 6 = 84.82
    won_days = [DAYS[o] for o in ("O01", "O03", "O05", "O07", "O09", "O11")]
    assert influenced["avg_days_to_close"] == round(sum(won_days) / 6, 2) == 84.82
    assert min(won_days) < influenced["avg_days_to_close_low"] < 84.82
    assert 84.82 < influenced["avg_days_to_close_high"] < max(won_days)
    assert other["avg_days_to_close"] == other["avg_days_to_close_low"] == 26.58
    assert overall["days_to_close_difference"] == 58.24


def test_lift_within_employee_bands(golden: Api) -> None:
    lift = report(golden, "lift")
    bands = {segment["band"]: segment for segment in lift["bands"]}
    assert list(bands) == ["1-50", "51-250", "251-1000", "1001-5000", "5001+", "unknown"]

    def counts(band: str, group: str) -> tuple[int, int, int]:
        g = bands[band][group]
        return g["opportunities"], g["closed"], g["won"]

    # Globex (40): O01 won, O02 open, O12 lost - all influenced
    assert counts("1-50", "influenced") == (3, 2, 1)
    assert counts("1-50", "not_influenced") == (0, 0, 0)
    assert bands["1-50"]["not_influenced"]["win_rate"] is None
    assert bands["1-50"]["win_rate_difference"] is None
    assert bands["1-50"]["influenced"]["avg_won_amount_minor"] == 4_800_000
    assert bands["1-50"]["influenced"]["avg_days_to_close"] == 87.54
    # Initech (200): O03 won, O04 lost
    assert counts("51-250", "influenced") == (2, 2, 1)
    assert bands["51-250"]["influenced"]["avg_won_amount_minor"] == 1_000_001
    # Umbrella (800): O05 won, O06 open (no amount)
    assert counts("251-1000", "influenced") == (2, 1, 1)
    # Hooli (3,000) and Pendant (2,500): O07 and O11 won and influenced; O08 open and O10 won,
    # not influenced. Both win rates are 1: no difference once account size is held fixed.
    assert counts("1001-5000", "influenced") == (2, 2, 2)
    assert counts("1001-5000", "not_influenced") == (2, 1, 1)
    hooli = bands["1001-5000"]
    assert hooli["win_rate_difference"] == 0.0
    assert hooli["influenced"]["avg_won_amount_minor"] == 3_600_000  # (6,000,000 + 1,200,000) / 2
    assert hooli["avg_won_amount_ratio"] == 5.0  # 3,600,000 / 720,000
    assert hooli["influenced"]["avg_days_to_close"] == 83.54  # (86.5 + 80.5833) / 2
    assert hooli["days_to_close_difference"] == 56.96  # 83.54 - 26.58
    # Stark (12,000): O09 won, EUR converted at the close date
    assert counts("5001+", "influenced") == (1, 1, 1)
    assert bands["5001+"]["influenced"]["avg_won_amount_minor"] == 2_588_275
    assert bands["5001+"]["influenced"]["avg_days_to_close"] == 81.12
    assert counts("unknown", "influenced") == counts("unknown", "not_influenced") == (0, 0, 0)
    # Only the 1001-5000 band compares, at 0: the crude -0.25 was an account-size effect.
    assert lift["band_adjusted_win_rate_difference"] == 0.0


def test_lift_by_annual_revenue(golden: Api) -> None:
    lift = report(golden, "lift", band_by="annual_revenue")
    assert lift["band_by"] == "annual_revenue"
    sizes = {
        s["band"]: s["influenced"]["opportunities"] + s["not_influenced"]["opportunities"]
        for s in lift["bands"]
    }
    # Globex 5M: O01 O02 O12; Hooli 2B: O07 O08 O11; the other six have no revenue.
    assert sizes == {
        "<1M": 0,
        "1M-10M": 3,
        "10M-100M": 0,
        "100M-1B": 0,
        "1B+": 3,
        "unknown": 6,
    }


def test_lift_takes_the_report_filters(golden: Api) -> None:
    # expansion: O02 (open), O06 (open), O11 (won) influenced; O08 (open) not
    overall = report(golden, "lift", type="expansion")["overall"]
    assert (overall["influenced"]["opportunities"], overall["influenced"]["won"]) == (3, 1)
    assert overall["influenced"]["avg_won_amount_minor"] == 1_200_000
    assert (overall["not_influenced"]["opportunities"], overall["not_influenced"]["closed"]) == (
        1,
        0,
    )


def test_lift_is_deterministic(golden: Api) -> None:
    first = golden.get("/v1/reports/lift", params=PERIOD)
    second = golden.get("/v1/reports/lift", params=PERIOD)
    assert first.headers["ETag"] == second.headers["ETag"]


def test_coverage_of_the_golden_run(golden: Api) -> None:
    coverage = report(golden, "coverage")
    # Contact roles on O01 O02 O03 O04 O07 O08 O09 O10 O11 O12; none on O05 and O06.
    assert (coverage["opportunities"], coverage["with_contact_roles"]) == (12, 10)
    assert coverage["contact_role_share"] == pytest.approx(10 / 12)
    # 14 members: mem-dana is staff; of the 13 others, 10 match a contact (mem-dan through his
    # converted lead), mem-umbrella-ops only its account by domain, mem-kramer and mem-zed
    # nothing. 11 / 13 match.
    assert coverage["members"] == {
        "members": 14,
        "staff": 1,
        "matched_to_contact": 10,
        "matched_to_lead_only": 0,
        "matched_to_account_only": 1,
        "unmatched": 2,
        "match_rate": pytest.approx(11 / 13),
    }
    # 53 stored touches: 13 campaign (marketing) touches 00v-0001..00v-0013, 40 community.
    # No credit in any window:
    #   community (11): dsc-1015 (duplicate), dsc-1013 and ev-3004 (staff), dsc-1020 and ev-3006
    #     (unmatched members), dsc-1009 (1 s before O05's window), adv-5004, dsc-1008 (after
    #     lost O04's creation and close), dsc-1019 (after O10's close), dsc-1003 (after open O02's
    #     creation), dsc-1011 (after open O06's creation)
    #   marketing (2): 00v-0012 (unconverted lead 00Q-LENA), 00v-0004 (after lost O04's creation)
    assert coverage["touches"] == [
        {"channel": "community", "stored": 40, "credited": 29, "outside_every_window": 11},
        {"channel": "marketing", "stored": 13, "credited": 11, "outside_every_window": 2},
    ]
    # dsc-1015 is 40 min after dsc-1014 (same member, same type)
    assert coverage["duplicates"]["dropped"] == 1
    assert coverage["duplicates"]["window_minutes"] == 60
    assert coverage["missing_amounts"] == {"count": 1, "external_ids": ["006-O06"]}
    assert coverage["negative_amounts"] == {"count": 0, "external_ids": []}
    assert coverage["unconverted"] == []  # O09's EUR has rates on both dates


def test_coverage_takes_the_report_filters(golden: Api) -> None:
    # expansion: O02, O06, O08, O11; O06 has no contact role and no amount
    coverage = report(golden, "coverage", type="expansion")
    assert (coverage["opportunities"], coverage["with_contact_roles"]) == (4, 3)
    assert coverage["missing_amounts"]["external_ids"] == ["006-O06"]
    # Globex has no missing amount; members and touches are the workspace's, whatever the filter
    globex = report(golden, "coverage", account="001-GLOBEX")
    assert globex["missing_amounts"] == {"count": 0, "external_ids": []}
    assert globex["members"]["members"] == 14


def test_lift_as_csv(golden: Api) -> None:
    response = golden.get("/v1/reports/lift", params={**PERIOD, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert list(table[0])[:8] == [
        "run_id",
        "model",
        "currency",
        "from",
        "to",
        "band",
        "group",
        "opportunities",
    ]
    assert len(table) == 2 * 7  # overall and six bands, influenced and not
    overall = {row["group"]: row for row in table if row["band"] == "all"}
    assert overall["influenced"]["avg_won_amount_minor"] == "3198046"
    assert overall["influenced"]["win_rate"] == "0.75"
    assert overall["not_influenced"]["won"] == "1"
    empty = next(r for r in table if r["band"] == "unknown" and r["group"] == "influenced")
    assert (empty["win_rate"], empty["avg_won_amount_minor"]) == ("", "")


def test_coverage_as_csv(golden: Api) -> None:
    response = golden.client.get(
        "/v1/reports/coverage", params=PERIOD, headers={**golden.headers, "Accept": "text/csv"}
    )
    assert response.status_code == 200
    table = list(csv.DictReader(io.StringIO(response.text)))
    assert list(table[0]) == [
        "run_id",
        "model",
        "currency",
        "from",
        "to",
        "section",
        "metric",
        "key",
        "value",
    ]
    rows = {(r["section"], r["metric"], r["key"]): r["value"] for r in table}
    assert rows[("opportunities", "with_contact_roles", "")] == "10"
    assert rows[("members", "unmatched", "")] == "2"
    assert rows[("touches", "outside_every_window", "community")] == "11"
    assert rows[("amounts", "missing_amount_count", "")] == "1"
    assert rows[("amounts", "missing_amount", "006-O06")] == "1"
    assert rows[("amounts", "negative_amount_count", "")] == "0"
    assert rows[("duplicates", "dropped", "")] == "1"
    assert {r["model"] for r in table} == {"linear"}


def test_an_unknown_run_is_a_404(golden: Api) -> None:
    assert golden.get("/v1/reports/coverage", params={**PERIOD, "run": 999_999}).status_code == 404
    assert golden.get("/v1/reports/lift", params={**PERIOD, "model": "markov"}).status_code == 404
    bad = golden.get("/v1/reports/lift", params={**PERIOD, "band_by": "revenue"})
    assert bad.status_code == 422
