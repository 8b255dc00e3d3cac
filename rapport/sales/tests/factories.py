"""Sales records for tests, made through the services as users would make them."""

from __future__ import annotations

import importlib
import itertools
from typing import Any

from rapport.customers.tests.factories import SYSTEM, make_account
from rapport.sales import services
from rapport.sales.models import Deal, Lead, Pipeline, Stage

_seq = itertools.count(1)


def ensure_pipeline() -> None:
    """The default pipeline and lost reasons the migration seeds (a transactional test's
    flush removes them): the migration's own function, run again."""
    from django.apps import apps

    seed = importlib.import_module("rapport.sales.migrations.0002_default_pipeline")
    seed.fill(apps, None)


def pipeline() -> Pipeline:
    return services.default_pipeline()


def stage(name: str) -> Stage:
    return pipeline().stages.get(name=name)


def make_deal(*, owner: Any = None, account: Any = None, actor: Any = None, **data: Any) -> Deal:
    n = next(_seq)
    data.setdefault("name", f"Deal {n}")
    data["account"] = (account or make_account(owner=owner)).pk
    if owner is not None:
        data["owner"] = owner.pk
    if isinstance(data.get("stage"), str):
        data["stage"] = stage(data["stage"]).pk
    return services.deal_create(actor=actor or SYSTEM, data=data)


def make_lead(*, owner: Any = None, actor: Any = None, **data: Any) -> Lead:
    n = next(_seq)
    if not any(data.get(k) for k in ("name", "email", "phone", "contact")):
        data["name"] = f"Lead{n} Person"
    if owner is not None:
        data["owner"] = owner.pk
    return services.lead_create(actor=actor or SYSTEM, data=data)
