"""The `rapport` command.

Rapport's own commands:
    rapport up [--host H] [--port P] [--no-worker]        migrate, demo data if empty, serve, and a worker
    rapport serve [--host H] [--port P] [--workers N]     production server (gunicorn)
    rapport worker                                        run background tasks (and resume imports whose worker died)
    rapport demo [--accounts N] [--contacts N] [--seed S] realistic fake data, a year of a company's life
    rapport token create --user NAME [--name LABEL]       a personal API token (token revoke ID)
    rapport export contacts|accounts FILE [...]           a list as CSV or XLSX
    rapport import contacts|accounts FILE [...]           import a CSV or XLSX file (resume, status, cancel, undo…)
    rapport duplicates scan|export|status                 find duplicates, export candidate pairs
    rapport ingest mail|poll|vcard ...                    mail files, IMAP mailboxes, business cards
    rapport help [COMMAND]                                this list, or one command's options
    rapport <any manage.py command>                       migrate, createsuperuser, check --deploy…

--port defaults to $PORT (else 8000), --host to $RAPPORT_HOST (else 127.0.0.1).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()


def _manage(args: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rapport", *args])


def serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="rapport serve", description="Serve Rapport with gunicorn."
    )
    parser.add_argument("--host", default=os.environ.get("RAPPORT_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=_port, default=_env_port(), help="port (default: $PORT or 8000)"
    )
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


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number (1-65535)")
    return port


def _env_port() -> int:
    value = os.environ.get("PORT", "8000")
    try:
        return _port(value)
    except argparse.ArgumentTypeError as exc:
        sys.exit(f"rapport: PORT: {exc}")


def _die_with_parent() -> None:
    """In a child, before it runs: on Linux, be sent SIGTERM when ``rapport up`` dies, even
    by SIGKILL, so no server or worker outlives it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: the signal handlers below still stop them
        pass


def _stop(proc: subprocess.Popen[bytes], *, grace: float) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def up(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(
        prog="rapport up",
        allow_abbrev=False,
        description="Migrate, load demo data if the database is empty, serve, and run a background worker.",
    )
    parser.add_argument("--host", default=os.environ.get("RAPPORT_HOST", "127.0.0.1"))
    parser.add_argument(
        "--port", type=_port, default=_env_port(), help="port (default: $PORT or 8000)"
    )
    parser.add_argument("--no-worker", action="store_true", help="do not start a background worker")
    opts = parser.parse_args(argv)  # an unknown option is an error that names it
    _manage(["migrate", "--noinput", "--verbosity", "0"])
    _manage(["demo", "--if-empty"])
    # The server and the worker are this process's children, and it stays to watch them:
    # when one stops (or this process is told to stop: SIGTERM, SIGINT, SIGHUP) both stop.
    # Before, the server replaced this process and a SIGTERM to it left the worker running.
    me = [
        sys.executable,
        "-c",
        f"import sys; from rapport.cli import supervised; supervised({os.getpid()}, sys.argv[1:])",
    ]
    worker = None
    if not opts.no_worker:
        # Imports, scans, mailbox polls and the reading of signatures run in the worker.
        worker = subprocess.Popen([*me, "worker"])  # noqa: S603 - our own interpreter and module
    print(
        f"\nRapport is starting on http://{opts.host}:{opts.port}/\n"
        "Log in as admin / rapport-demo (or north-rep-1, a sales rep; same password). Ctrl-C stops it.\n",
        flush=True,
    )
    server = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*me, "serve", "--host", opts.host, "--port", str(opts.port)]
    )
    children = [p for p in (server, worker) if p is not None]
    stopping: list[int] = []

    def on_signal(signum: int, _frame: object) -> None:
        stopping.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, on_signal)
    ended = None
    while not stopping and ended is None:
        time.sleep(0.2)
        ended = next((p for p in children if p.poll() is not None), None)
    if ended is not None:
        gone = "the server" if ended is server else "the worker"
        print(
            f"rapport up: {gone} stopped (exit {ended.returncode}); stopping the rest.",
            file=sys.stderr,
            flush=True,
        )
    # The server first (no new requests), then the worker, each given time to finish.
    _stop(server, grace=30)
    if worker is not None:
        _stop(worker, grace=30)
    if ended is None:  # asked to stop
        sys.exit(0)
    sys.exit(ended.returncode if ended.returncode > 0 else 0 if ended.returncode == 0 else 1)


def supervised(parent: int, argv: list[str]) -> None:
    """A child of ``rapport up``: dies with it, and not at all if it is already gone."""
    _die_with_parent()
    if os.getppid() != parent:
        sys.exit(0)
    main(argv)


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
    and queue a poll of each IMAP mailbox that is due (see mailboxes_enqueue_due), and the
    week's forecast snapshots once (see snapshots_enqueue_due)."""
    import logging
    import threading
    import time

    from django.conf import settings
    from django.db import connection

    from rapport.ingest.imports.services import imports_resume_stale
    from rapport.ingest.mail.mailboxes import mailboxes_enqueue_due
    from rapport.marketing.services import campaigns_enqueue_due
    from rapport.sales.forecasting.services import snapshots_enqueue_due
    from rapport.service.digest import digests_queue_due

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
            try:
                for week in snapshots_enqueue_due():
                    log.info("forecast snapshots of the week of %s: queued", week)
            except Exception:  # noqa: BLE001 - as above
                log.exception("could not queue the weekly forecast snapshots")
            try:
                for pk in campaigns_enqueue_due():
                    log.info("campaign %s: its time has come; send queued", pk)
            except Exception:  # noqa: BLE001 - as above
                log.exception("could not queue the campaigns that are due")
            try:
                for pk in digests_queue_due():
                    log.info("user %s: service digest queued", pk)
            except Exception:  # noqa: BLE001 - as above
                log.exception("could not queue the service digests that are due")
            finally:
                connection.close()
            time.sleep(every)

    threading.Thread(target=watch, name="import-watchdog", daemon=True).start()


COMMANDS = {"serve": serve, "up": up, "token": token}


def help_(args: list[str]) -> None:
    """``rapport help``: Rapport's own commands first, then every management command."""
    if args and args[0] in COMMANDS:
        COMMANDS[args[0]](["--help"])
    elif args and args[0] == "worker":
        print("rapport worker: run background tasks; takes db_worker's options:\n", flush=True)
        _manage(["help", "db_worker"])
    elif args:
        _manage(["help", *args])
    else:
        print((__doc__ or "").strip() + "\n", flush=True)
        _manage(["help"])


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("help", "-h", "--help"):
        help_(args[1:])
    elif args[0] in COMMANDS:
        COMMANDS[args[0]](args[1:])
    elif args[0] == "worker":
        _django()
        _start_watchdog()
        from rapport.service.sla.scheduler import start_in_background

        start_in_background()  # service-goal warnings and breaches, every 30 s
        _manage(["db_worker", *args[1:]])
    else:
        _manage(args)


if __name__ == "__main__":
    main()
