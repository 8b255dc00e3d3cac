"""Sections other apps add to "my day" (sales: deals closing this month; service: cases
waiting on you). Each app registers its section once, in its ``AppConfig.ready()``::

    from rapport.followups.myday import Item, Section, register_section

    def closing_deals(actor, day) -> list[Item]:
        ...  # one or two queries, only what the actor may see

    register_section(Section("deals", "Deals closing this month", order=20, items=closing_deals))

``items(actor, day)`` returns at most a screenful (say 20) of ``Item``; the page shows the
section when it has items, in ``order``. An item may name a contact (with a phone for the
one-tap call).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Item:
    title: str
    url: str = ""
    detail: str = ""  # one short line under the title: "€12,000 · closes 14 Dec"
    contact_id: int | None = None
    contact_name: str = ""
    phone: str = ""  # E.164, for a tel: link
    due: dt.date | dt.datetime | None = None
    badge: str = ""  # "Overdue", "Breach in 2 h"


@dataclass(frozen=True)
class Section:
    name: str
    title: str
    order: int = 50
    items: Callable[[Any, dt.date], list[Item]] = field(default=lambda actor, day: [])


_SECTIONS: dict[str, Section] = {}


def register_section(section: Section) -> None:
    _SECTIONS[section.name] = section


def sections() -> list[Section]:
    return sorted(_SECTIONS.values(), key=lambda s: (s.order, s.name))
