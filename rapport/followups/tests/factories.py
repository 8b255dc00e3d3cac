"""Tasks built through the services, so tests see what users would see."""

from __future__ import annotations

import itertools
from typing import Any

from rapport.audit.services import Actor
from rapport.followups import services
from rapport.followups.models import Task

_seq = itertools.count(1)
SYSTEM = Actor(user=None, via="system")


def make_task(*, assignee: Any, contact: Any = None, **data: Any) -> Task:
    data.setdefault("title", f"Task {next(_seq)}")
    data["assignee"] = assignee.pk
    if contact is not None:
        data["contact"] = contact.pk
    return services.task_create(actor=SYSTEM, data=data)
