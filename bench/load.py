"""Requests per second of Rapport's pages under gunicorn, next to a bare-Django ceiling.

Never run as a test. Fill a database first (bench/README.md), then e.g.:

    RAPPORT_DATA_DIR=/tmp/bench-sqlite .venv/bin/python bench/load.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/rapport_bench RAPPORT_DATA_DIR=/tmp/bench-pg \
        .venv/bin/python bench/load.py

It serves the app (``rapport.wsgi``) and the ceiling (``bench.urls_ceiling``: one row as
JSON, one row as HTML, a 50-row HTML table, through the same middleware and database) with
gunicorn, DEBUG off, ``-w 2 --threads 8`` each, then drives 16 concurrent connections from
``wrk`` (or a bounded Python load generator when wrk is missing) against 127.0.0.1 only:

    /contacts/                 (session cookie)   vs  /ceiling/table
    /contacts/<id>/            (session cookie)   vs  /ceiling/row/<id>.html
    /api/v1/contacts/<id>      (bearer token)     vs  /ceiling/row/<id>

and prints requests/s, p50 and p99 of each, and the app's share of the ceiling (target:
at least half). Last, the SQL queries of the list and detail pages at two data sizes (this
database and a small one), which must be the same.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(PYTHON).parent / "gunicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def django_setup() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()


# --- preparing credentials -------------------------------------------------------------------


def prepare(username: str) -> dict:
    """A session cookie and an API token for ``username``, and a contact id to fetch."""
    django_setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client

    from rapport.audit.services import Actor
    from rapport.customers.models import Contact
    from rapport.users.models import User
    from rapport.users.services import token_create

    user = User.objects.get(username=username)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)  # stores the session in the database gunicorn reads
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    _token, secret = token_create(
        actor=Actor(user=None, via="system"), user=user, name=f"bench {time.time():.0f}"
    )
    ids = Contact.objects.order_by("id").values_list("id", flat=True)
    lo, hi = ids.first(), ids.last()
    contact_id = (
        Contact.objects.filter(id__gte=random.Random(1).randint(lo, hi))
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}",
        "token": secret,
        "contact_id": contact_id,
        "contacts": Contact.objects.count(),
        "vendor": connection.vendor,
    }


# --- counting queries (run in a subprocess per database) -------------------------------------


def count_queries(username: str) -> dict:
    django_setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from rapport.customers.models import Contact
    from rapport.users.models import User

    user = User.objects.get(username=username)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    contact_id = Contact.objects.order_by("id").values_list("id", flat=True).first()
    out = {"contacts": Contact.objects.count()}
    for label, url in (
        ("list", "/contacts/"),
        ("detail", f"/contacts/{contact_id}/"),
        ("api", f"/api/v1/contacts/{contact_id}"),
    ):
        client.get(url)  # warm up (e.g. first-request caches)
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(url)
        out[label] = {"status": response.status_code, "queries": len(ctx.captured_queries)}
    return out


def count_in(env_overrides: dict[str, str | None], username: str) -> dict:
    env = {**os.environ, "DEBUG": "1"}  # DEBUG: no collected static files needed
    for name, value in env_overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    proc = subprocess.run(
        [PYTHON, __file__, "--count-queries", "--user", username],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if proc.returncode:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-1:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def small_database(keep: str | None) -> dict[str, str | None]:
    """Environment of a small SQLite database with demo data (made once, in a temp dir)."""
    if keep:
        return {"RAPPORT_DATA_DIR": keep, "DATABASE_URL": None}
    path = Path(tempfile.gettempdir()) / "rapport-bench-small"
    env = {**os.environ, "RAPPORT_DATA_DIR": str(path)}
    env.pop("DATABASE_URL", None)
    if not (path / "rapport.sqlite3").exists():
        path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [PYTHON, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=600
        )
        subprocess.run(
            [PYTHON, "manage.py", "demo", "--contacts", "500", "--accounts", "50", "--no-progress"],
            env=env, cwd=ROOT, check=True, timeout=600, stdout=subprocess.DEVNULL,
        )  # fmt: skip
    return {"RAPPORT_DATA_DIR": str(path), "DATABASE_URL": None}


# --- servers ---------------------------------------------------------------------------------


class Server:
    def __init__(self, label: str, settings_module: str, workers: int, threads: int):
        self.label = label
        self.port = free_port()
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "DEBUG": "0"}
        self.log = open(Path(tempfile.gettempdir()) / f"rapport-bench-{label}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [GUNICORN, "rapport.wsgi", "-w", str(workers), "--threads", str(threads),
             "-b", f"127.0.0.1:{self.port}", "--chdir", str(ROOT), "--log-level", "warning"],
            env=env, cwd=ROOT, stdout=self.log, stderr=self.log, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"gunicorn ({label}) exited; see {self.log.name}") from None
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn ({label}) did not start")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(
                self.proc.pid, signal.SIGTERM
            )  # the group we started: gunicorn and its workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


def status_of(port: int, path: str, headers: dict[str, str]) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(300).decode(errors="replace")
    finally:
        conn.close()


# --- load generators -------------------------------------------------------------------------


def _ms(value: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(port: int, path: str, headers: dict[str, str], connections: int, seconds: int) -> dict:
    args = [
        "wrk",
        "-t",
        "2",
        "-c",
        str(connections),
        "-d",
        f"{seconds}s",
        "--latency",
        "--timeout",
        "10s",
    ]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*args, f"http://127.0.0.1:{port}{path}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors:.*", out)
    return {
        "rps": rps,
        "p50": p50,
        "p99": p99,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "errors": errors.group(0) if errors else "",
    }


def run_python(
    port: int, path: str, headers: dict[str, str], connections: int, seconds: int
) -> dict:
    """A bounded load generator: ``connections`` threads, each with one keep-alive connection,
    for at most ``seconds`` and 200,000 requests in all, only to 127.0.0.1."""
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    budget = [200_000]

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        local: list[float] = []
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    break
                budget[0] -= 1
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                response.read()
                if response.status >= 400:
                    failures[0] += 1
            except (OSError, http.client.HTTPException):
                failures[0] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            local.append((time.perf_counter() - started) * 1000)
        conn.close()
        with lock:
            latencies.extend(local)

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 30)
    elapsed = time.monotonic() - started
    latencies.sort()
    return {
        "rps": len(latencies) / elapsed if elapsed else 0.0,
        "p50": statistics.median(latencies) if latencies else 0.0,
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else 0.0,
        "non2xx": failures[0],
        "errors": "",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--user", default="admin")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=15, help="Per endpoint (default 15).")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="Use the Python load generator even if wrk exists.",
    )
    parser.add_argument(
        "--small-data-dir",
        help="A small SQLite data dir for the query counts (default: made in /tmp).",
    )
    parser.add_argument("--skip-load", action="store_true", help="Only count queries.")
    parser.add_argument("--count-queries", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.count_queries:
        print(json.dumps(count_queries(args.user)))
        return

    info = prepare(args.user)
    print(
        f"Database: {info['vendor']}, {info['contacts']:,} contacts; user {args.user}; contact {info['contact_id']}"
    )
    cid = info["contact_id"]
    session = {"Cookie": info["cookie"]}
    bearer = {"Authorization": f"Bearer {info['token']}"}
    pairs = [
        ("contact list page", "/contacts/", session, "/ceiling/table"),
        ("contact detail page", f"/contacts/{cid}/", session, f"/ceiling/row/{cid}.html"),
        ("API GET contact", f"/api/v1/contacts/{cid}", bearer, f"/ceiling/row/{cid}"),
    ]

    if not args.skip_load:
        use_wrk = shutil.which("wrk") and not args.python_client
        load = run_wrk if use_wrk else run_python
        collect = subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if collect.returncode:
            print("collectstatic failed:", collect.stderr.strip().splitlines()[-1:])
        print(
            f"Servers: gunicorn -w {args.workers} --threads {args.threads}, DEBUG off; load: "
            f"{'wrk -t2' if use_wrk else 'Python threads'}, {args.connections} connections, {args.seconds} s each, 127.0.0.1\n"
        )
        app = Server("app", "rapport.settings", args.workers, args.threads)
        ceiling = Server("ceiling", "bench.ceiling_settings", args.workers, args.threads)
        try:
            header = f"{'endpoint':<22} {'status':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | {'ceiling':<26} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} | {'share':>6}"
            print(header)
            print("-" * len(header))
            for label, path, headers, ceiling_path in pairs:
                status, body = status_of(app.port, path, headers)
                c_status, _ = status_of(ceiling.port, ceiling_path, {})
                if status != 200:
                    print(
                        f"{label:<22} {status:>6}  (not measured: {path} answered {status}: {body[:80]!r})"
                    )
                    continue
                status_of(app.port, path, headers)
                mine = load(app.port, path, headers, args.connections, args.seconds)
                top = load(ceiling.port, ceiling_path, {}, args.connections, args.seconds)
                share = mine["rps"] / top["rps"] if top["rps"] else 0.0
                print(
                    f"{label:<22} {status:>6} {mine['rps']:>8.0f} {mine['p50']:>8.1f} {mine['p99']:>8.1f} | "
                    f"{ceiling_path:<26} {top['rps']:>8.0f} {top['p50']:>8.1f} {top['p99']:>8.1f} | {share:>6.0%}"
                    + (f"  ({mine['non2xx']} non-2xx)" if mine["non2xx"] else "")
                    + (f"  [{c_status}]" if c_status != 200 else "")
                )
        finally:
            app.stop()
            ceiling.stop()
        print("\nTarget: the app serves at least 50% of the ceiling's requests/s.")

    print("\nSQL queries per request (must not grow with the data):")
    big = count_in({}, args.user)
    small = count_in(small_database(args.small_data_dir), args.user)
    for label in ("list", "detail", "api"):
        cells = []
        for data in (big, small):
            if "error" in data:
                cells.append(f"error {data['error']}")
            else:
                cells.append(
                    f"{data[label]['queries']} queries (HTTP {data[label]['status']}) at {data['contacts']:,} contacts"
                )
        print(f"  {label:<7} " + "  |  ".join(cells))


if __name__ == "__main__":
    main()
