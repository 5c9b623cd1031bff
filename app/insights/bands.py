"""Account-size bands, so a bigger-accounts effect is not mistaken for a community effect."""

from __future__ import annotations

from typing import Literal

BandBy = Literal["employees", "annual_revenue"]
UNKNOWN = "unknown"

# (largest value in the band, label); the last band has no upper bound.
_BANDS: dict[str, tuple[tuple[int | None, str], ...]] = {
    "employees": (
        (50, "1-50"),
        (250, "51-250"),
        (1_000, "251-1000"),
        (5_000, "1001-5000"),
        (None, "5001+"),
    ),
    "annual_revenue": (
        (999_999, "<1M"),
        (9_999_999, "1M-10M"),
        (99_999_999, "10M-100M"),
        (999_999_999, "100M-1B"),
        (None, "1B+"),
    ),
}


def band_labels(by: BandBy) -> list[str]:
    """Every band in size order, then unknown."""
    return [label for _, label in _BANDS[by]] + [UNKNOWN]


def band_of(value: int | None, by: BandBy) -> str:
    """The band of an account's size. No account, no value, or 0 employees (what CRMs store for
    a blank field) is unknown; annual revenue is in the CRM's major units, as stored."""
    if value is None or value < 0 or (by == "employees" and value == 0):
        return UNKNOWN
    for largest, label in _BANDS[by]:
        if largest is None or value <= largest:
            return label
    raise AssertionError("the last band is open-ended")
