"""Panels other apps add to a contact's or an account's page (deals, cases, consent…).

The record's page lists each registered panel the reader may see as an empty section that
htmx fills after the page loads, from the panel's own URL (the app's view, with its own
permission checks and queries), the way the timeline panel loads. So the page's query count
does not grow with the number of apps, and customers never imports them. Register in
``AppConfig.ready()``::

    from rapport.core import panels

    panels.register(panels.Panel(
        name="deals", kind="contact", title="Deals", url_name="sales:contact-deals",
        visible=lambda user: permissions.can(user, "view", RecordKind.DEAL), order=20,
    ))

``url_name`` takes the record's primary key as its one argument and answers the panel's
``<section>`` (a full page without htmx, so the link works without JavaScript).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.urls import reverse


@dataclass(frozen=True)
class Panel:
    name: str
    kind: str  # "contact" or "account"
    title: str
    url_name: str
    visible: Callable[[Any], bool]
    order: int = 50


_PANELS: dict[tuple[str, str], Panel] = {}


def register(panel: Panel) -> None:
    if panel.kind not in ("contact", "account"):
        raise ValueError(f"Panels go on contacts or accounts, not {panel.kind!r}.")
    _PANELS[(panel.kind, panel.name)] = panel


def panels_for(*, user: Any, kind: str, pk: int) -> list[dict[str, str]]:
    """The panels this user may see on one record's page, in order, with their URLs."""
    shown = sorted(
        (p for p in _PANELS.values() if p.kind == kind and p.visible(user)),
        key=lambda p: (p.order, p.name),
    )
    return [
        {"name": p.name, "title": p.title, "url": reverse(p.url_name, args=[pk])} for p in shown
    ]
