"""Reads of imports: the jobs a user may see, a preview of rows as they will be stored,
and the rejected rows as a file to fix and import again."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from rapport.audit.services import Actor
from rapport.core.actor import Via
from rapport.core.errors import NotFound, RapportError
from rapport.customers.export import inert
from rapport.ingest.imports import engine, kinds, storage
from rapport.ingest.imports.clean import ContactRow, clean_contact_row
from rapport.ingest.imports.rows import KindRun, problems_of, row_values
from rapport.ingest.imports.services import can_manage
from rapport.ingest.models import ImportJob, ImportKind, ImportRejection, SavedMapping
from rapport.users import permissions
from rapport.users.models import RecordKind

MANAGING_ROLES = ("admin", "manager", "steward")


def import_list(*, user: Any) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.select_related("created_by").order_by("-id")
    if permissions.is_system(user) or permissions.role_of(user) in MANAGING_ROLES:
        return qs
    return qs.filter(created_by=user)


def import_get(*, user: Any, pk: int) -> ImportJob:
    job = ImportJob.objects.select_related("created_by").filter(pk=pk).first()
    if job is None or not can_manage(user, job):
        raise NotFound("No such import.")
    return job


def mappings_for(*, user: Any, kind: str) -> QuerySet[SavedMapping]:
    """Saved mappings of files of ``kind``: for those who may import such files."""
    from rapport.ingest.imports.services import ENTITY

    permissions.require(user, "add", ENTITY[kind])
    return SavedMapping.objects.filter(kind=kind).order_by("name")


def earlier_imports_of(job: ImportJob) -> QuerySet[ImportJob]:
    """Other imports of a file with the same content (a second run changes nothing)."""
    return ImportJob.objects.filter(checksum=job.checksum).exclude(pk=job.pk).order_by("-id")


@dataclass
class PreviewRow:
    row: int
    values: dict[str, Any]  # target -> value as stored
    problems: list[tuple[str, str]]
    match: str  # what the row would do: "new contact", "updates contact 12 (by e-mail)"…
    # Fields left empty though the row is imported (a date that cannot be read).
    field_problems: list[tuple[str, str]] = field(default_factory=list)


def preview(*, job: ImportJob, limit: int = 20) -> list[PreviewRow]:
    """The first rows as they will be stored, with their problems and matches; writes nothing."""
    out: list[PreviewRow] = []
    kind = kinds.get(job.kind)
    if kind is not None and kind.import_row is not None:
        return _preview_kind(job, kind, limit)
    if job.kind != ImportKind.CONTACTS:
        with storage.open_table(job) as table:
            for row in table.rows:
                values = {job.mapping[h]: v for h, v in row.values.items() if job.mapping.get(h) and v}
                out.append(PreviewRow(row.number, values, [], ""))
                if len(out) >= limit:
                    break
        return out
    ctx = engine.build_context(job)
    cleaned: list[ContactRow] = []
    with storage.open_table(job) as table:
        for row in table.rows:
            result = clean_contact_row(row.number, row.raw, ctx)
            if isinstance(result, ContactRow):
                cleaned.append(result)
                out.append(PreviewRow(row.number, _shown(result), [], "", list(result.notes)))
            else:
                out.append(PreviewRow(row.number, {}, result, "rejected"))
            if len(out) >= limit:
                break
    # The run matches with the importer's visibility: so does its preview.
    visible = permissions.visible_owner_ids(job.created_by, RecordKind.CONTACT)
    found = engine.lookup_contacts(cleaned, visible_owners=visible)
    by_row = {r.row: r for r in cleaned}
    first_with: dict[tuple, int] = {}  # a row's key -> the first row of the file with it
    for p in out:
        r = by_row.get(p.row)
        if r is None:
            continue
        keys = engine.row_keys(r)
        earlier = min((first_with[k] for k in keys if k in first_with), default=None)
        pk, problem = engine.match_row(r, found)
        if not problem:  # a rejected row adds nothing a later one could repeat
            for k in keys:
                first_with.setdefault(k, p.row)
        if problem:
            p.problems.append(problem)
            p.match = "rejected"
        elif pk is None and earlier is not None:
            # The run writes the earlier row first, then matches this one to what it made.
            p.match = f"repeats row {earlier}: " + ("skipped" if job.on_match == "skip" else "updates the contact that row adds")
        elif pk is None:
            p.match = "new contact"
        else:
            p.match = f"contact {pk}: " + ("skipped" if job.on_match == "skip" else "updated where it differs")
    return out


class _Rollback(Exception):
    pass


def _preview_kind(job: ImportJob, kind: kinds.Kind, limit: int) -> list[PreviewRow]:
    """A registered kind's first rows, run through its own services in a transaction that
    is then rolled back: the preview says exactly what the run would do, and writes nothing
    (work after commit is dropped with it). A later row that meets what an earlier one made
    "repeats" it."""
    out: list[PreviewRow] = []
    run = KindRun(job, kind, Actor(user=job.created_by, via=Via.IMPORT, context={"import": job.pk, "preview": True}))
    made: dict[int, int] = {}  # object id -> the row that made it
    try:
        with transaction.atomic():
            with storage.open_table(job) as table:
                for row in table.rows:
                    values = dict(row_values(job, row.raw))
                    try:
                        with transaction.atomic():
                            done = run.row(row.number, row.raw, preview=True)
                    except kinds.Reject as exc:
                        out.append(PreviewRow(row.number, values, [(exc.field, exc.reason)], "rejected"))
                    except (RapportError, ValueError) as exc:
                        field_ = next(iter(exc.errors), "") if isinstance(exc, RapportError) else ""
                        reason = problems_of(exc) if isinstance(exc, RapportError) else str(exc)
                        out.append(PreviewRow(row.number, values, [(field_, reason)], "rejected"))
                    else:
                        match = done.match or done.action
                        if done.object_id in made and done.action != "created":
                            match = f"repeats row {made[done.object_id]}: " + ("skipped" if done.action == "skipped" else "updates what that row adds")
                        elif done.action == "created" and done.object_id:
                            made[done.object_id] = row.number
                        out.append(PreviewRow(row.number, values, [], match, list(done.field_problems)))
                    if len(out) >= limit:
                        break
            raise _Rollback
    except _Rollback:
        pass
    return out


def _shown(row: ContactRow) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in row.fields.items() if v and k != "full_name"}
    if row.emails:
        values["emails"] = ", ".join(e[0] for e in row.emails)
    if row.phones:
        values["phones"] = ", ".join(p[0] for p in row.phones)
    if row.address:
        values["address"] = ", ".join(v for v in row.address.values() if v)
    if row.account:
        a = row.account
        values["account"] = a.name or a.domain or a.external_id or f"#{a.id}"
    if row.external_ids:
        values["external_ids"] = ", ".join(f"{s}:{x}" for s, x in row.external_ids)
    if row.tags:
        values["tags"] = ", ".join(row.tags)
    for key, value in row.custom.items():
        values[f"custom.{key}"] = value
    return values


class _Echo:
    def write(self, value: str) -> str:
        return value


def rejected_rows_csv(*, job: ImportJob) -> Iterator[str]:
    """The rejected rows in the file's own columns plus ``error``: fix them and re-import.

    Cells are made inert as in every export; the import strips that mark again.
    """
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([*job.headers, "error"])
    qs = ImportRejection.objects.filter(job=job).order_by("row").values_list("row", "field", "reason", "cells")
    for row, _field, reason, cells in qs.iterator(chunk_size=2000):
        cells = list(cells) + [""] * (len(job.headers) - len(cells))
        error = f"row {row}: {reason}"
        yield writer.writerow([inert(c) for c in cells[: len(job.headers)]] + [inert(error)])
