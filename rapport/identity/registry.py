"""The merge registry: every kind of row that points at a contact or an account says here
how it moves to the survivor of a merge and how an unmerge puts it back.

Each app registers its relations once, in its ``AppConfig.ready`` (or in a ``merge.py``
that ``ready`` imports)::

    from rapport.identity import registry
    registry.register(registry.Relation(Case, "contact", kind="contact"))

A merge then moves, for each relation of the merged kind, every row that points at a
merged-away record onto the survivor, and journals what it did; an unmerge replays the
journal backwards. ``unregistered()`` lists every foreign key to a contact or an account
that no relation declares, and a system check (``identity.E001``) fails while any is
left: no app can be forgotten, as a forgotten one would be deleted with the merged record.

A relation is declared with:

- ``unique_with``: columns that, together with the pointer, must be unique (an e-mail
  address, a tag, an account for a membership). A merged row whose values the survivor
  already has is *folded*: removed, and kept whole in the journal, after ``combine`` has
  given the survivor's row what it lacked (a missing job title, a stricter consent).
- ``exclusive``: boolean columns that at most one row per record may have set (the
  primary e-mail). A moved row loses the flag if the survivor already has one.
- ``Derived`` rows (a search index) are not moved: they are rebuilt from the records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

Values = dict[str, Any]
Combine = Callable[[Values, Values], Values]


def row_values(obj: models.Model) -> Values:
    """A row's stored values by column attribute, in a JSON-safe form."""
    encoder = DjangoJSONEncoder()
    out: Values = {}
    for f in obj._meta.concrete_fields:
        value = f.value_from_object(obj)
        if isinstance(value, dt.datetime | dt.date | dt.time):
            value = value.isoformat()  # to the microsecond (the JSON encoder keeps milliseconds)
        elif value is not None and not isinstance(value, str | int | float | bool | list | dict):
            value = encoder.default(value)
        out[f.attname] = value
    return out


