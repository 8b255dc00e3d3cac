"""rapport import contacts|accounts FILE [--mapping NAME] [--region GB] [--source NAME]
                                         [--on-match fill_empty|overwrite|skip] [--user NAME]
                                         [--on-duplicate review|match]
                                         [--no-create-accounts] [--enqueue]
rapport import resume|status|cancel|undo ID
rapport import rejected ID FILE.csv

Runs the import in this process with a progress bar (or, with --enqueue, hands it to the
background worker and follows its progress). Both show the job's stored state, so a
killed run is resumed with `rapport import resume ID`.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.core.commands import command_actor
from rapport.core.errors import RapportError
from rapport.ingest.imports import engine, selectors, services, undo
from rapport.ingest.models import ImportJob, OnDuplicate, OnMatch


def _explain(exc: RapportError) -> str:
    details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
    return f"{exc.message} {details}".strip()


class Command(BaseCommand):
    help = "Import contacts, accounts, deals or leads from a CSV or XLSX file, or manage an import."

    def add_arguments(self, parser: Any) -> None:
        from rapport.ingest.imports import kinds

        parser.add_argument("action", choices=[*kinds.names(), "resume", "status", "cancel", "undo", "rejected"])
        parser.add_argument("target", help="the file to import, or an import's id")
        parser.add_argument("out", nargs="?", help="for 'rejected': the CSV file to write")
        parser.add_argument("--mapping", default="", help="a saved mapping's name")
        parser.add_argument("--region", default=None, help="phone numbers without +code are read in this region")
        parser.add_argument("--source", default=None, help="the system the file's ids come from")
        parser.add_argument("--on-match", choices=OnMatch.values, default=None)
        parser.add_argument(
            "--on-duplicate", choices=OnDuplicate.values, default=None,
            help="a new row that looks like an existing contact: create it and queue it for review, or update the existing one",
        )
        parser.add_argument("--no-create-accounts", action="store_true")
        parser.add_argument("--user", help="import as this user (their rights, named in the history)")
        parser.add_argument("--enqueue", action="store_true", help="let the background worker run it")
        parser.add_argument("--processes", type=int, default=None, help="processes that clean rows")
        parser.add_argument("--quiet", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = command_actor(opts["user"], via=Via.IMPORT, context={"path": "cli"})
        try:
            if opts["action"] not in ("resume", "status", "cancel", "undo", "rejected"):
                job = self._create(actor, opts)
            else:
                if not opts["target"].isdigit():
                    raise CommandError("Give the import's id.")
                job = selectors.import_get(user=actor.user, pk=int(opts["target"]))
                if opts["action"] == "status":
                    self._summary(job)
                    return
                if opts["action"] == "rejected":
                    if not opts["out"]:
                        raise CommandError("Give the file to write the rejected rows to.")
                    with open(opts["out"], "w", encoding="utf-8", newline="") as f:
                        f.writelines(selectors.rejected_rows_csv(job=job))
                    self.stdout.write(f"Wrote {job.rejected:,} rejected rows to {opts['out']}.")
                    return
                if opts["action"] == "cancel":
                    services.import_cancel(actor=actor, job=job)
                    self.stdout.write("Cancel requested: the import stops after the batch in progress.")
                    return
                if opts["action"] == "undo":
                    services.import_undo(actor=actor, job=job)
                    if not opts["enqueue"]:
                        job = undo.undo_run(job.pk, actor)
                    job.refresh_from_db()
                    self.stdout.write(f"Undo: {job.undone:,} records put back, {job.undo_refused:,} left because they changed since.")
                    return
            self._run(job, actor, opts)
        except RapportError as exc:
            raise CommandError(_explain(exc)) from None

    def _create(self, actor: Actor, opts: dict) -> ImportJob:
        try:
            with open(opts["target"], "rb") as f:
                job = services.import_create(actor=actor, stream=f, filename=opts["target"], kind=opts["action"])
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['target']}: {exc.strerror}.") from None
        services.import_configure(
            actor=actor, job=job, mapping_name=opts["mapping"], region=opts["region"], source=opts["source"],
            on_match=opts["on_match"], on_duplicate=opts["on_duplicate"], create_accounts=False if opts["no_create_accounts"] else None,
        )  # fmt: skip
        job.refresh_from_db()
        unmapped = [h for h in job.headers if not job.mapping.get(h)]
        self.stderr.write(f"Import {job.pk}: {job.file_name}, source '{job.source}', region {job.region}.")
        for header in job.headers:
            self.stderr.write(f"  {header!r:>28} -> {job.mapping.get(header) or '(not imported)'}")
        if unmapped:
            self.stderr.write("Columns not imported: " + ", ".join(unmapped) + " (use --mapping to choose).")
        return job

    def _run(self, job: ImportJob, actor: Actor, opts: dict) -> None:
        if opts["action"] == "resume":
            job = services.import_resume(actor=actor, job=job) if opts["enqueue"] else job
        elif job.state == ImportJob.State.NEW:
            if opts["enqueue"]:
                job = services.import_start(actor=actor, job=job)
            else:
                ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
        bar = tqdm(total=job.total_rows or None, unit="row", file=sys.stderr, disable=opts["quiet"], desc=f"import {job.pk}")

        def show(current: ImportJob) -> None:
            if current.total_rows and bar.total != current.total_rows:
                bar.total = current.total_rows
            bar.n = current.rows_seen
            bar.set_postfix(rejected=current.rejected, refresh=False)
            bar.refresh()

        if opts["enqueue"]:
            while True:  # follow the worker through the stored state
                job.refresh_from_db()
                show(job)
                if not job.is_active:
                    break
                time.sleep(1)
        else:
            result = engine.run(job.pk, force=opts["action"] == "resume", progress=show, processes=opts["processes"])
            if result is None:
                bar.close()
                job.refresh_from_db()
                raise CommandError(f"Import {job.pk} is {job.get_state_display().lower()}; nothing to run.")
        bar.close()
        job.refresh_from_db()
        self._summary(job)

    def _summary(self, job: ImportJob) -> None:
        self.stdout.write(
            f"Import {job.pk} {job.get_state_display().lower()}: {job.rows_seen:,} of {job.total_rows or 0:,} rows; "
            f"{job.created:,} created, {job.updated:,} updated, {job.unchanged:,} unchanged, "
            f"{job.skipped:,} skipped, {job.rejected:,} rejected; {job.accounts_created:,} new accounts; "
            f"{job.rows_per_second:,.0f} rows/s."
        )
        if job.error:
            self.stdout.write(f"Error: {job.error}")
        if job.rejected:
            self.stdout.write(f"Rejected rows: rapport import rejected {job.pk} rejected.csv")
