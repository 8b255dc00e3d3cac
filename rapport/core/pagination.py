"""Keyset (cursor) pagination: constant cost per page, however deep the list goes."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from rapport.core.errors import ValidationFailed


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, order: list[str], qs: QuerySet) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(order):
            raise ValueError
        values = []
        for name, value in zip(order, raw, strict=True):
            field = qs.model._meta.get_field(name.lstrip("-"))
            if field.get_internal_type() == "DateTimeField" and value is not None:
                value = dt.datetime.fromisoformat(value)
            values.append(value)
        return values
    except (ValueError, TypeError, json.JSONDecodeError, UnicodeDecodeError):
        raise ValidationFailed("Invalid cursor.", errors={"cursor": ["Invalid cursor."]}) from None


def keyset_page(qs: QuerySet, *, order: list[str], cursor: str | None, size: int) -> Page:
    """One page of ``qs`` in ``order`` (whose last field must be unique, e.g. id)."""
    qs = qs.order_by(*order)
    if cursor:
        values = _decode(cursor, order, qs)
        condition = Q()
        for i, name in enumerate(order):
            field = name.lstrip("-")
            op = "lt" if name.startswith("-") else "gt"
            step = Q(**{f"{field}__{op}": values[i]})
            for j in range(i):
                step &= Q(**{order[j].lstrip("-"): values[j]})
            condition |= step
        qs = qs.filter(condition)
    rows = list(qs[: size + 1])
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode([getattr(last, n.lstrip("-")) for n in order])
    return Page(items=rows, next_cursor=next_cursor)
