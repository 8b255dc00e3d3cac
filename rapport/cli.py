"""The `rapport` command.

    rapport serve [--host H] [--port P] [--workers N]   production server (gunicorn)
    rapport up [--host H] [--port P] [--no-worker]      migrate, demo data if empty, serve, and a worker
    rapport demo [--accounts N] [--contacts N]          realistic fake data
    rapport token create --user NAME [--name LABEL]     a personal API token
    rapport worker                                      run background tasks (and resume imports whose worker died)
    rapport duplicates scan|export|status              find duplicates, export candidate pairs (see docs/duplicates.md)
    rapport <any manage.py command>                     migrate, createsuperuser, check --deploy…
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()


def _manage(args: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rapport", *args])


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="rapport serve", description="Serve Rapport with gunicorn.")
    parser.add_argument("--host", default=os.environ.get("RAPPORT_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "2")))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("RAPPORT_THREADS", "4")))
    opts = parser.parse_args(argv)
    _django()
    from django.conf import settings

    if not (settings.DEBUG or settings.TESTING):
        # Hashed, compressed static files for whitenoise; quick and idempotent.
        _manage(["collectstatic", "--noinput", "--verbosity", "0"])
    os.execvp(  # noqa: S606 - replaces this process with the server
        sys.executable,
        [
            sys.executable, "-m", "gunicorn", "rapport.wsgi:application",
            "--bind", f"{opts.host}:{opts.port}",
            "--workers", str(opts.workers),
            "--threads", str(opts.threads),
            "--access-logfile", "-",
            "--forwarded-allow-ips", os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1"),
        ],
    )  # fmt: skip


def up(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="rapport up")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--no-worker", action="store_true", help="do not start a background worker")
    opts, _ = parser.parse_known_args(argv)
    _manage(["migrate", "--noinput", "--verbosity", "0"])
    _manage(["demo", "--if-empty"])
    if not opts.no_worker:
        # Imports, scans, mailbox polls and the reading of signatures run in the worker; a
        # new user gets one beside the server (same process group: Ctrl-C stops both).
        subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-c", "from rapport.cli import main; main(['worker'])"]
        )
    print(
        f"\nRapport is starting on http://{opts.host}:{opts.port}/\n"
        "Log in as admin / rapport-demo (or north-rep-1, a sales rep; same password). Ctrl-C stops it.\n",
        flush=True,
    )
    serve(["--host", opts.host, "--port", str(opts.port)])


def token(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="rapport token")
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="print a new personal API token")
    create.add_argument("--user", required=True)
    create.add_argument("--name", default="command line")
    revoke = sub.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("id", type=int)
    opts = parser.parse_args(argv)
    _django()
    from rapport.audit.services import Actor
    from rapport.core.errors import RapportError
    from rapport.users.models import User
    from rapport.users.services import token_create, token_revoke

    actor = Actor(user=None, via="system", context={"path": "cli"})
    try:
        if opts.action == "create":
            user = User.objects.filter(username=opts.user).first()
            if user is None:
                sys.exit(f"rapport: no user named {opts.user!r}")
            _, secret = token_create(actor=actor, user=user, name=opts.name)
            print(secret)
        else:
            token_revoke(actor=actor, token_id=opts.id)
            print(f"revoked token {opts.id}")
    except RapportError as exc:
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
        sys.exit(f"rapport: {exc.message} {details}".strip())


def _start_watchdog() -> None:
    """Every minute, queue again the imports whose worker died (see imports_resume_stale),
    and queue a poll of each IMAP mailbox that is due (see mailboxes_enqueue_due)."""
    import logging
    import threading
    import time

    from django.conf import settings
    from django.db import connection

    from rapport.ingest.imports.services import imports_resume_stale
    from rapport.ingest.mail.mailboxes import mailboxes_enqueue_due

    log = logging.getLogger("rapport.worker")
    every = max(5, min(60, settings.IMPORT_STALE_SECONDS // 2))

    def watch() -> None:
        while True:
            try:
                for pk in imports_resume_stale():
                    log.warning("import %s: its worker stopped; queued again to resume", pk)
            except Exception:  # noqa: BLE001 - the watchdog must outlive a database hiccup
                log.exception("could not look for stalled imports")
            try:
                for pk in mailboxes_enqueue_due():
                    log.info("mailbox %s: poll queued", pk)
            except Exception:  # noqa: BLE001 - as above
                log.exception("could not queue the mailbox polls that are due")
            finally:
                connection.close()
            time.sleep(every)

    threading.Thread(target=watch, name="import-watchdog", daemon=True).start()


COMMANDS = {"serve": serve, "up": up, "token": token}


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] in COMMANDS:
        COMMANDS[args[0]](args[1:])
    elif args and args[0] == "worker":
        _django()
        _start_watchdog()
        _manage(["db_worker", *args[1:]])
    else:
        _manage(args or ["help"])


if __name__ == "__main__":
    main()
