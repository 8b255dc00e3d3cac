"""Timeline entries follow their customers through a merge (see identity.registry)."""

from __future__ import annotations

from rapport.identity.registry import Relation, register
from rapport.timeline.models import EntryLink


def register_all() -> None:
    # An entry on both records (an e-mail to both addresses) stays once on the survivor.
    register(
        Relation(EntryLink, "contact", "contact", unique_with=("entry",), label="timeline entries")
    )
    register(
        Relation(
            EntryLink,
            "account",
            "account",
            unique_with=("entry",),
            label="account timeline entries",
        )
    )
