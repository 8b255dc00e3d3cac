"""The segment builder's form: rows of (include or exclude, field, operator, value, days)
read into the rule language, and the rule language shown back as rows. A segment whose
rules nest deeper than one level of "not" is edited as JSON (the advanced box)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict

from rapport.marketing import rules

MAX_ROWS = 30


@dataclass
class Row:
    mode: str = "is"  # "is" or "not"
    field: str = ""
    op: str = ""
    value: str = ""
    days: str = ""

    def spec(self) -> rules.FieldSpec | None:
        return rules.field_spec(self.field)

    def operators(self) -> list[tuple[str, str]]:
        spec = self.spec()
        return list(rules.OPERATORS[spec.type].items()) if spec else []

    def choices(self) -> list[tuple[str, str]]:
        spec = self.spec()
        return spec.choices() if spec and spec.choices else []

    def windowed(self) -> bool:
        spec = self.spec()
        return bool(spec and spec.windowed)


def _value_of(row: Row) -> Any:
    spec = row.spec()
    text = row.value.strip()
    if spec is None:
        return text
    if row.op == "in":
        return [v.strip() for v in text.split(",") if v.strip()]
    if spec.type == rules.BOOLEAN:
        return {"yes": True, "true": True, "no": False, "false": False}.get(text.lower(), text)
    return text


def rows_of(post: QueryDict) -> tuple[str, list[Row]]:
    match = "or" if post.get("match") == "any" else "and"
    lists = [post.getlist(n)[:MAX_ROWS] for n in ("mode", "field", "op", "value", "days")]
    rows = [Row(*(lst[i] if i < len(lst) else "" for lst in lists)) for i in range(len(lists[1]))]
    for row in rows:
        ops = dict(row.operators())
        if row.op not in ops and ops:
            row.op = next(iter(ops))
    return match, rows


def rules_of(match: str, rows: list[Row]) -> dict[str, Any]:
    out = []
    for row in rows:
        if not row.field:
            continue
        leaf: dict[str, Any] = {"field": row.field, "op": row.op}
        if row.op not in rules.NO_VALUE:
            leaf["value"] = _value_of(row)
        if row.days.strip():
            leaf["within_days"] = row.days.strip()
        out.append({"op": "not", "rules": [leaf]} if row.mode == "not" else leaf)
    return {"op": match, "rules": out}


def rows_from_rules(data: dict[str, Any]) -> tuple[str, list[Row], bool]:
    """(match, rows, fits): ``fits`` is False when the rules need the JSON box."""
    match = "any" if data.get("op") == "or" else "all"
    rows: list[Row] = []
    fits = data.get("op", "and") in ("and", "or")
    for node in data.get("rules", []):
        mode = "is"
        if node.get("op") == "not" and "field" not in node:
            inner = node.get("rules", [])
            if len(inner) != 1 or "field" not in inner[0]:
                fits = False
                continue
            mode, node = "not", inner[0]
        if "field" not in node:
            fits = False
            continue
        value = node.get("value", "")
        text = (
            ", ".join(map(str, value))
            if isinstance(value, list)
            else ("yes" if value is True else "no" if value is False else str(value or ""))
        )
        rows.append(
            Row(mode, node["field"], node["op"], text, str(node.get("within_days", "") or ""))
        )
    return match, rows, fits


def json_rules(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        from rapport.core.errors import ValidationFailed

        raise ValidationFailed(
            "The rules are not valid JSON.", errors={"rules_json": [str(exc)]}
        ) from None
