"""Numbers as a reader of the page expects them: the workspace's currency, the reader's locale."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.numbers import (
    format_compact_currency,
    format_currency,
    format_decimal,
    format_percent,
)

from app.money import exponent

DEFAULT_LOCALE = "en_US"
NONE = "\N{EN DASH}"  # shown where there is no figure to compare with


def negotiate_locale(accept_language: str | None) -> str:
    """The first locale of an ``Accept-Language`` header that Babel knows, else en_US."""
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip()
        if not tag or tag == "*":
            continue
        try:
            return str(Locale.parse(tag, sep="-"))
        except (UnknownLocaleError, ValueError):
            continue
    return DEFAULT_LOCALE


@dataclass(frozen=True)
class Formatter:
    currency: str
    locale: str
    time_zone: str = "UTC"

    @property
    def language(self) -> str:
        """The BCP 47 tag of the locale, for ``<html lang>`` and the browser's Intl."""
        return self.locale.replace("_", "-")

    def major(self, amount_minor: int) -> Decimal:
        return Decimal(amount_minor).scaleb(-exponent(self.currency))

    def money(self, amount_minor: int) -> str:
        """The exact amount, e.g. $1,234,567.89."""
        return format_currency(self.major(amount_minor), self.currency, locale=self.locale)

    def compact(self, amount_minor: int) -> str:
        """A short form for a card, e.g. $1.2M (the exact amount is beside it)."""
        return format_compact_currency(
            self.major(amount_minor), self.currency, locale=self.locale, fraction_digits=1
        )

    def date(self, day: date) -> str:
        return format_date(day, "medium", locale=self.locale)

    def count(self, value: int) -> str:
        return format_decimal(value, locale=self.locale)

    def percent(self, share: float | None) -> str:
        return NONE if share is None else format_percent(share, "#,##0.0%", locale=self.locale)

    def multiple(self, value: float | None) -> str:
        """A revenue multiple, e.g. 2.5 times."""
        if value is None:
            return NONE
        return format_decimal(value, "#,##0.0", locale=self.locale) + "\N{MULTIPLICATION SIGN}"

    def maybe_money(self, amount_minor: int | None) -> str:
        return NONE if amount_minor is None else self.money(amount_minor)

    def money_interval(self, low: int | None, high: int | None) -> str:
        if low is None or high is None:
            return NONE
        return f"{self.money(low)} to {self.money(high)}"

    def percent_interval(self, low: float | None, high: float | None) -> str:
        if low is None or high is None:
            return NONE
        return f"{self.percent(low)} to {self.percent(high)}"

    def points(self, difference: float | None) -> str:
        """A difference of two rates in percentage points, signed (+4.2 pts)."""
        if difference is None:
            return NONE
        value = format_decimal(difference * 100, "+#,##0.0;-#,##0.0", locale=self.locale)
        return f"{value} pts"

    def points_interval(self, low: float | None, high: float | None) -> str:
        if low is None or high is None:
            return NONE
        return f"{self.points(low)} to {self.points(high)}"

    def days(self, value: float | None, signed: bool = False) -> str:
        if value is None:
            return NONE
        pattern = "+#,##0.0;-#,##0.0" if signed else "#,##0.0"
        return format_decimal(value, pattern, locale=self.locale) + " d"

    def days_interval(self, low: float | None, high: float | None, signed: bool = False) -> str:
        if low is None or high is None:
            return NONE
        return f"{self.days(low, signed)} to {self.days(high, signed)}"

    def p_value(self, value: float | None) -> str:
        if value is None:
            return "p " + NONE
        if value < 0.001:
            return "p < " + format_decimal(0.001, "0.###", locale=self.locale)
        return "p = " + format_decimal(value, "0.###", locale=self.locale)

    def instant(self, moment: datetime) -> str:
        """A UTC instant in the workspace's time zone."""
        return format_datetime(
            moment, "medium", tzinfo=ZoneInfo(self.time_zone), locale=self.locale
        )

    def change(self, current: int, previous: int | None) -> str:
        """The relative change against the previous period, signed; a dash when there is none."""
        if not previous:
            return NONE
        ratio = (current - previous) / abs(previous)
        return ("+" if ratio > 0 else "") + format_percent(ratio, "#,##0.0%", locale=self.locale)
