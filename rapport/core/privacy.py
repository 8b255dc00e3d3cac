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

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core import checks

PERSON_MODEL = "customers.Contact"

# Tables about a contact that no handler covers yet: the consent issue (export and erasure)
# registers their handlers and takes them off this list. Do not add a new app's model here;
# register its handler.
PENDING = frozenset(
    {
        "customers.Contact",
        "customers.ContactEmail",
        "customers.ContactPhone",
        "customers.ContactAddress",
        "customers.ContactExternalId",
        "customers.AccountMembership",
        "customers.SearchToken",
        "ingest.Proposal",
        "timeline.EntryLink",
    }
)


@dataclass(frozen=True)
class Handler:
    kind: str
    export: Callable[..., Any]
    erase: Callable[..., Any]
    models: tuple[str, ...] = ()


REGISTRY: dict[str, Handler] = {}


def register(
    kind: str,
    *,
    export: Callable[..., Any],
    erase: Callable[..., Any],
    models: tuple[str, ...] | list[str] = (),
) -> Handler:
    """Declare how to export and erase one kind of data about a contact (once, in ``ready``).
    ``models`` are the labels (``"app.Model"``) of the tables it covers."""
    existing = REGISTRY.get(kind)
    handler = Handler(kind, export, erase, tuple(models))
    if existing is not None and existing != handler:
        raise ValueError(f"A privacy handler for {kind!r} is registered already.")
    REGISTRY[kind] = handler
    return handler


def export_all(*, contact_id: int) -> dict[str, Any]:
    """What every registered kind holds about the contact, by kind."""
    return {kind: h.export(contact_id=contact_id) for kind, h in sorted(REGISTRY.items())}


def erase_all(*, actor: Any, contact_id: int) -> dict[str, Any]:
    """Erase the contact's data of every registered kind; what each handler reports, by kind.
    The caller runs it in one transaction, so an erasure is whole or not at all."""
    return {
        kind: h.erase(actor=actor, contact_id=contact_id) for kind, h in sorted(REGISTRY.items())
    }


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
