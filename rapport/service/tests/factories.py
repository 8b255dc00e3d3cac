"""Cases built through the services, so tests see what users would see."""

from __future__ import annotations

import itertools
from typing import Any

from rapport.audit.services import Actor
from rapport.customers.models import Contact
from rapport.service import services
from rapport.service.models import Case, ServiceMailbox

_seq = itertools.count(1)
SYSTEM = Actor(user=None, via="system")


def make_case(*, contact: Contact, actor: Actor = SYSTEM, **data: Any) -> Case:
    n = next(_seq)
    data.setdefault("subject", f"Question {n}")
    data.setdefault("kind", "inquiry")
    for name in ("owner", "team"):
        if name in data and data[name] is not None and not isinstance(data[name], int):
            data[name] = data[name].pk
    return services.case_create(actor=actor, data={"contact": contact.pk, **data})


def make_service_mailbox(
    *, address: str = "support@rapport.example", **data: Any
) -> ServiceMailbox:
    data.setdefault("name", "Support")
    return ServiceMailbox.objects.create(address=address, **data)


def ensure_builtin_kinds() -> None:
    """The kinds the data migration seeds (a transactional test's flush removes them)."""
    from importlib import import_module

    from rapport.service.models import CaseKind

    seeded = import_module("rapport.service.migrations.0002_builtin_case_kinds")
    for key, name, order in seeded.BUILTIN:
        CaseKind.objects.get_or_create(
            key=key, defaults={"name": name, "order": order, "builtin": True}
        )
