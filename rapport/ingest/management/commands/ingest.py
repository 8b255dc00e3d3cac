"""rapport ingest mail FILE [--user NAME]

Puts the e-mail in FILE (one .eml message, or an mbox file) on the timelines of the
contacts it concerns, and prints how many messages were read, stored, already there
(duplicates), matched no contact, and could not be read (with the reason for each).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.ingest import mail
from rapport.users.models import User


class Command(BaseCommand):
    help = "Ingest e-mail (.eml or mbox) onto the contacts' timelines."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("channel", choices=["mail"])
        parser.add_argument("file", help="a .eml message or an mbox file")
        parser.add_argument("--user", help="ingest as this user (named in the history)")

    def handle(self, *args: Any, **opts: Any) -> None:
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user named {opts['user']!r}.")
        actor = Actor(user=user, via=Via.IMPORT, context={"path": "cli", "file": opts["file"]})
        try:
            summary = mail.ingest_file(opts["file"], actor)
        except OSError as exc:
            raise CommandError(f"Cannot read {opts['file']}: {exc.strerror or exc}.") from None
        self.stdout.write(
            f"{summary.read} messages read: {summary.stored} stored, "
            f"{summary.duplicates} duplicates, {len(summary.unmatched)} unmatched, "
            f"{len(summary.errors)} errors."
        )
        for name, address in summary.unmatched:
            self.stdout.write(f"  unmatched: from {f'{name} <{address}>' if name else address}")
        for label, reason in summary.errors:
            self.stdout.write(f"  error: {label}: {reason}")
