"""Rows that add up: largest remainder over a report's rows (DESIGN.md, Fine print).

An additive breakdown's rows (category, activity type, channel, timeseries bucket) are exact
sums of converted credits. Their total is rounded half up once, as the report's own figure;
each row gets the floor of its exact sum and the units left over go one each to the rows with
the largest remainders, ties by row order. So the rows sum exactly to the total.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Context, Decimal

_EXACT = Context(prec=60)
_ONE = Decimal(1)


def round_half_up(value: Decimal) -> int:
    return int(value.quantize(_ONE, rounding=ROUND_HALF_UP, context=_EXACT))


def apportion(exact: Sequence[Decimal]) -> list[int]:
    """Integers summing to ``round_half_up(sum(exact))``, each the floor or the ceiling of its
    exact value (values are not negative)."""
    total = round_half_up(sum(exact, Decimal(0)))
    floors = [int(value.quantize(_ONE, rounding=ROUND_FLOOR, context=_EXACT)) for value in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[: total - sum(floors)]:
        floors[i] += 1
    return floors
