"""Proposals follow their customers through a merge (see identity.registry)."""

from __future__ import annotations

from rapport.identity.registry import Relation, register
from rapport.ingest.models import Proposal


def register_all() -> None:
    register(Relation(Proposal, "contact", "contact", label="proposed updates"))
    register(Relation(Proposal, "account", "account", label="proposed contacts"))