def rows_restore(model: type[models.Model], rows: list[Values]) -> None:
    """Insert rows exactly as they were, ids and timestamps included."""
    if not rows:
        return
    fields = {f.attname: f for f in model._meta.concrete_fields}
    objs = [
        model(**{k: fields[k].to_python(v) for k, v in row.items() if k in fields}) for row in rows
    ]
    model._default_manager.bulk_create(objs)
    # auto_now(_add) fields are set by the insert: put the recorded moments back.
    stamped = [
        f
        for f in fields.values()
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    for row in rows if stamped else []:
        model._default_manager.filter(pk=row["id"]).update(
            **{f.attname: f.to_python(row[f.attname]) for f in stamped}
        )


@dataclass(frozen=True)
class Relation:
    model: type[models.Model]
    field: str  # the foreign key's name
    kind: str  # "contact" or "account"
    unique_with: tuple[str, ...] = ()
    exclusive: tuple[str, ...] = ()
    combine: Combine | None = None
    label: str = ""

    @property
    def name(self) -> str:
        return self.label or f"{self.model._meta.label_lower}.{self.field}"

    @property
    def column(self) -> str:
        return self.model._meta.get_field(self.field).attname  # type: ignore[union-attr]

    def _key(self, row: Values) -> tuple:
        return tuple(row[self.model._meta.get_field(c).attname] for c in self.unique_with)  # type: ignore[union-attr]

    def move(self, survivor_id: int, merged_id: int) -> Values:
        """Move the rows of one merged record onto the survivor; the journal entry."""
        manager = self.model._default_manager
        col = self.column
        entry: Values = {
            "relation": self.name,
            "merged_id": merged_id,
            "moved": [],
            "folded": [],
            "combined": [],
            "cleared": [],
        }
        rows = [row_values(o) for o in manager.filter(**{col: merged_id}).order_by("pk")]
        if not rows:
            return entry
        survivor_rows = (
            {self._key(r): r for r in (row_values(o) for o in manager.filter(**{col: survivor_id}))}
            if self.unique_with
            else {}
        )
        moving = []
        for row in rows:
            twin = survivor_rows.get(self._key(row)) if self.unique_with else None
            if twin is None:
                moving.append(row)
                continue
            if self.combine is not None:
                updates = {k: v for k, v in self.combine(twin, row).items() if twin.get(k) != v}
                if updates:
                    entry["combined"].append(
                        {
                            "id": twin["id"],
                            "before": {k: twin[k] for k in updates},
                            "after": updates,
                        }
                    )
                    twin.update(updates)
            entry["folded"].append(row)
        # The folded rows go before their twins change: a twin may take over a flag
        # (primary) that a unique constraint allows only once.
        if entry["folded"]:
            manager.filter(pk__in=[r["id"] for r in entry["folded"]]).delete()
        for combined in entry["combined"]:
            manager.filter(pk=combined["id"]).update(**combined["after"])
        for flag in self.exclusive:
            attname = self.model._meta.get_field(flag).attname  # type: ignore[union-attr]
            if manager.filter(**{col: survivor_id, attname: True}).exists():
                flagged = [r["id"] for r in moving if r[attname]]
                if flagged:
                    manager.filter(pk__in=flagged).update(**{attname: False})
                    entry["cleared"].append([attname, flagged])
        ids = [r["id"] for r in moving]
        if ids:
            manager.filter(pk__in=ids).update(**{col: survivor_id})
        entry["moved"] = ids
        return entry

    def restore(self, survivor_id: int, entry: Values) -> list[str]:
        """Put one merged record's rows back; what could not be put back, in words."""
        manager = self.model._default_manager
        col, merged_id = self.column, entry["merged_id"]
        conflicts: list[str] = []
        present = set(
            manager.filter(pk__in=entry["moved"], **{col: survivor_id}).values_list("pk", flat=True)
        )
        gone = [pk for pk in entry["moved"] if pk not in present]
        if gone:
            conflicts.append(
                f"{self._label()} {', '.join(map(str, gone))} changed or removed since the merge: left as it is now"
            )
        if present:
            manager.filter(pk__in=present).update(**{col: merged_id})
        for attname, pks in entry["cleared"]:
            manager.filter(pk__in=[pk for pk in pks if pk in present]).update(**{attname: True})
        for combined in entry["combined"]:
            current = manager.filter(pk=combined["id"]).values(*combined["after"]).first()
            if current is None:
                continue
            unchanged = {
                k: combined["before"][k]
                for k, v in combined["after"].items()
                if _same(current[k], v)
            }
            if len(unchanged) < len(combined["after"]):
                conflicts.append(
                    f"{self._label()} {combined['id']} was changed since the merge: kept as it is now"
                )
            if unchanged:
                manager.filter(pk=combined["id"]).update(**unchanged)
        rows_restore(self.model, entry["folded"])
        return conflicts

    def _label(self) -> str:
        return str(self.model._meta.verbose_name)


def _same(a: Any, b: Any) -> bool:
    return a == b or str(a) == str(b)


@dataclass(frozen=True)
class Derived:
    """Rows computed from a record (a search index): dropped with the merged record and
    rebuilt for the survivor by ``rebuild(kind, ids)``."""

    model: type[models.Model]
    fields: tuple[str, ...]
    rebuild: Callable[[str, list[int]], None]


# What a customer is worth to the business, for ordering the review queue: each app that
# knows something (lifecycle, deals, revenue) adds a provider; the values add up.
ValueProvider = Callable[[str, list[int]], dict[int, float]]


@dataclass
class Registry:
    relations: list[Relation] = field(default_factory=list)
    derived: list[Derived] = field(default_factory=list)
    value_providers: list[ValueProvider] = field(default_factory=list)

    def register_value(self, provider: ValueProvider) -> None:
        if provider not in self.value_providers:
            self.value_providers.append(provider)

    def values(self, kind: str, ids: list[int]) -> dict[int, float]:
        total: dict[int, float] = {}
        for provider in self.value_providers:
            for pk, value in provider(kind, ids).items():
                total[pk] = total.get(pk, 0.0) + value
        return total

    def register(self, item: Relation | Derived) -> None:
        if isinstance(item, Derived):
            if item not in self.derived:
                self.derived.append(item)
        elif not any(r.model is item.model and r.field == item.field for r in self.relations):
            self.relations.append(item)

    def unregister(self, model: type[models.Model]) -> None:
        self.relations = [r for r in self.relations if r.model is not model]
        self.derived = [d for d in self.derived if d.model is not model]

    def for_kind(self, kind: str) -> list[Relation]:
        return [r for r in self.relations if r.kind == kind]

    def rebuild(self, kind: str, ids: list[int]) -> None:
        for d in self.derived:
            d.rebuild(kind, ids)

    def unregistered(self) -> list[str]:
        """Foreign keys to a contact or an account that nothing declares."""
        contact = apps.get_model("customers", "Contact")
        account = apps.get_model("customers", "Account")
        declared = {(r.model, r.field) for r in self.relations}
        declared |= {(d.model, f) for d in self.derived for f in d.fields}
        missing = []
        for model in apps.get_models(include_auto_created=True):
            for f in model._meta.get_fields():
                target = getattr(f, "related_model", None)
                if not (f.concrete and f.many_to_one or f.one_to_one and f.concrete):
                    continue
                if target in (contact, account) and (model, f.name) not in declared:
                    missing.append(f"{model._meta.label}.{f.name}")
        return sorted(missing)


REGISTRY = Registry()
register = REGISTRY.register
