"""The segment rule language: a small tree stored as JSON, validated, compiled to a Django
``Q`` over ``customers.Contact``. Never SQL: every field is one of a fixed list, every
operator one of a fixed set per type, every value checked; the ORM binds the values.

    {"op": "and", "rules": [
        {"field": "contact.lifecycle", "op": "eq", "value": "customer"},
        {"field": "contact.country", "op": "eq", "value": "DE"},
        {"field": "case.kind", "op": "eq", "value": "complaint", "within_days": 90},
        {"op": "not", "rules": [{"field": "deal.status", "op": "eq", "value": "open"}]}
    ]}

A group is ``{"op": "and" | "or" | "not", "rules": [...]}`` ("not" negates the "and" of its
rules); a rule is ``{"field", "op", "value"}``. A rule on a related record (an address, an
account, a deal, a case, a timeline entry, a tag) means "has at least one such record";
``within_days`` keeps only those of the last N days (created, or occurred, for the
timeline); under "not" it reads "has none". Related rules compile to ``pk IN (SELECT
contact_id ...)``, uncorrelated, so each is evaluated once per query rather than once per
contact (decision 0024).

What a role may not read it may not segment on either: a data-dictionary field hidden
from the role, a built-in field its policy hides, deals or cases it may not view. The
segment's contacts are always those the reader may see.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from rapport.core.errors import ValidationFailed
from rapport.customers.datadict import active_fields
from rapport.customers.models import (
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    DataField,
    Lifecycle,
)
from rapport.users import permissions
from rapport.users.models import RecordKind

MAX_RULES = 50
MAX_DEPTH = 5
MAX_LIST = 200
MAX_TEXT = 200
MAX_DAYS = 3660

TEXT, CHOICE, NUMBER, DATE, BOOLEAN = "text", "choice", "number", "date", "boolean"
OPERATORS: dict[str, dict[str, str]] = {
    TEXT: {
        "eq": "is", "ne": "is not", "contains": "contains", "starts_with": "starts with",
        "in": "is one of", "empty": "is empty", "not_empty": "is not empty",
    },
    CHOICE: {"eq": "is", "ne": "is not", "in": "is one of"},
    NUMBER: {"eq": "=", "ne": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"},
    DATE: {
        "before": "before", "after": "on or after", "within_last_days": "in the last N days",
        "more_than_days_ago": "more than N days ago", "empty": "is empty",
        "not_empty": "is not empty",
    },
    BOOLEAN: {"is": "is"},
}  # fmt: skip
NO_VALUE = {"empty", "not_empty"}


@dataclass(frozen=True)
class FieldSpec:
    name: str  # "case.kind"
    label: str
    type: str
    base: str  # contact, address, email, tag, account, deal, case, timeline
    path: str  # the lookup on the base model ("kind__key")
    choices: Callable[[], list[tuple[str, str]]] | None = None
    needs: str = ""  # the record kind the reader must be allowed to view
    hidden_as: tuple[str, str] | None = None  # (record kind, field name) for field_access
    windowed: bool = False  # takes within_days


def _lifecycles() -> list[tuple[str, str]]:
    return list(Lifecycle.choices)


def _case_kinds() -> list[tuple[str, str]]:
    from rapport.service.models import CaseKind

    return list(CaseKind.objects.order_by("order", "name").values_list("key", "name"))


def _case_statuses() -> list[tuple[str, str]]:
    from rapport.service.models import Case

    return list(Case.Status.choices)


def _deal_statuses() -> list[tuple[str, str]]:
    from rapport.sales.models import Deal

    return list(Deal.Status.choices)


def _timeline_kinds() -> list[tuple[str, str]]:
    from rapport.timeline.events import KINDS

    return sorted((name, str(getattr(info, "label", name))) for name, info in KINDS.items())


def _channels() -> list[tuple[str, str]]:
    from rapport.timeline.models import Channel

    return list(Channel.choices)


def _departments() -> list[tuple[str, str]]:
    from rapport.timeline.models import Department

    return list(Department.choices)


def _sizes() -> list[tuple[str, str]]:
    from rapport.customers.models import Account

    return list(Account.Size.choices)


def _channel_prefs() -> list[tuple[str, str]]:
    return list(Contact.Channel.choices)


C, A = RecordKind.CONTACT, RecordKind.ACCOUNT
BUILTIN: tuple[FieldSpec, ...] = (
    FieldSpec("contact.lifecycle", "Contact: lifecycle", CHOICE, "contact", "lifecycle", _lifecycles, hidden_as=(C, "lifecycle")),
    FieldSpec("contact.job_title", "Contact: job title", TEXT, "contact", "job_title", hidden_as=(C, "job_title")),
    FieldSpec("contact.department", "Contact: department", TEXT, "contact", "department", hidden_as=(C, "department")),
    FieldSpec("contact.language", "Contact: language", TEXT, "contact", "language", hidden_as=(C, "language")),
    FieldSpec("contact.source", "Contact: source", TEXT, "contact", "source", hidden_as=(C, "source")),
    FieldSpec("contact.preferred_channel", "Contact: preferred channel", CHOICE, "contact", "preferred_channel", _channel_prefs, hidden_as=(C, "preferred_channel")),
    FieldSpec("contact.created", "Contact: created", DATE, "contact", "created_at"),
    FieldSpec("contact.updated", "Contact: last changed", DATE, "contact", "updated_at"),
    FieldSpec("contact.country", "Contact: address country (ISO code)", TEXT, "address", "country", hidden_as=(C, "addresses")),
    FieldSpec("contact.city", "Contact: address city", TEXT, "address", "city", hidden_as=(C, "addresses")),
    FieldSpec("contact.email_domain", "Contact: e-mail domain", TEXT, "email", "domain", hidden_as=(C, "emails")),
    FieldSpec("contact.tag", "Contact: tag", TEXT, "tag", "tag__name", hidden_as=(C, "tags")),
    FieldSpec("account.name", "Account: name", TEXT, "account", "account__name", hidden_as=(A, "name")),
    FieldSpec("account.country", "Account: country (ISO code)", TEXT, "account", "account__country", hidden_as=(A, "country")),
    FieldSpec("account.industry", "Account: industry", TEXT, "account", "account__industry", hidden_as=(A, "industry")),
    FieldSpec("account.size", "Account: size", CHOICE, "account", "account__size", _sizes, hidden_as=(A, "size")),
    FieldSpec("account.lifecycle", "Account: lifecycle", CHOICE, "account", "account__lifecycle", _lifecycles, hidden_as=(A, "lifecycle")),
    FieldSpec("account.primary", "Account: is the contact's primary account", BOOLEAN, "account", "is_primary"),
    FieldSpec("deal.status", "Deal: status", CHOICE, "deal", "status", _deal_statuses, needs=RecordKind.DEAL, windowed=True),
    FieldSpec("deal.amount", "Deal: amount", NUMBER, "deal", "amount", needs=RecordKind.DEAL, windowed=True),
    FieldSpec("deal.source", "Deal: source", TEXT, "deal", "source", needs=RecordKind.DEAL, windowed=True),
    FieldSpec("deal.closed", "Deal: closed (won or lost)", DATE, "deal", "closed_at", needs=RecordKind.DEAL),
    FieldSpec("case.kind", "Case: kind", CHOICE, "case", "kind__key", _case_kinds, needs=RecordKind.CASE, windowed=True),
    FieldSpec("case.status", "Case: status", CHOICE, "case", "status", _case_statuses, needs=RecordKind.CASE, windowed=True),
    FieldSpec("case.open", "Case: is open", BOOLEAN, "case", "is_open", needs=RecordKind.CASE, windowed=True),
    FieldSpec("case.priority", "Case: priority (1 urgent … 4 low)", NUMBER, "case", "priority", needs=RecordKind.CASE, windowed=True),
    FieldSpec("case.topic", "Case: topic", TEXT, "case", "topic", needs=RecordKind.CASE, windowed=True),
    FieldSpec("timeline.kind", "Timeline: kind of entry", CHOICE, "timeline", "entry__kind", _timeline_kinds, windowed=True),
    FieldSpec("timeline.channel", "Timeline: channel", CHOICE, "timeline", "entry__channel", _channels, windowed=True),
    FieldSpec("timeline.department", "Timeline: department", CHOICE, "timeline", "entry__department", _departments, windowed=True),
)  # fmt: skip
BUILTIN_BY_NAME = {f.name: f for f in BUILTIN}
_DF_TYPES: dict[str, str] = {
    DataField.Type.NUMBER: NUMBER, DataField.Type.DATE: DATE, DataField.Type.BOOLEAN: BOOLEAN,
    DataField.Type.CHOICE: CHOICE,
}  # fmt: skip
_CUSTOM = re.compile(r"^(contact|account)\.custom\.([a-z0-9_-]{1,50})$")


def _custom_spec(name: str) -> FieldSpec | None:
    found = _CUSTOM.match(name)
    if not found:
        return None
    entity, key = found.groups()
    df = next((f for f in active_fields(entity) if f.key == key), None)
    if df is None:
        return None
    kind = C if entity == "contact" else A
    typ = _DF_TYPES.get(df.type, TEXT)
    choices = None
    if typ == CHOICE:
        options = [str(c) for c in (df.choices or [])]

        def choices() -> list[tuple[str, str]]:
            return [(c, c) for c in options]

    return FieldSpec(
        name, f"{entity.title()}: {df.label}", typ,
        "contact" if entity == "contact" else "account",
        f"custom__{key}" if entity == "contact" else f"account__custom__{key}",
        choices, hidden_as=(kind, f"custom.{key}"),
    )  # fmt: skip


def field_spec(name: str) -> FieldSpec | None:
    return BUILTIN_BY_NAME.get(name) or _custom_spec(name)


def available_fields(user: Any) -> list[FieldSpec]:
    """The fields ``user`` may segment on, built-in then data dictionary."""
    specs = list(BUILTIN)
    for entity in ("contact", "account"):
        for df in active_fields(entity):
            spec = _custom_spec(f"{entity}.custom.{df.key}")
            if spec:
                specs.append(spec)
    return [s for s in specs if _refusal(user, s) is None]


def _refusal(user: Any, spec: FieldSpec) -> str | None:
    if spec.needs and not permissions.can(user, "view", spec.needs):
        return f"Your role may not read {spec.needs} records."
    if spec.hidden_as:
        kind, name = spec.hidden_as
        if not permissions.field_access(user, kind).can_view(name):
            return "Your role may not read this field."
    return None


# --- Validation -----------------------------------------------------------------------


@dataclass
class _Check:
    user: Any
    errors: dict[str, list[str]] = field(default_factory=dict)
    count: int = 0

    def fail(self, path: str, message: str) -> None:
        self.errors.setdefault(path, []).append(message)


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value)) if value is not None and str(value).strip() else None
    except InvalidOperation:
        return None
    return (
        number
        if number is not None and number.is_finite() and abs(number) < Decimal("1e15")
        else None
    )


def _date(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        day = dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    return day if 1900 <= day.year <= 2200 else None


def _days(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        days = int(str(value))
    except ValueError:
        return None
    return days if 1 <= days <= MAX_DAYS else None


def _clean_value(check: _Check, path: str, spec: FieldSpec, op: str, value: Any) -> Any:
    label = f"{spec.name} {OPERATORS[spec.type][op]}"
    if op in NO_VALUE:
        return None
    if op in ("within_last_days", "more_than_days_ago"):
        days = _days(value)
        if days is None:
            check.fail(f"{path}.value", f"{label}: a whole number of days from 1 to {MAX_DAYS}.")
        return days
    if op == "in":
        if not isinstance(value, list) or not value or len(value) > MAX_LIST:
            check.fail(f"{path}.value", f"{label}: a list of 1 to {MAX_LIST} values.")
            return []
        return [_one(check, path, spec, label, v) for v in value]
    return _one(check, path, spec, label, value)


def _one(check: _Check, path: str, spec: FieldSpec, label: str, value: Any) -> Any:
    where = f"{path}.value"
    if spec.type == BOOLEAN:
        if not isinstance(value, bool):
            check.fail(where, f"{label}: true or false.")
        return value
    if spec.type == NUMBER:
        number: Any = _number(value)
        if "custom__" in path:  # a JSON value: compared as a JSON number
            number = float(number)
        if number is None:
            check.fail(where, f"{label}: a number, not {value!r}.")
        return number
    if spec.type == DATE:
        day = _date(value)
        if day is None:
            check.fail(where, f"{label}: a date as YYYY-MM-DD (1900 to 2200), not {value!r}.")
        return day
    if not isinstance(value, str | int) or isinstance(value, bool):
        check.fail(where, f"{label}: a text value.")
        return ""
    text = str(value).strip()
    if not text or len(text) > MAX_TEXT:
        check.fail(where, f"{label}: 1 to {MAX_TEXT} characters.")
    if spec.type == CHOICE and spec.choices is not None:
        allowed = [k for k, _ in spec.choices()]
        if text not in allowed:
            check.fail(where, f"{label}: {text!r} is not one of {', '.join(allowed[:30])}.")
    return text


def _validate(check: _Check, node: Any, path: str, depth: int) -> dict[str, Any]:
    if not isinstance(node, dict):
        check.fail(
            path, "A rule is an object with field, op and value, or a group with op and rules."
        )
        return {}
    check.count += 1
    if check.count > MAX_RULES:
        if check.count == MAX_RULES + 1:
            check.fail(path, f"At most {MAX_RULES} rules and groups in a segment.")
        return {}
    if "field" not in node:
        op = node.get("op", "and")
        if not isinstance(op, str) or op not in ("and", "or", "not"):
            check.fail(f"{path}.op", f"A group's op is and, or or not, not {op!r}.")
        if depth >= MAX_DEPTH:
            check.fail(path, f"Groups nest at most {MAX_DEPTH} deep.")
            return {}
        rules = node.get("rules", [])
        if not isinstance(rules, list):
            check.fail(f"{path}.rules", "A group's rules are a list.")
            rules = []
        if op == "not" and not rules:
            check.fail(f"{path}.rules", "A not group needs at least one rule.")
        extra = set(node) - {"op", "rules"}
        if extra:
            check.fail(path, f"Unknown keys in a group: {', '.join(sorted(extra))}.")
        return {
            "op": op,
            "rules": [
                _validate(check, r, f"{path}.rules[{i}]", depth + 1) for i, r in enumerate(rules)
            ],
        }
    name = node.get("field")
    spec = field_spec(name) if isinstance(name, str) else None
    if spec is None:
        check.fail(f"{path}.field", f"No field {name!r} to segment on.")
        return {}
    refusal = _refusal(check.user, spec)
    if refusal:
        check.fail(f"{path}.field", f"{spec.name}: {refusal}")
        return {}
    op = node.get("op")
    if not isinstance(op, str) or op not in OPERATORS[spec.type]:
        check.fail(
            f"{path}.op",
            f"{spec.name}: the operator {op!r} does not apply to a {spec.type} field "
            f"(use {', '.join(OPERATORS[spec.type])}).",
        )
        return {}
    extra = set(node) - {"field", "op", "value", "within_days"}
    if extra:
        check.fail(path, f"{spec.name}: unknown keys {', '.join(sorted(extra))}.")
    value = _clean_value(check, path, spec, op, node.get("value"))
    out: dict[str, Any] = {"field": spec.name, "op": op}
    if op not in NO_VALUE:
        out["value"] = node.get("value")
    if node.get("within_days") not in (None, ""):
        days = _days(node.get("within_days"))
        if not spec.windowed:
            check.fail(f"{path}.within_days", f"{spec.name}: takes no time window.")
        elif days is None:
            check.fail(
                f"{path}.within_days", f"{spec.name}: a whole number of days from 1 to {MAX_DAYS}."
            )
        else:
            out["within_days"] = days
    del value
    return out


def validate(*, user: Any, rules: Any) -> dict[str, Any]:
    """The rules as stored (normalised), or ValidationFailed naming each rule's problem
    by its place (``rules[1].value``), its field and why."""
    if rules in (None, "", {}):
        return {"op": "and", "rules": []}
    if isinstance(rules, dict) and "field" in rules:  # a single rule: a group around it
        rules = {"op": "and", "rules": [rules]}
    check = _Check(user=user)
    cleaned = _validate(check, rules, "rules", 0)
    if check.errors:
        raise ValidationFailed("The segment's rules are not valid.", errors=check.errors)
    return cleaned


# --- Compiling ------------------------------------------------------------------------


_LOOKUPS = {
    "eq": "exact", "contains": "icontains", "starts_with": "istartswith", "in": "in",
    "gt": "gt", "gte": "gte", "lt": "lt", "lte": "lte",
}  # fmt: skip


def _condition(spec: FieldSpec, op: str, value: Any, now: dt.datetime) -> Q:
    path = spec.path
    if op in ("empty", "not_empty"):
        q = Q(**{f"{path}__isnull": True})
        if spec.type == TEXT:
            q |= Q(**{path: ""})
        return ~q if op == "not_empty" else q
    if spec.type == DATE:
        if op == "before":
            return Q(**{f"{path}__lt": _start_of(_date(value))})
        if op == "after":
            return Q(**{f"{path}__gte": _start_of(_date(value))})
        cutoff = now - dt.timedelta(days=int(value))
        if op == "within_last_days":
            return Q(**{f"{path}__gte": cutoff})
        return Q(**{f"{path}__lt": cutoff})
    if spec.type == NUMBER:
        number: Any = _number(value)
        if "custom__" in path:  # a JSON value: compared as a JSON number
            number = float(number)
        if op == "ne":
            return ~Q(**{path: number})
        return Q(**{f"{path}__{_LOOKUPS[op]}": number})
    if spec.type == BOOLEAN:
        return Q(**{path: bool(value)})
    if op == "in":
        values = [str(v).strip() for v in value]
        if spec.name.endswith("country"):
            values = [v.upper() for v in values]
        return Q(**{f"{path}__in": values})
    text = str(value).strip()
    country = spec.name.endswith("country")
    if country:
        text = text.upper()  # stored as ISO codes in capitals: an exact match uses the index
    if op in ("eq", "ne"):
        lookup = "iexact" if spec.type == TEXT and not country else "exact"
        q = Q(**{f"{path}__{lookup}": text})
        return ~q if op == "ne" else q
    return Q(**{f"{path}__{_LOOKUPS[op]}": text})


def _start_of(day: dt.date | None) -> dt.datetime:
    assert day is not None
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_current_timezone())


def _related(user: Any, spec: FieldSpec, cond: Q, days: int | None, now: dt.datetime) -> Q:
    """``pk IN (contacts having such a related record)``: one uncorrelated subquery."""
    since = now - dt.timedelta(days=days) if days else None
    if spec.base == "address":
        return Q(pk__in=ContactAddress.objects.filter(cond).values("contact_id"))
    if spec.base == "email":
        return Q(pk__in=ContactEmail.objects.filter(cond).values("contact_id"))
    if spec.base == "tag":
        return Q(pk__in=Contact.tags.through.objects.filter(cond).values("contact_id"))
    if spec.base == "account":
        return Q(pk__in=AccountMembership.objects.filter(cond).values("contact_id"))
    if spec.base == "deal":
        from rapport.sales.models import Deal

        deals = permissions.visible(user, RecordKind.DEAL, Deal.objects.filter(cond))
        if since:
            deals = deals.filter(created_at__gte=since)
        via_account = AccountMembership.objects.filter(account_id__in=deals.values("account_id"))
        return Q(pk__in=via_account.values("contact_id")) | Q(
            pk__in=deals.filter(primary_contact__isnull=False).values("primary_contact_id")
        )
    if spec.base == "case":
        from rapport.service.models import Case

        cases = permissions.visible(user, RecordKind.CASE, Case.objects.filter(cond))
        if since:
            cases = cases.filter(created_at__gte=since)
        return Q(pk__in=cases.filter(contact__isnull=False).values("contact_id"))
    if spec.base == "timeline":
        from rapport.timeline.models import EntryLink

        links = EntryLink.objects.filter(cond, contact__isnull=False)
        if since:
            links = links.filter(occurred_at__gte=since)
        return Q(pk__in=links.values("contact_id"))
    raise AssertionError(spec.base)


def _compile(user: Any, node: dict[str, Any], now: dt.datetime) -> Q:
    if "field" in node:
        spec = field_spec(node["field"])
        assert spec is not None
        cond = _condition(spec, node["op"], node.get("value"), now)
        if spec.base == "contact":
            return cond
        return _related(user, spec, cond, node.get("within_days"), now)
    parts = [_compile(user, r, now) for r in node.get("rules", [])]
    if not parts:
        return Q()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part if node["op"] == "or" else combined & part
    return ~combined if node["op"] == "not" else combined


def compile_rules(*, user: Any, rules: Any, now: dt.datetime | None = None) -> Q:
    """A ``Q`` over Contact for valid rules (``validate`` first: this refuses bad ones)."""
    cleaned = validate(user=user, rules=rules)
    return _compile(user, cleaned, now or timezone.now())


def contacts_matching(
    *, user: Any, rules: Any, now: dt.datetime | None = None
) -> QuerySet[Contact]:
    """The contacts the rules select that ``user`` may see."""
    qs = Contact.objects.filter(compile_rules(user=user, rules=rules, now=now))
    return permissions.visible(user, RecordKind.CONTACT, qs)


def describe(rules: dict[str, Any]) -> str:
    """The rules in words, for lists and the report."""

    def words(node: dict[str, Any]) -> str:
        if "field" in node:
            spec = field_spec(node["field"])
            label = spec.label if spec else node["field"]
            op = OPERATORS[spec.type][node["op"]] if spec else node["op"]
            value = node.get("value")
            value = ", ".join(map(str, value)) if isinstance(value, list) else value
            text = f"{label} {op}" + ("" if value is None else f" {value}")
            if node.get("within_days"):
                text += f" (last {node['within_days']} days)"
            return text
        inner = [words(r) for r in node.get("rules", [])]
        if not inner:
            return "everyone"
        joined = f" {node['op'] if node['op'] != 'not' else 'and'} ".join(inner)
        return (
            f"not ({joined})"
            if node["op"] == "not"
            else f"({joined})"
            if len(inner) > 1
            else joined
        )

    return words(rules or {"op": "and", "rules": []})
