"""rapport export contacts|accounts FILE [--filter key=value …] [--user NAME]

The format follows the file's extension (.csv or .xlsx). Filters are the list filters:
q, lifecycle, owner, tag, account, sort.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from rapport.audit.services import Actor
from rapport.core.errors import RapportError
from rapport.customers import export, selectors
from rapport.users.models import User

FILTER_KEYS = {"q", "lifecycle", "owner", "tag", "account", "sort"}


class Command(BaseCommand):
    help = "Export contacts or accounts to a CSV or XLSX file."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("kind", choices=["contacts", "accounts"])
        parser.add_argument("file")
        parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE")
        parser.add_argument("--user", help="Export as this user (their visibility and rights).")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not opts["file"].lower().endswith((".csv", ".xlsx")):
            raise CommandError("The file must end in .csv or .xlsx.")
        values: dict[str, Any] = {}
        for item in opts["filter"]:
            key, sep, value = item.partition("=")
            if not sep or key not in FILTER_KEYS:
                raise CommandError(f"--filter {item!r}: use KEY=VALUE with KEY one of {', '.join(sorted(FILTER_KEYS))}.")
            values[key] = int(value) if key in ("owner", "account") and value.isdigit() else value
        user = None
        if opts["user"]:
            user = User.objects.filter(username=opts["user"], is_active=True).first()
            if user is None:
                raise CommandError(f"No active user named {opts['user']!r}.")
        actor = Actor(user=user, via="system", context={"path": "cli"})
        kind = opts["kind"][:-1]
        try:
            headers, rows = export.export_rows(actor=actor, kind=kind, filters=selectors.ListFilters(**values))
            counted = _count(rows)
            export.write_file(headers, counted, opts["file"])
        except RapportError as exc:
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            raise CommandError(f"{exc.message} {details}".strip()) from None
        self.stdout.write(f"Exported {counted.n:,} {opts['kind']} to {opts['file']}.")


class _count:
    """Pass rows through, counting them."""

    def __init__(self, rows: Any) -> None:
        self.rows, self.n = rows, 0

    def __iter__(self) -> Any:
        for row in self.rows:
            self.n += 1
            yield row
