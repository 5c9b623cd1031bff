"""Dated exchange rates to the reporting currency, looked up by local date (both ends inclusive)."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from app.models import ExchangeRate


class RateTable:
    def __init__(self, rates: Iterable[ExchangeRate], reporting_currency: str) -> None:
        self._reporting = reporting_currency
        self._by_currency: dict[str, list[tuple[date, date, Decimal]]] = defaultdict(list)
        for rate in rates:
            self._by_currency[rate.currency].append((rate.valid_from, rate.valid_to, rate.rate))
        for spans in self._by_currency.values():
            spans.sort()

    def rate(self, currency: str, on: date) -> Decimal | None:
        """Units of the reporting currency per unit of ``currency`` on that date; None if unknown."""
        if currency == self._reporting:
            return Decimal(1)
        spans = self._by_currency.get(currency, [])
        index = bisect.bisect_right(spans, (on, date.max, Decimal("Infinity"))) - 1
        if index >= 0 and spans[index][0] <= on <= spans[index][1]:
            return spans[index][2]
        return None
