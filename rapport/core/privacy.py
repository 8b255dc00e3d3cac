"""The registry of what each app holds about a person: how to export it and how to erase it.

A subject access request ("send me what you hold about me") and an erasure ("forget me")
must reach every table that holds something about the contact, including the tables of
apps written after this one. So each app registers one handler per kind of data it holds::

    from rapport.core import privacy

    privacy.register(
        "timeline",
        export=timeline_export,    # (*, contact_id) -> JSON-ready data about that contact
        erase=timeline_erase,      # (*, actor, contact_id) -> how many rows it changed
        models=("timeline.EntryLink",),
    )

in its ``AppConfig.ready()``, and ``export_all`` and ``erase_all`` run every handler. The
system check ``core.E001`` fails the build when a model that points at a contact is
covered by no handler (``models``): a new app cannot forget to say what an erasure does
with its rows. Models not handled yet are listed in ``PENDING`` until the consent issue
registers their handlers; an entry left there after a handler covers it is an error too
(``core.E003``), so the list only shrinks.

Core imports no app: the contact model is named by ``PERSON_MODEL`` and looked up when the
check runs.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core import checks
from django.db.models import Q

PERSON_MODEL = "customers.Contact"

# Tables about a contact that no handler covered before the registry existed. Every one is
# handled now (issue 16); the list stays so that a model can never be put back on it
# (core.E003) and so that an app's tests can see it is empty. Do not add to it.
PENDING: frozenset[str] = frozenset()


# Handlers run in this order (then by kind): the default for what an app holds; the
# contact record itself goes after them (its deletion cascades, so the others must have
# read and cleaned what they hold first); the audit trail's tombstones last of all, since
# every handler before may write audit entries that name the person.
ORDER_DEFAULT = 100
ORDER_RECORD = 1000
ORDER_AUDIT = 2000


@dataclass(frozen=True)
class Handler:
    kind: str
    export: Callable[..., Any]
    erase: Callable[..., Any]
    models: tuple[str, ...] = ()
    order: int = ORDER_DEFAULT
    # The handler's erase takes ``values`` too: the person's identifying strings, read
    # before anything was erased (for data that holds their values but not their id).
    wants_values: bool = False


REGISTRY: dict[str, Handler] = {}
# Functions (contact_id) -> iterable of strings: what identifies the person in free text.
VALUE_SOURCES: list[Callable[[int], Any]] = []


def register(
    kind: str,
    *,
    export: Callable[..., Any],
    erase: Callable[..., Any],
    models: tuple[str, ...] | list[str] = (),
    order: int = ORDER_DEFAULT,
    wants_values: bool = False,
) -> Handler:
    """Declare how to export and erase one kind of data about a contact (once, in ``ready``).
    ``models`` are the labels (``"app.Model"``) of the tables it covers."""
    existing = REGISTRY.get(kind)
    handler = Handler(kind, export, erase, tuple(models), order, wants_values)
    if existing is not None and existing != handler:
        raise ValueError(f"A privacy handler for {kind!r} is registered already.")
    REGISTRY[kind] = handler
    return handler


def register_values(source: Callable[[int], Any]) -> None:
    """Add a source of the person's identifying values (names, addresses, numbers)."""
    if source not in VALUE_SOURCES:
        VALUE_SOURCES.append(source)


# Functions (contact_id) -> iterable of ids: other record ids that were the same person
# (records merged into them), whose history is theirs too.
ID_SOURCES: list[Callable[[int], Any]] = []


def register_ids(source: Callable[[int], Any]) -> None:
    if source not in ID_SOURCES:
        ID_SOURCES.append(source)


def person_ids(*, contact_id: int) -> list[int]:
    """The contact's id and the ids of every record that was the same person."""
    found = {int(contact_id)}
    for source in ID_SOURCES:
        found |= {int(i) for i in source(contact_id) or ()}
    return sorted(found)


# Shorter strings are too common to find and replace in other people's text.
MIN_VALUE_LENGTH = 5


def person_values(*, contact_id: int) -> list[str]:
    """The strings that identify the person (longest first), from every value source:
    what an erasure looks for in data that holds their values but not their id."""
    found: set[str] = set()
    for source in VALUE_SOURCES:
        for value in source(contact_id) or ():
            text = " ".join(str(value or "").split())
            if len(text) >= MIN_VALUE_LENGTH:
                found.add(text)
    return sorted(found, key=lambda v: (-len(v), v))


