"""A caller's open cases on the screen pop, before anything else (rank 10)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from rapport.service import selectors
from rapport.timeline.events import OpenItem

RANK = 10


def open_cases(actor: Any, contact_ids: list[int]) -> dict[int, list[OpenItem]]:
    """One query for all the contacts on the pop; only the cases the actor may see."""
    found = selectors.open_cases_for_contacts(actor=actor, contact_ids=contact_ids)
    return {
        contact_id: [
            OpenItem(
                kind="case",
                label="Case" if not case.important else "Case !",
                title=f"{case.reference} {case.subject} · {case.get_status_display()}",
                url=reverse("service:case-detail", args=[case.pk]),
                rank=RANK,
            )
            for case in cases
        ]
        for contact_id, cases in found.items()
    }
