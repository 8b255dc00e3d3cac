"""``manage.py demo``: fill the database with reproducible demo staff, accounts and contacts."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from rapport.core import demo
from rapport.customers.demo import DEFAULT_PASSWORD, HISTORY_CONTACTS, demo_load


class Command(BaseCommand):
    help = (
        "Fill the database with realistic fake accounts and contacts (the same --seed gives "
        "the same data), the demo staff users, and a year of history: e-mails, calls, "
        "meetings, notes and cards on the timelines, edits by the staff in the audit trail, "
        "a few people entered twice. Adds to existing data."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--accounts", type=int, default=200, help="Accounts to add (default 200)."
        )
        parser.add_argument(
            "--contacts", type=int, default=2000, help="Contacts to add (default 2,000)."
        )
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--password", default=DEFAULT_PASSWORD, help="Password of the demo users it creates."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when contacts already exist."
        )
        parser.add_argument(
            "--chunk-size", type=int, default=5000, help="Rows per transaction (default 5,000)."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")
        parser.add_argument(
            "--history-contacts",
            type=int,
            default=HISTORY_CONTACTS,
            help=f"New contacts that get a year of history (default {HISTORY_CONTACTS:,}; 0 for none).",
        )
        parser.add_argument(
            "--parts",
            default="all",
            help="The domain apps' parts to add after the customer master and its history: "
            "'all' (default), 'none', or names separated by commas ("
            + ", ".join(p.name for p in demo.parts())
            + ").",
        )

    def handle(self, *args, **options):
        if options["accounts"] < 0 or options["contacts"] < 0:
            raise CommandError("--accounts and --contacts must be 0 or more.")
        if options["history_contacts"] < 0:
            raise CommandError("--history-contacts must be 0 or more.")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        parts = _parts(options["parts"])
        result = demo_load(
            accounts=options["accounts"],
            contacts=options["contacts"],
            seed=options["seed"],
            password=options["password"],
            if_empty=options["if_empty"],
            chunk_size=options["chunk_size"],
            progress=not options["no_progress"] and options["verbosity"] > 0,
            history_contacts=options["history_contacts"],
        )
        if result.skipped:
            self.stdout.write("Contacts already exist: demo data not added (--if-empty).")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {result.accounts:,} accounts and {result.contacts:,} contacts "
                f"({result.emails:,} e-mail addresses, {result.phones:,} phone numbers, "
                f"{result.memberships:,} memberships, {result.tokens:,} search tokens) "
                f"in {result.seconds:,.1f} s."
            )
        )
        if result.history is not None:
            h = result.history
            self.stdout.write(
                f"History of the past year: {h.entries:,} timeline entries on "
                f"{h.contacts_with_entries:,} contacts, {h.edits:,} edits by the staff "
                f"({h.audit_entries:,} audit entries), {len(h.duplicates)} people entered twice."
            )
        # Each domain app's share of the company's life, on the contacts just added.
        if options["history_contacts"]:
            for part in parts:
                self.stdout.write(part.load(seed=options["seed"]))
        if result.users_created:
            self.stdout.write(
                f"Demo users created: {', '.join(result.users_created)}\n"
                f"Password for each: {options['password']}"
            )
        if result.users_existing:
            self.stdout.write(
                f"Demo users already there (password unchanged): {', '.join(result.users_existing)}"
            )


def _parts(value: str) -> list[demo.Part]:
    """The registered parts ``--parts`` names, in their load order."""
    known = demo.parts()
    text = (value or "").strip().lower()
    if text == "all":
        return known
    if text == "none":
        return []
    wanted = {w.strip() for w in text.split(",") if w.strip()}
    unknown = sorted(wanted - {p.name for p in known})
    if unknown or not wanted:
        raise CommandError(
            f"--parts: unknown part {', '.join(unknown) or repr(value)}; "
            f"give all, none, or some of {', '.join(p.name for p in known)}."
        )
    return [p for p in known if p.name in wanted]