ERASED = "[erased]"


def _pattern(values: list[str]) -> re.Pattern[str] | None:
    if not values:
        return None
    return re.compile("|".join(re.escape(v) for v in values), re.IGNORECASE)


def redact(text: str, values: list[str]) -> str:
    """``text`` with every occurrence of the values (any case) replaced by ``ERASED``."""
    pattern = _pattern(values)
    return pattern.sub(ERASED, text) if pattern is not None and text else text


def redact_data(data: Any, values: list[str]) -> Any:
    """``redact`` through JSON-ready data (the keys of dicts too)."""
    pattern = _pattern(values)
    if pattern is None:
        return data

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return pattern.sub(ERASED, item)
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        if isinstance(item, list | tuple):
            return [walk(v) for v in item]
        return item

    return walk(data)


def value_q(fields: tuple[str, ...] | list[str], values: list[str]) -> Q:
    """Rows whose text (or JSON, as stored: SQLite escapes non-ASCII letters) in any of
    ``fields`` holds any of the values, ignoring case. Nothing when there are no values."""
    q = Q(pk__in=[])
    for value in values:
        forms = {value, json.dumps(value)[1:-1]}
        for name in fields:
            for form in forms:
                q |= Q(**{f"{name}__icontains": form})
    return q


def holds_any(text: str, values: list[str]) -> bool:
    pattern = _pattern(values)
    return bool(pattern is not None and text and pattern.search(text))


def _ordered() -> list[Handler]:
    return sorted(REGISTRY.values(), key=lambda h: (h.order, h.kind))


def export_all(*, contact_id: int) -> dict[str, Any]:
    """What every registered kind holds about the contact, by kind."""
    return {h.kind: h.export(contact_id=contact_id) for h in _ordered()}


def erase_all(*, actor: Any, contact_id: int, values: list[str] | None = None) -> dict[str, Any]:
    """Erase the contact's data of every registered kind; what each handler reports, by kind.
    The caller runs it in one transaction, so an erasure is whole or not at all. The
    person's values are read first (``person_values``), before any handler erases them."""
    handlers = _ordered()
    if values is None:
        wanted = any(h.wants_values for h in handlers)
        values = person_values(contact_id=contact_id) if wanted else []
    out: dict[str, Any] = {}
    for h in handlers:
        if h.wants_values:
            out[h.kind] = h.erase(actor=actor, contact_id=contact_id, values=values)
        else:
            out[h.kind] = h.erase(actor=actor, contact_id=contact_id)
    return out


def models_about_a_person() -> set[str]:
    """Labels of the models holding a person: the contact model and every model with a
    concrete relation to it."""
    person = apps.get_model(PERSON_MODEL)
    found = {person._meta.label}
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if f.is_relation and f.concrete and f.related_model is person:
                found.add(model._meta.label)
    return found


def check_privacy_registry(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    covered: dict[str, str] = {}
    for kind, handler in REGISTRY.items():
        if not (callable(handler.export) and callable(handler.erase)):
            errors.append(
                checks.Error(
                    f"The privacy handler {kind!r} needs an export and an erase function.",
                    id="core.E002",
                )
            )
        for label in handler.models:
            try:
                apps.get_model(label)
            except (LookupError, ValueError):
                errors.append(
                    checks.Error(
                        f"The privacy handler {kind!r} names no model {label!r}.", id="core.E004"
                    )
                )
            covered[label] = kind
    for label in sorted(models_about_a_person()):
        if label in covered and label in PENDING:
            errors.append(
                checks.Error(
                    f"{label} is covered by the privacy handler {covered[label]!r} and still pending.",
                    hint="Take it off rapport.core.privacy.PENDING.",
                    id="core.E003",
                )
            )
        elif label not in covered and label not in PENDING:
            errors.append(
                checks.Error(
                    f"{label} holds data about a contact but no privacy handler covers it.",
                    hint="Register export and erase for it with rapport.core.privacy.register "
                    "in the app's ready() (models=...).",
                    obj=label,
                    id="core.E001",
                )
            )
    return errors
