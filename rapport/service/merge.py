"""Cases and their messages follow their customers through a merge (identity.registry):
the survivor has every case, and an unmerge gives each back."""

from __future__ import annotations

from rapport.identity.registry import Relation, register
from rapport.service.models import Case, CaseMessage


def register_all() -> None:
    register(Relation(Case, "contact", "contact", label="cases"))
    register(Relation(Case, "account", "account", label="account cases"))
    register(Relation(CaseMessage, "author_contact", "contact", label="case messages written"))
