"""Survivorship: which value of each field survives a merge, and the preview of it.

Read by the merge itself (``services.records_merge``), by the steward's pages and the API
(``selectors``: what the merge would keep), so the rule is written once. ``field_value``
and ``is_blank`` are public because the selectors need them too.
"""

from __future__ import annotations

from typing import Any

from rapport.core.errors import ValidationFailed
from rapport.customers import services as customer_services
from rapport.customers.models import Account, Contact, DataField
from rapport.identity.models import Kind, MatchSettings, Rule

# The fields a merge chooses a value for: the records' own fields. Parts (e-mails, phones,
# tags…) are united instead, and data-dictionary values come as ``custom.<key>``.
CONTACT_FIELDS = tuple(f for f in customer_services.CONTACT_FIELDS if f not in ("tags", "custom"))
ACCOUNT_FIELDS = tuple(f for f in customer_services.ACCOUNT_FIELDS if f not in ("tags", "custom"))
BLANK: tuple[Any, ...] = ("", None, [], {}, Contact.Channel.NONE)


def merge_fields(kind: str) -> list[str]:
    """The fields a merge of this kind chooses, data-dictionary fields as ``custom.key``."""
    base = CONTACT_FIELDS if kind == Kind.CONTACT else ACCOUNT_FIELDS
    keys = (
        DataField.objects.filter(entity=kind)
        .order_by("position", "id")
        .values_list("key", flat=True)
    )
    return [*base, *(f"custom.{k}" for k in keys)]


def settings_get() -> MatchSettings:
    """The one row of matching and survivorship settings, made on first use."""
    found = MatchSettings.objects.order_by("pk").first()
    return found or MatchSettings.objects.create()


def field_value(obj: Contact | Account, name: str) -> Any:
    """A record's value of a merge field (``custom.key``; ``owner`` and ``parent`` by id)."""
    if name.startswith("custom."):
        return (obj.custom or {}).get(name[7:])
    if name in ("owner", "parent"):
        return getattr(obj, f"{name}_id")
    return getattr(obj, name)


def is_blank(value: Any) -> bool:
    """Whether a value counts as empty here: an empty value never wins over a filled one."""
    return any(value is b or (type(value) is type(b) and value == b) for b in BLANK)


def choose(
    name: str,
    records: list[Contact | Account],
    rule: str,
    ranking: list[str],
    chosen: int | None = None,
) -> Contact | Account:
    """The record whose value of ``name`` survives; ``records[0]`` is the survivor."""
    if chosen is not None:
        for r in records:
            if r.pk == chosen:
                return r
        raise ValidationFailed(
            "A choice names a record that is not in the merge.",
            errors={name: ["Not one of the merged records."]},
        )
    filled = [r for r in records if not is_blank(field_value(r, name))]
    if not filled:
        return records[0]
    recent = sorted(filled, key=lambda r: (r.updated_at, r.pk), reverse=True)
    if rule == Rule.MOST_RECENT:
        return recent[0]
    if rule == Rule.MOST_COMPLETE:
        return max(filled, key=lambda r: (len(str(field_value(r, name))), r is records[0]))
    if rule == Rule.TRUSTED_SOURCE:
        rank = {s.lower(): i for i, s in enumerate(ranking)}
        return min(
            recent,
            key=lambda r: rank.get((r.source if isinstance(r, Contact) else "").lower(), len(rank)),
        )
    return records[0] if records[0] in filled else recent[0]


# A person's name survives whole: given, middle and family names, prefix, suffix and the
# full name all come from one record ("Gabrielle Émilie Guilbert" merged into "Gilbert
# Guilbert" must not give "Gilbert Émilie Guilbert").
NAME_UNIT = (*customer_services.NAME_PARTS, "full_name")


def winners(
    kind: str,
    records: list[Contact | Account],
    rules: dict[str, str],
    ranking: list[str],
    choices: dict[str, int] | None = None,
) -> dict[str, Contact | Account]:
    """Per merge field, the record whose value survives (``records[0]`` is the survivor);
    a contact's name parts all from the same record."""
    choices = choices or {}
    out: dict[str, Contact | Account] = {}
    fields = merge_fields(kind)
    unit = [n for n in NAME_UNIT if n in fields] if kind == Kind.CONTACT else []
    if unit:
        picked = {choices[n] for n in unit if n in choices}
        if len(picked) > 1:
            raise ValidationFailed(
                "A name is kept whole: choose its parts from one record.",
                errors={
                    n: ["Choose every part of the name from the same record."]
                    for n in unit
                    if n in choices
                },
            )
        # The rule set on any part of the name (the full name's first) decides for all.
        ruled = [n for n in ("full_name", *unit) if n in unit and n in rules]
        lead = ruled[0] if ruled else ("full_name" if "full_name" in unit else unit[0])
        record = choose(
            lead, records, rules.get(lead, Rule.SURVIVOR), ranking, next(iter(picked), None)
        )
        out.update(dict.fromkeys(unit, record))
    for name in fields:
        if name not in out:
            out[name] = choose(
                name, records, rules.get(name, Rule.SURVIVOR), ranking, choices.get(name)
            )
    return out


def merge_preview(
    *,
    kind: str,
    survivor: Contact | Account,
    others: list[Contact | Account],
    choices: dict[str, int] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per field: the value each record has, the record the rules pick and its value."""
    conf = settings_get()
    rules = conf.contact_rules if kind == Kind.CONTACT else conf.account_rules
    records = [survivor, *others]
    out: dict[str, dict[str, Any]] = {}
    for name, winner in winners(kind, records, rules, conf.source_ranking, choices).items():
        out[name] = {
            "values": {r.pk: field_value(r, name) for r in records},
            "chosen": winner.pk,
            "value": field_value(winner, name),
            "rule": rules.get(name, Rule.SURVIVOR),
            "differs": len(
                {str(field_value(r, name)) for r in records if not is_blank(field_value(r, name))}
            )
            > 1,
        }
    return out
