"""Charts for report pages: one description, drawn by the vendored Chart.js and always
shown beside a table of the same figures (readable without JavaScript, by a screen
reader, and copyable).

A view builds ``Chart(...)`` from a selector's rows and passes it to the template, which
renders it with ``{% load charts %}{% chart report.by_stage %}``; a page with charts puts
``{% include "_chart_scripts.html" %}`` in its ``head_extra`` block. The figures travel as
JSON in a ``<script type="application/json">`` element (``json_script``), so nothing is
evaluated and the page's CSP stays ``script-src 'self'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

Number = int | float | Decimal | None
Kind = Literal["bar", "line", "doughnut"]
# A series' meaning, drawn in its colour on every chart: "good" (met, won) green, "bad"
# (breached, lost) red, "warn" amber; None takes the next colour of the palette.
Tone = Literal["good", "bad", "warn"] | None


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[Number]
    tone: Tone = None


@dataclass(frozen=True)
class Chart:
    """``key`` is unique on the page (it names the canvas and the data element);
    ``unit`` is shown in the axis and the table ("EUR", "%", "days", or "")."""

    key: str
    title: str
    labels: Sequence[str]
    series: Sequence[Series]
    kind: Kind = "bar"
    unit: str = ""
    stacked: bool = False
    horizontal: bool = False
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(
                    f"chart {self.key!r}: series {s.name!r} has {len(s.values)} values "
                    f"for {len(self.labels)} labels"
                )

    @property
    def empty(self) -> bool:
        return not self.labels or all(v in (None, 0) for s in self.series for v in s.values)

    def spec(self) -> dict[str, Any]:
        """What charts.js reads: plain JSON numbers (Decimals as floats, for drawing only;
        the table shows the exact figures)."""
        return {
            "kind": self.kind,
            "title": self.title,
            "labels": [str(label) for label in self.labels],
            "series": [
                {
                    "name": s.name,
                    "values": [None if v is None else float(v) for v in s.values],
                    "tone": s.tone,
                }
                for s in self.series
            ],
            "unit": self.unit,
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            **self.extra,
        }

    def rows(self) -> list[tuple[str, list[Number]]]:
        """The table beside the chart: one row per label, one column per series."""
        return [
            (str(label), [s.values[i] for s in self.series]) for i, label in enumerate(self.labels)
        ]

    def csv_rows(self) -> tuple[list[str], list[list[Any]]]:
        """Headers and rows for a CSV export of the same figures (write them with
        ``rapport.customers.export.csv_chunks``, which makes formulas inert)."""
        headers = [self.title or self.key, *(s.name for s in self.series)]
        return headers, [[label, *values] for label, values in self.rows()]
