"""Send the service-goal warnings and breach notices that are due (one pass, for cron),
or with --loop every 30 seconds (where no ``rapport worker`` runs)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Send due service-goal warnings and breach notices (once, or --loop every 30 s)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--loop", action="store_true", help="keep running, every 30 s")

    def handle(self, *args: Any, **options: Any) -> None:
        from rapport.service.sla import scheduler
        from rapport.service.sla.notices import notices_run

        if options["loop"]:
            scheduler.run_forever()
        run = notices_run()
        self.stdout.write(f"{run.warnings} warning(s), {run.breaches} breach notice(s)")
