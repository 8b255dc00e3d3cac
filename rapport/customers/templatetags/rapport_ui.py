"""Small template helpers for the customer pages."""

from __future__ import annotations

from typing import Any

from django import template

from rapport.customers import normalize

register = template.Library()


@register.filter
def phone(e164: str) -> str:
    """An E.164 number as people read it: +44 20 7946 0958."""
    return normalize.format_phone(e164) if e164 else ""


@register.filter
def get(mapping: Any, key: str) -> Any:
    try:
        return mapping.get(key, "")
    except AttributeError:
        return ""


@register.filter
def audit_value(value: Any) -> str:
    """An old or new value from the audit trail, readable."""
    if value is None or value == "" or value == []:
        return "∅"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "∅"
    return str(value)


@register.filter
def roles(names: list[str], labels: dict[str, str]) -> str:
    return ", ".join(labels.get(n, n) for n in names) if names else "Every role"
