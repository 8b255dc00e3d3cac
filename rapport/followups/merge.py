"""Tasks follow their customers through a merge (see identity.registry)."""

from __future__ import annotations

from rapport.followups.models import Task
from rapport.identity.registry import Relation, register


def register_all() -> None:
    register(Relation(Task, "contact", "contact", label="tasks"))
    register(Relation(Task, "account", "account", label="account tasks"))
