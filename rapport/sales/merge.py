"""Deals, their roles and leads follow their customers through a merge (identity.registry)."""

from __future__ import annotations

from rapport.identity.registry import Relation, register
from rapport.sales.models import Deal, DealRole, Lead


def register_all() -> None:
    register(Relation(Deal, "account", "account", label="deals"))
    register(Relation(Deal, "primary_contact", "contact", label="deals as primary contact"))
    # Both people had the same role on one deal: it stays once on the survivor.
    register(
        Relation(DealRole, "contact", "contact", unique_with=("deal", "role"), label="deal roles")
    )
    register(Relation(Lead, "contact", "contact", label="leads"))
    register(Relation(Lead, "account", "account", label="account leads"))
