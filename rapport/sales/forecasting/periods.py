"""Forecast periods: a month (``2026-11``) or a quarter (``2026-Q4``)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from rapport.core.errors import ValidationFailed

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class Period:
    kind: str  # "month" or "quarter" (PeriodKind)
    start: dt.date
    after: dt.date  # the day after the last

    @property
    def name(self) -> str:
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        return f"{self.start:%Y-%m}"

    @property
    def last(self) -> dt.date:
        return self.after - dt.timedelta(days=1)

    def months(self) -> list[Period]:
        if self.kind == "month":
            return [self]
        return [month_of(self.start.replace(month=self.start.month + i)) for i in range(3)]


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


def month_of(day: dt.date) -> Period:
    first = day.replace(day=1)
    return Period("month", first, _next_month(first))


def quarter_of(day: dt.date) -> Period:
    first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    return Period("quarter", first, _next_month(_next_month(_next_month(first))))


def period_parse(value: str, *, field: str = "period") -> Period:
    """A period from its name; anything else is a ValidationFailed naming ``field``."""
    text = (value or "").strip().upper()
    if m := _QUARTER.match(text):
        return quarter_of(dt.date(int(m[1]), 3 * int(m[2]) - 2, 1))
    if (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
        return month_of(dt.date(int(m[1]), int(m[2]), 1))
    raise ValidationFailed(
        "The period is not valid.",
        errors={field: ["Give a month (2026-11) or a quarter (2026-Q4)."]},
    )


def period_or_current(value: str, today: dt.date) -> Period:
    try:
        return period_parse(value)
    except ValidationFailed:
        return quarter_of(today)


def week_of(day: dt.date) -> dt.date:
    """The Monday of ``day``'s week."""
    return day - dt.timedelta(days=day.weekday())
