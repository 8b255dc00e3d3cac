"""rapport duplicates scan [--kind contact|account] [--incremental] [--enqueue] [--user NAME]
rapport duplicates export FILE.csv [--kind contact|account]
rapport duplicates status

``scan`` runs in this process and prints each phase with its time (or, with --enqueue,
hands the scan to the background worker). ``export`` writes the current candidate pairs
with both records' ids and external ids and the scores, to check against a labelled file.
"""

from __future__ import annotations

import csv
import resource
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.core.commands import command_actor
from rapport.core.errors import RapportError
from rapport.identity import scanjob, scans, selectors
from rapport.identity.models import Scan


class Command(BaseCommand):
    help = "Find duplicate contacts or accounts, export the candidate pairs, or show the scans."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("action", choices=["scan", "export", "status"])
        parser.add_argument(
            "file", nargs="?", help="for 'export': the CSV file to write ('-' for standard output)"
        )
        parser.add_argument("--kind", choices=["contact", "account"], default="contact")
        parser.add_argument(
            "--incremental", action="store_true", help="only records changed since the last scan"
        )
        parser.add_argument(
            "--enqueue", action="store_true", help="let the background worker run it"
        )
        parser.add_argument("--user", help="act as this user (their rights, named in the history)")

    def handle(self, *args: Any, **opts: Any) -> None:
        actor = command_actor(opts["user"], via=Via.SYSTEM, context={"command": "duplicates"})
        try:
            if opts["action"] == "scan":
                self._scan(actor, opts)
            elif opts["action"] == "export":
                self._export(actor, opts)
            else:
                self._status(actor)
        except RapportError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            raise CommandError(f"{exc.message} {details}".strip()) from None

    def _scan(self, actor: Actor, opts: dict[str, Any]) -> None:
        mode = Scan.Mode.INCREMENTAL if opts["incremental"] else Scan.Mode.FULL
        scan = scans.scan_start(
            actor=actor, kind=opts["kind"], mode=mode, enqueue=opts["enqueue"]
        )
        if opts["enqueue"]:
            self.stdout.write(f"Scan {scan.pk} queued; follow it with `rapport duplicates status`.")
            return
        started = time.perf_counter()
        last = [started]

        def show(s: Scan) -> None:
            now = time.perf_counter()
            self.stderr.write(
                f"  {s.phase:<12} records {s.records:,}  pairs {s.pairs_compared:,}  candidates {s.candidates:,}  (+{now - last[0]:.1f} s)"
            )
            last[0] = now

        done = scanjob.run(scan.pk, progress=show)
        if done is None:
            raise CommandError(f"Scan {scan.pk} is already being run by a worker.")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.stdout.write(
            f"Scan {done.pk} ({done.mode}) of {done.records:,} {done.kind}s: {done.pairs_compared:,} pairs compared, "
            f"{done.candidates:,} candidate pairs in {done.clusters:,} groups, {done.auto_merged} merged automatically; "
            f"{time.perf_counter() - started:.1f} s, peak memory {peak:.0f} MB."
        )

    def _export(self, actor: Actor, opts: dict[str, Any]) -> None:
        if not opts["file"]:
            raise CommandError("Name the CSV file to write.")
        rows = selectors.candidate_rows(actor=actor.user, kind=opts["kind"])
        count = -1
        if opts["file"] == "-":
            writer = csv.writer(sys.stdout)
            for count, row in enumerate(rows):  # noqa: B007
                writer.writerow(row)
        else:
            with open(opts["file"], "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                for count, row in enumerate(rows):  # noqa: B007
                    writer.writerow(row)
            self.stdout.write(f"{count:,} candidate pairs written to {opts['file']}.")

    def _status(self, actor: Actor) -> None:
        for s in selectors.scan_list(actor=actor.user, limit=10):
            took = (
                f"{(s.finished_at - s.started_at).total_seconds():.1f} s"
                if s.finished_at and s.started_at
                else "-"
            )
            self.stdout.write(
                f"{s.pk:>5} {s.kind:<8} {s.mode:<12} {s.state:<8} {s.phase:<12} records {s.records:,} "
                f"pairs {s.pairs_compared:,} candidates {s.candidates:,} groups {s.clusters:,} {took}"
            )
