"""rapport ingest mail FILE [--user NAME]
rapport ingest vcard FILE [--user NAME] [--event TEXT] [--on-duplicate skip|update|create]
rapport ingest poll [--mailbox ID] [--user NAME]

mail: puts the e-mail in FILE (one .eml message, or an mbox file) on the timelines of the
contacts it concerns, and prints how many messages were read, stored, already there
(duplicates), matched no contact, and could not be read (with the reason for each).

vcard: turns each business card in FILE (vCard 3.0 or 4.0, one card or many) into a
contact, and prints per card what happened (created, updated, skipped as a duplicate,
values left out, problems) and the totals.

poll: polls IMAP mailboxes now (the one with --mailbox ID, else every enabled one) and
prints per mailbox how many new messages were fetched and stored, and any problem.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.core.commands import command_actor
from rapport.core.errors import PermissionDenied, RapportError
from rapport.ingest.capture import vcard
from rapport.ingest.mail import mailboxes
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Mailbox


class Command(BaseCommand):
    help = (
        "Ingest e-mail (.eml or mbox, or by polling IMAP mailboxes) onto the contacts' timelines, "
        "or business cards (.vcf)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("channel", choices=["mail", "vcard", "poll"])
        parser.add_argument(
            "file", nargs="?", default="", help="a .eml message or an mbox file; a .vcf file for vcard"
        )
        parser.add_argument("--mailbox", type=int, help="poll: only this mailbox (its id)")
        parser.add_argument("--user", help="ingest as this user (named in the history)")
        parser.add_argument("--event", default="", help="vcard: where the cards were collected")
        parser.add_argument(
            "--on-duplicate",
            choices=vcard.ON_DUPLICATE,
            default="skip",
            help="vcard: what to do with a card that matches a contact (default: skip)",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["channel"] == "poll":
            self._poll(opts)
            return
        if not opts["file"]:
            raise CommandError(f"Name the file to ingest: rapport ingest {opts['channel']} FILE.")
        actor = command_actor(opts["user"], via=Via.IMPORT, context={"path": "cli", "file": opts["file"]})
        if opts["channel"] == "vcard":
            self._vcard(actor, opts)
            return
        try:
            summary = mail.ingest_file(opts["file"], actor)
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc.strerror or exc}.") from None
        except PermissionDenied as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(
            f"{summary.read} messages read: {summary.stored} stored, "
            f"{summary.duplicates} duplicates, {len(summary.unmatched)} unmatched, "
            f"{len(summary.errors)} errors."
        )
        for name, address in summary.unmatched:
            self.stdout.write(f"  unmatched: from {f'{name} <{address}>' if name else address}")
        for label, reason in summary.errors:
            self.stdout.write(f"  error: {label}: {reason}")

    def _vcard(self, actor: Actor, opts: dict[str, Any]) -> None:
        path = Path(opts["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror or exc}.") from None
        try:
            summary = vcard.ingest_bytes(
                data,
                actor=actor,
                event=opts["event"],
                on_duplicate=opts["on_duplicate"],
                source=path.name,
            )
        except PermissionDenied as exc:
            raise CommandError(exc.message) from None
        for result in summary.results:
            card = result.card
            self.stdout.write(f"card {card.position} ({card.name}): {result.describe()}")
            for reason in result.rejected:
                self.stdout.write(f"  left out: {reason}")
        for problem in summary.problems:
            self.stdout.write(f"problem: {problem}")
        self.stdout.write(
            f"{len(summary.results) + len(summary.problems)} cards read: "
            f"{summary.count('created')} created, {summary.count('updated')} updated, "
            f"{summary.count('skipped')} skipped as duplicates, {len(summary.problems)} problems."
        )

    def _poll(self, opts: dict[str, Any]) -> None:
        actor = command_actor(opts["user"], via=Via.IMPORT, context={"path": "cli", "poll": True})
        if opts["mailbox"] is not None:
            ids = [opts["mailbox"]]
        else:
            ids = list(Mailbox.objects.filter(enabled=True).order_by("name", "pk").values_list("pk", flat=True))
            if not ids:
                self.stdout.write("No enabled mailboxes to poll.")
                return
        failed = False
        for pk in ids:
            try:
                summary = mailboxes.mailbox_poll(mailbox_id=pk, actor=actor)
            except RapportError as exc:
                raise CommandError(f"Mailbox {pk}: {exc.message}") from None
            name = Mailbox.objects.filter(pk=pk).values_list("name", flat=True).first() or pk
            self.stdout.write(f"mailbox {pk} ({name}): {summary.describe()}")
            for folder in summary.folders:
                self.stdout.write(
                    f"  {folder.name}: {folder.fetched} new, {folder.stored} stored"
                    + (" (UIDVALIDITY changed: read again from the start)" if folder.uid_validity_changed else "")
                )
                if folder.error:
                    self.stdout.write(f"  error: {folder.error}")
                for problem in folder.problems:
                    self.stdout.write(f"  unreadable: {problem}")
            failed = failed or bool(summary.error)
        if failed:
            raise CommandError("Some mailboxes could not be polled to the end; see above.")
