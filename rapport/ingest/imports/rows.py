"""Imports that write row by row through a domain's services: accounts, and every kind an
app registers (``kinds``). Each batch of rows is one transaction that also moves the job's
``rows_done``, so a run killed anywhere resumes after its last committed batch, nothing
lost or doubled; each row has a savepoint of its own, so a rejected row (its row, field and
reason kept with its cells) never stops the others."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from rapport.audit.services import Actor
from rapport.core.errors import RapportError
from rapport.ingest.imports import storage
from rapport.ingest.imports.clean import uninert
from rapport.ingest.imports.kinds import Kind, Lookup, Reject, RowDone, RowInput
from rapport.ingest.imports.runs import Stop, mark_cancelled
from rapport.ingest.models import ImportJob, ImportRecord, ImportRejection
from rapport.users.models import User

BATCH = 200
FIELD_PROBLEMS_KEPT = 1000
# One row: (job, row number, cells, counts) -> None; raises Reject, RapportError or ValueError.
OneRow = Callable[[ImportJob, int, list[str], dict], None]


def active_owners() -> dict[str, int]:
    return {
        u.casefold(): pk
        for pk, u in User.objects.filter(is_active=True).values_list("pk", "username")
    }


def problems_of(exc: RapportError) -> str:
    return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items()) or exc.message


def run_rows(
    job: ImportJob,
    token: str,
    one: OneRow,
    *,
    progress: Callable | None,
    started: float,
    base_seconds: float,
    batch: int = 0,
) -> None:
    """Every row after ``rows_done`` through ``one``, ``batch`` rows (``BATCH``) a transaction."""
    size = batch or BATCH
    with storage.open_table(job) as table:
        rows: list[tuple[int, list[str]]] = []
        for row in table.rows:
            if row.number <= job.rows_done:
                continue
            rows.append((row.number, row.raw))
            if len(rows) >= size:
                _batch(job.pk, token, rows, one, started, base_seconds)
                rows = []
                if progress:
                    job.refresh_from_db()
                    progress(job)
        if rows:
            _batch(job.pk, token, rows, one, started, base_seconds)


def _reject(job: ImportJob, number: int, cells: list[str], field: str, reason: str) -> None:
    ImportRejection.objects.get_or_create(
        job=job, row=number, defaults={"field": field[:100], "reason": reason, "cells": cells}
    )


def _batch(
    job_id: int, token: str, batch: list, one: OneRow, started: float, base_seconds: float
) -> None:
    counts: dict[str, Any] = {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped": 0,
        "rejected": 0,
        "accounts_created": 0,
        "field_problems": [],
    }
    cancelled = False
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job_id)
        if job.run_token != token:
            raise Stop("another run owns this import")
        if job.cancel_requested:
            mark_cancelled(job)
            cancelled = True
        for number, cells in batch if not cancelled else []:
            try:
                with transaction.atomic():
                    one(job, number, cells, counts)
            except Reject as exc:
                _reject(job, number, cells, exc.field, exc.reason)
                counts["rejected"] += 1
            except (RapportError, ValueError) as exc:
                reason = problems_of(exc) if isinstance(exc, RapportError) else str(exc)
                field = next(iter(exc.errors), "") if isinstance(exc, RapportError) else ""
                _reject(job, number, cells, field, reason)
                counts["rejected"] += 1
        if not cancelled:
            problems = counts.pop("field_problems")
            for name, n in counts.items():
                setattr(job, name, getattr(job, name) + n)
            if problems:
                job.field_problems += len(problems)
                room = max(FIELD_PROBLEMS_KEPT - len(job.field_problem_rows), 0)
                job.field_problem_rows = job.field_problem_rows + [list(p) for p in problems[:room]]
            job.rows_done = batch[-1][0]
            job.rows_seen += len(batch)
            job.heartbeat_at = timezone.now()
            job.run_seconds = base_seconds + (time.monotonic() - started)
            job.save()
    if cancelled:  # after the commit: raising inside would roll the cancellation back
        raise Stop("cancelled")


# --- registered kinds ------------------------------------------------------------------------


def row_values(job: ImportJob, cells: list[str]) -> dict[str, str]:
    """The row's non-empty cells by target (stripped, a formula mark removed)."""
    values: dict[str, str] = {}
    for i, header in enumerate(job.headers):
        target = job.mapping.get(header)
        if not target or target == "ignore" or i >= len(cells):
            continue
        value = uninert(cells[i].strip())
        if value:
            values[target] = value
    return values


class KindRun:
    """Runs (or previews) rows of a registered kind through its ``import_row``."""

    def __init__(self, job: ImportJob, kind: Kind, actor: Actor) -> None:
        assert kind.import_row is not None
        self.job, self.kind, self.actor = job, kind, actor
        self.lookup = Lookup(actor.user, job.source)
        self.owners = active_owners()

    def row(self, number: int, cells: list[str], *, preview: bool = False) -> RowDone:
        job = self.job
        row_actor = Actor(
            user=self.actor.user, via=self.actor.via, context={"import": job.pk, "row": number}
        )
        assert self.kind.import_row is not None
        return self.kind.import_row(
            RowInput(
                job=job,
                number=number,
                values=row_values(job, cells),
                actor=row_actor,
                lookup=self.lookup,
                preview=preview,
                owners=self.owners,
            )
        )

    def one(self, job: ImportJob, number: int, cells: list[str], counts: dict) -> None:
        done = self.row(number, cells)
        counts[done.action] += 1
        counts["accounts_created"] += done.accounts_created
        counts["field_problems"] += [(number, f, r) for f, r in done.field_problems]
        if (
            done.entity_kind
            and done.object_id
            and done.action in (ImportRecord.Action.CREATED, ImportRecord.Action.UPDATED)
        ):
            ImportRecord.objects.create(
                job=job, row=number, entity_kind=done.entity_kind, object_id=done.object_id, action=done.action,
                version=done.version, before=done.before, key=done.key,
            )  # fmt: skip

    def run(
        self, token: str, *, progress: Callable | None, started: float, base_seconds: float
    ) -> None:
        run_rows(
            self.job, token, self.one, progress=progress, started=started, base_seconds=base_seconds
        )
