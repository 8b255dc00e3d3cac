"""Web forms of the steward's pages: the merge screen and the match settings.

As in ``rapport.customers.forms``, the services validate; these turn a POST into the
arguments a service takes and describe the inputs the templates draw.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import QueryDict

from rapport.core.errors import ValidationFailed
from rapport.identity.models import Kind, MatchSettings, Rule

Errors = dict[str, list[str]]
# Field names a merge chooses values for, as people read them (``custom.*`` use the data
# dictionary's label).
LABELS = {
    "prefix": "Prefix",
    "given_name": "Given name",
    "middle_name": "Middle name",
    "family_name": "Family name",
    "suffix": "Suffix",
    "job_title": "Job title",
    "department": "Department",
    "preferred_channel": "Preferred channel",
    "language": "Language",
    "time_zone": "Time zone",
    "owner": "Owner",
    "source": "Source",
    "lifecycle": "Lifecycle",
    "name": "Name",
    "legal_name": "Legal name",
    "industry": "Industry",
    "size": "Size",
    "country": "Country",
    "phone": "Phone",
    "parent": "Parent account",
    "notes": "Notes",
}
# The comparison fields (``check.fields_of``), as the settings page names them.
COMPARISON_LABELS = {
    "given": "Given name",
    "family": "Family name",
    "email": "E-mail address",
    "phone": "Phone number",
    "organisation": "Organisation",
    "address": "Postal address",
    "identifier": "Identifying custom fields",
    "given_rarity": "How rare the given name is",
    "family_rarity": "How rare the family name is",
    "domain": "Web domain",
    "name": "Name",
}


def comparison_label(name: str, custom_labels: dict[str, str] | None = None) -> str:
    """A comparison field as the settings page names it; an identifying data field
    ("date:birth_date") by its label."""
    if name in COMPARISON_LABELS:
        return COMPARISON_LABELS[name]
    key = name.partition(":")[2]
    if key:
        label = (custom_labels or {}).get(key) or key.replace("_", " ").capitalize()
        return f"{label} (identifying)"
    return name


def field_label(name: str, custom_labels: dict[str, str] | None = None) -> str:
    if name.startswith("custom."):
        return (custom_labels or {}).get(name[7:]) or name[7:].replace("_", " ").capitalize()
    return LABELS.get(name) or name.replace("_", " ").capitalize()


def _int(raw: Any) -> int | None:
    text = str(raw or "").strip()
    return int(text) if text.isdigit() else None


def record_ids(raw: str) -> list[int]:
    """``"12,15, 18"`` → [12, 15, 18] (order kept, repeats dropped): 2 to 9 records."""
    ids: list[int] = []
    for part in raw.replace(" ", ",").split(","):
        if not part:
            continue
        if not part.isdigit():
            raise ValidationFailed(
                "The records to compare are ids separated by commas.",
                errors={"ids": [f"Not an id: {part!r}."]},
            )
        if int(part) not in ids:
            ids.append(int(part))
    if not 2 <= len(ids) <= 9:
        raise ValidationFailed(
            "Compare between two and nine records.", errors={"ids": ["Give 2 to 9 ids."]}
        )
    return ids


@dataclass
class MergeInput:
    """What the merge screen posts: the records, the survivor, a record per field, and
    the version of each record as the steward saw it."""

    survivor_id: int
    merged_ids: list[int]
    choices: dict[str, int] = field(default_factory=dict)
    expected_versions: dict[int, int] = field(default_factory=dict)

    @property
    def all_ids(self) -> list[int]:
        return [self.survivor_id, *self.merged_ids]


def merge_input(post: QueryDict, fields: list[str]) -> MergeInput:
    """Read the merge form. ``shown`` lists every record on the screen (for the versions),
    ``ids`` those ticked for the merge, ``survivor`` the one kept, ``choice-<field>`` the
    record whose value the field takes (``rule-<field>``: the one the rules picked, so a
    choice left as suggested is not recorded as the steward's), ``version-<id>`` each
    record's version."""
    shown = [i for i in (_int(v) for v in post.getlist("shown")) if i is not None]
    ticked = [i for i in (_int(v) for v in post.getlist("ids")) if i is not None]
    survivor = _int(post.get("survivor"))
    if survivor is None or survivor not in shown:
        raise ValidationFailed(
            "Choose the record to keep.", errors={"survivor": ["Choose one of the records."]}
        )
    merged = [i for i in dict.fromkeys(ticked or shown) if i != survivor and i in shown]
    chosen_records = {survivor, *merged}
    choices: dict[str, int] = {}
    for name in fields:
        pk = _int(post.get(f"choice-{name}"))
        if pk is not None and pk == _int(post.get(f"rule-{name}")):
            continue  # left as the rules suggested
        # A value from a record left out of the merge cannot survive it: the rule decides.
        if pk is not None and pk in chosen_records:
            choices[name] = pk
    versions: dict[int, int] = {}
    for pk in chosen_records:
        version = _int(post.get(f"version-{pk}"))
        if version is not None:
            versions[pk] = version
    return MergeInput(survivor, merged, choices, versions)


# --- match settings ----------------------------------------------------------------------


@dataclass
class RuleRow:
    name: str
    label: str
    value: str


@dataclass
class ComparisonRow:
    name: str
    label: str
    kinds: str
    off: bool


@dataclass
class SettingsForm:
    upper: str
    lower: str
    auto_merge: bool
    contact_rules: list[RuleRow]
    account_rules: list[RuleRow]
    source_ranking: str
    comparisons: list[ComparisonRow]
    version: int
    errors: Errors = field(default_factory=dict)
    rule_choices: list[tuple[str, str]] = field(default_factory=lambda: list(Rule.choices))


def settings_form(
    *,
    conf: MatchSettings,
    merge_fields: dict[str, list[str]],
    comparison_fields: dict[str, tuple[str, ...]],
    custom_labels: dict[str, dict[str, str]],
    post: QueryDict | None = None,
    errors: Errors | None = None,
) -> SettingsForm:
    """The settings as stored, or as posted when the form is shown again."""
    data = settings_data(post, merge_fields) if post is not None else None
    stored_rules: dict[str, dict[str, str]] = {
        Kind.CONTACT: conf.contact_rules,
        Kind.ACCOUNT: conf.account_rules,
    }

    def rules(kind: str) -> list[RuleRow]:
        values = data[f"{kind}_rules"] if data else stored_rules[kind]
        return [
            RuleRow(f, field_label(f, custom_labels.get(kind)), values.get(f, Rule.SURVIVOR))
            for f in merge_fields[kind]
        ]

    off = set(data["disabled_fields"] if data else conf.disabled_fields)
    kinds_of: dict[str, list[str]] = {}
    for kind, names in comparison_fields.items():
        for name in names:
            kinds_of.setdefault(name, []).append(f"{kind}s")
    return SettingsForm(
        upper=str(post.get("upper", "")) if post is not None else f"{conf.upper:g}",
        lower=str(post.get("lower", "")) if post is not None else f"{conf.lower:g}",
        auto_merge=bool(data["auto_merge"]) if data else conf.auto_merge,
        contact_rules=rules(Kind.CONTACT),
        account_rules=rules(Kind.ACCOUNT),
        source_ranking="\n".join(data["source_ranking"] if data else conf.source_ranking),
        comparisons=[
            ComparisonRow(
                n, comparison_label(n, custom_labels.get(Kind.CONTACT)), ", ".join(k), n in off
            )
            for n, k in kinds_of.items()
        ],
        version=conf.version,
        errors=errors or {},
    )


def settings_data(post: QueryDict, merge_fields: dict[str, list[str]]) -> dict[str, Any]:
    """The POST as ``services.settings_update`` takes it."""
    return {
        "upper": post.get("upper", "").strip().replace(",", "."),
        "lower": post.get("lower", "").strip().replace(",", "."),
        "auto_merge": post.get("auto_merge") == "on",
        "contact_rules": {
            f: post.get(f"contact_rule-{f}", Rule.SURVIVOR) for f in merge_fields[Kind.CONTACT]
        },
        "account_rules": {
            f: post.get(f"account_rule-{f}", Rule.SURVIVOR) for f in merge_fields[Kind.ACCOUNT]
        },
        "source_ranking": post.get("source_ranking", "").splitlines(),
        "disabled_fields": post.getlist("disabled_fields"),
    }


def version_of(post: QueryDict) -> int | None:
    return _int(post.get("version"))
