"""The timeline and the screen pop at scale (never run as a test).

    .venv/bin/python bench/timeline.py                                   # 10k contacts, 100k entries, both databases
    .venv/bin/python bench/timeline.py --contacts 1000000 --entries 10000000 --db sqlite
    .venv/bin/python bench/timeline.py --contacts 1000000 --entries 10000000 --db pg

For each database, on a fresh database:

1. **load** (not timed against a target): the contacts of ``bench/duplicates.py`` (names,
   e-mails, phones, employers as accounts), then ``--entries`` timeline entries with their
   links, written by bulk inserts with the timeline's indexes built afterwards (the usual
   way to load a table that size). One contact, the "heavy" one, gets ``--heavy`` entries
   (10,000 by default); the rest are spread at random over every contact, over three years,
   each entry linked to its contact and, through the contact's employer, to the account.
2. **lookup**: ``timeline.selectors.lookup`` (the screen pop behind ``GET /api/v1/lookup``
   and the agents' page) for ``--probes`` stored numbers, each typed in another format
   (national with spaces, international with dashes, E.164): p50/p95/p99, in two passes
   over the same numbers: the first reads most pages from disk, the second from the OS
   cache, as a server that has run a while would.
3. **timeline**: the first page (25 entries) of the heavy contact's timeline, through the
   selector and through the web panel the contact page loads (``GET
   /contacts/<id>/timeline/``, rendered): p50/p95/p99; also of random contacts.
4. **mbox**: an mbox of ``--messages`` messages between staff and stored contacts (see
   ``_mbox``: mostly a few hundred active customers signing with a mobile number and a
   title, 5 % from strangers, a tenth delivered twice) ingested by ``rapport ingest mail``
   (``mail.ingest_file``): reading, matching the addresses to contacts, storing, threading,
   proposing the strangers: messages per second. Then, timed apart, what the worker does
   with the stored ones: reading their signatures into facts and proposals.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import mailbox
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import common  # noqa: E402  (bench/common.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("RAPPORT_BENCH_DIR", "/tmp/rapport-bench-timeline"))
PG_DB = "rapport_bench_timeline"
KINDS = [("email", "email"), ("call", "phone"), ("note", "other"), ("meeting", "meeting")]
WORDS = ["renewal", "pricing", "invoice", "delivery", "onboarding", "contract", "upgrade", "support", "question", "training", "meeting", "follow-up", "proposal", "discount", "outage", "feedback", "survey", "webinar", "order", "refund"]


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()


def _module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _pct(timings: list[float]) -> dict[str, float]:
    timings = sorted(timings)
    q = statistics.quantiles(timings, n=100)
    return {"p50": q[49], "p95": q[94], "p99": q[98], "n": len(timings)}


def step_load_contacts(contacts: int, seed: int) -> dict:
    duplicates = _module("duplicates")
    duplicates.WORK = WORK
    return duplicates.step_load(contacts, seed)


def step_load_entries(entries: int, heavy: int, seed: int) -> dict:
    _django()
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core.bulk import BulkWriter
    from rapport.customers.models import AccountMembership, Contact
    from rapport.timeline.models import Entry, EntryLink

    started = time.perf_counter()
    rng = random.Random(seed)
    w = BulkWriter()
    if w.sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = OFF")
            cursor.execute("PRAGMA cache_size = -524288")
    contact_ids = list(Contact.objects.order_by("id").values_list("id", flat=True))
    employer = dict(AccountMembership.objects.values_list("contact_id", "account_id"))
    heavy_id = contact_ids[0]
    # Built after the load: maintaining them row by row over 10M random keys is what a
    # bulk load avoids (and what the application never does: it writes a few at a time).
    link_meta = EntryLink._meta
    entry_fields = [f.attname for f in Entry._meta.concrete_fields]
    link_fields = [f.attname for f in link_meta.concrete_fields]
    with connection.schema_editor() as editor:
        for index in link_meta.indexes:
            editor.remove_index(EntryLink, index)
        for constraint in link_meta.constraints:
            if constraint.name != "entry_link_one_record":
                editor.remove_constraint(EntryLink, constraint)
    now = timezone.now()
    span = 3 * 365 * 86400
    stamp = w.stamp(now)
    links = 0
    chunk = 50_000
    for start in range(0, entries, chunk):
        n = min(chunk, entries - start)
        with transaction.atomic():
            ids = w.reserve_ids(Entry, n)
            entry_rows, link_rows = [], []
            link_ids = iter(w.reserve_ids(EntryLink, 2 * n))
            for i, pk in enumerate(ids):
                position = start + i
                contact = heavy_id if position < heavy else rng.choice(contact_ids)
                kind, channel = KINDS[position % 4]
                when = w.stamp(now - dt.timedelta(seconds=rng.randrange(span)))
                topic = " ".join(rng.sample(WORDS, 3))
                row = {
                    "id": pk,
                    "created_at": stamp,
                    "updated_at": stamp,
                    "kind": kind,
                    "occurred_at": when,
                    "channel": channel,
                    "direction": "in" if position % 3 else "out",
                    "department": ("sales", "service", "marketing")[position % 3],
                    "staff_id": None,
                    "summary": f"About {topic}",
                    "body": f"We talked about {topic}. Next step agreed for the {position % 28 + 1}th.",
                    "body_format": "text",
                    "source": "bench" if kind == "email" else "",
                    "external_id": f"<{pk}@bench.rapport.dev>" if kind == "email" else "",
                    "duration_seconds": 60 + position % 900 if kind == "call" else None,
                    "outcome": "reached" if kind == "call" else "",
                    "data": w.json({}),
                }
                entry_rows.append(tuple(row[f] for f in entry_fields))
                link = {"id": next(link_ids), "entry_id": pk, "contact_id": contact, "account_id": None, "role": "about", "occurred_at": when}
                link_rows.append(tuple(link[f] for f in link_fields))
                account = employer.get(contact)
                if account is not None:
                    link = {**link, "id": next(link_ids), "contact_id": None, "account_id": account, "role": "via"}
                    link_rows.append(tuple(link[f] for f in link_fields))
            w.insert(Entry, entry_fields, entry_rows)
            w.insert(EntryLink, link_fields, link_rows)
            links += len(link_rows)
        if start % 1_000_000 == 0:
            print(f"  entries {start + n:,} at {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    loaded = time.perf_counter() - started
    with connection.schema_editor() as editor:
        for index in link_meta.indexes:
            editor.add_index(EntryLink, index)
        for constraint in link_meta.constraints:
            if constraint.name != "entry_link_one_record":
                editor.add_constraint(EntryLink, constraint)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    (WORK / "heavy.json").write_text(json.dumps({"heavy": heavy_id}))
    return {
        "entries": entries,
        "links": links,
        "heavy": heavy_id,
        "insert_s": loaded,
        "seconds": time.perf_counter() - started,
    }


def _admin() -> Any:
    from rapport.users.models import Role, User

    user, _ = User.objects.get_or_create(
        username="bench-agent", defaults={"role": Role.SERVICE, "email": "agent@rapport-bench.org"}
    )
    return user


def _formats(e164: str) -> list[str]:
    import phonenumbers

    number = phonenumbers.parse(e164)
    national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    return [international.replace(" ", "-"), e164, national]


def step_lookup(probes: int, seed: int) -> dict:
    _django()
    import phonenumbers

    from rapport.customers.models import ContactPhone
    from rapport.timeline import selectors

    rng = random.Random(seed)
    agent = _admin()
    top = ContactPhone.objects.order_by("-id").values_list("id", flat=True).first() or 0
    numbers: list[tuple[str, str]] = []
    while len(numbers) < probes:
        row = ContactPhone.objects.filter(id__gte=rng.randrange(top + 1)).order_by("id").values_list("e164", flat=True).first()
        # Only numbers stored as valid E.164 (the generator also writes some as typed).
        if row and row.startswith("+") and phonenumbers.is_valid_number(phonenumbers.parse(row)):
            typed = rng.choice(_formats(row))
            # A national format means what it means where the agent sits: in the number's country.
            region = phonenumbers.region_code_for_number(phonenumbers.parse(row)) or ""
            numbers.append((typed, region if not typed.startswith("+") else ""))
    for typed, region in numbers[:20]:  # warm the caches and the connection
        selectors.lookup(actor=agent, phone=typed, region=region)
    passes = []
    for _ in range(2):  # the first reads from disk what the second finds in the OS cache
        timings, found = [], 0
        for typed, region in numbers:
            t = time.perf_counter()
            result = selectors.lookup(actor=agent, phone=typed, region=region)
            timings.append((time.perf_counter() - t) * 1000)
            found += bool(result.contacts)
        passes.append({**_pct(timings), "found": found / len(numbers)})
    return {"cold": passes[0], "warm": passes[1]}


def step_timeline(probes: int, seed: int) -> dict:
    _django()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from rapport.customers.models import Contact
    from rapport.timeline import selectors

    setup_test_environment()  # the test client's host and the in-memory session
    heavy = json.loads((WORK / "heavy.json").read_text())["heavy"]
    agent = _admin()
    rng = random.Random(seed)
    top = Contact.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def selector(pk: int) -> int:
        return len(selectors.timeline(actor=agent, kind="contact", pk=pk, size=25).items)

    client = Client(SERVER_NAME="localhost")
    client.force_login(agent)

    def page(pk: int) -> int:
        response = client.get(f"/contacts/{pk}/timeline/", headers={"HX-Request": "true"})
        assert response.status_code == 200, response.status_code
        return len(response.content)

    out: dict[str, Any] = {}
    for name, fn, pick in [
        ("heavy_selector", selector, lambda: heavy),
        ("heavy_page", page, lambda: heavy),
        ("random_selector", selector, lambda: rng.randrange(1, top + 1)),
    ]:
        for _ in range(10):
            fn(pick())
        timings = []
        for _ in range(probes):
            pk = pick()
            t = time.perf_counter()
            fn(pk)
            timings.append((time.perf_counter() - t) * 1000)
        out[name] = _pct(timings)
    out["heavy_entries"] = selectors.timeline(actor=agent, kind="contact", pk=heavy, size=25).items[0].contact_id == heavy
    return out


def _mbox(path: Path, messages: int, seed: int) -> dict:
    """Mail as a CRM sees it: most of it with a few hundred active customers (who sign
    with the same signature each time: the first message teaches their mobile number and
    title, later ones teach nothing new), the rest with anyone, 5 % from strangers, a tenth
    of the messages delivered twice."""
    import datetime as dt

    _django()
    from rapport.customers.models import ContactEmail

    rng = random.Random(seed)
    top = ContactEmail.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def someone() -> tuple[str, str]:
        row = ContactEmail.objects.filter(id__gte=rng.randrange(top + 1)).order_by("id").values_list("email", "contact__full_name").first()
        return row if row else ("someone@acme.com", "Someone")

    active = [someone() for _ in range(500)]
    staff = "agent@rapport-bench.org"
    box = mailbox.mbox(str(path), create=True)
    box.lock()
    written = repeats = 0
    sent: list[EmailMessage] = []
    try:
        for i in range(messages):
            if sent and rng.random() < 0.1:
                box.add(sent[rng.randrange(len(sent))])  # the same message delivered again
                repeats += 1
                continue
            roll = rng.random()
            if roll < 0.05:
                address, name = f"new.person{i}@newcomer-{i % 50}.com", f"New Person{i}"
            elif roll < 0.75:
                address, name = active[min(int(rng.paretovariate(1.2)) - 1, len(active) - 1) if rng.random() < 0.5 else rng.randrange(len(active))]
            else:
                address, name = someone()
            msg = EmailMessage()
            inbound = rng.random() < 0.6
            msg["From"] = f'"{name}" <{address}>' if inbound else staff
            msg["To"] = staff if inbound else f'"{name}" <{address}>'
            msg["Subject"] = f"Re: {' '.join(rng.sample(WORDS, 3))}"
            msg["Date"] = format_datetime(dt.datetime(2026, 11, 1 + i % 20, 9, i % 60, tzinfo=dt.UTC))
            msg["Message-ID"] = make_msgid(domain="bench.rapport.dev")
            body = f"Hello,\n\nabout the {' '.join(rng.sample(WORDS, 4))}: all good on our side.\n\n"
            if inbound:
                mobile = 900000 + sum(map(ord, address)) * 7 % 100000
                body += f"Kind regards,\n{name}\nHead of Purchasing\nMobile: +44 7700 {mobile:06d}\n"
            msg.set_content(body + "\n> earlier quoted text\n> more of it\n")
            sent.append(msg)
            box.add(msg)
            written += 1
    finally:
        box.flush()
        box.unlock()
        box.close()
    return {"messages": written + repeats, "repeats": repeats}


def step_mbox(messages: int, seed: int) -> dict:
    path = WORK / "bench.mbox"
    path.unlink(missing_ok=True)
    Path(f"{path}.lock").unlink(missing_ok=True)  # left by a run that was stopped
    made = _mbox(path, messages, seed)
    from rapport.audit.models import Via
    from rapport.audit.services import Actor
    from rapport.ingest.mail import services as mail

    actor = Actor(user=_admin(), via=Via.IMPORT, context={"bench": "mbox"})
    from rapport.ingest.proposals import services as proposals
    from rapport.timeline.models import Entry

    before = Entry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    t = time.perf_counter()
    summary = mail.ingest_file(path, actor)
    seconds = time.perf_counter() - t
    # What the worker does afterwards (queued by the ingestion): the signatures' facts.
    stored = list(Entry.objects.filter(id__gt=before, source="mail").order_by("id").values_list("id", flat=True))
    t = time.perf_counter()
    for start in range(0, len(stored), 50):
        proposals.from_entries(entry_ids=stored[start : start + 50], actor=actor)
    learn_seconds = time.perf_counter() - t
    return {
        "learned": len(stored),
        "learn_per_s": len(stored) / learn_seconds if learn_seconds else 0.0,
        **made,
        "bytes": path.stat().st_size,
        "stored": summary.stored,
        "duplicates": summary.duplicates,
        "unmatched": len(summary.unmatched),
        "errors": len(summary.errors),
        "seconds": seconds,
        "per_s": summary.read / seconds,
        "peak_mb": _peak_mb(),
    }


def run_step(env: dict[str, str], *args: str) -> dict:
    return common.run_step(__file__, env, *args)


def _line(db: str, what: str, t: dict) -> str:
    return f"{db:6} {what:28} p50 {t['p50']:6.2f} ms  p95 {t['p95']:6.2f} ms  p99 {t['p99']:6.2f} ms  ({t['n']:,} probes)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--heavy", type=int, default=10_000, help="entries of the one long-history contact")
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--probes", type=int, default=2000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of an earlier run")
    parser.add_argument("--load-only", action="store_true", help="load the database and stop (measure later with --reuse)")
    parser.add_argument("step", nargs="?", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    steps = {
        "_contacts": lambda: step_load_contacts(opts.contacts, opts.seed),
        "_entries": lambda: step_load_entries(opts.entries, opts.heavy, opts.seed),
        "_lookup": lambda: step_lookup(opts.probes, opts.seed),
        "_timeline": lambda: step_timeline(opts.probes // 4, opts.seed),
        "_mbox": lambda: step_mbox(opts.messages, opts.seed),
    }
    if opts.step:
        print(json.dumps(steps[opts.step]()))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    print(f"{opts.contacts:,} contacts, {opts.entries:,} timeline entries; machine: {os.cpu_count()} cores", flush=True)
    for db in ["sqlite", "pg"] if opts.db == "both" else [opts.db]:
        common_args = ["--contacts", str(opts.contacts), "--entries", str(opts.entries), "--heavy", str(opts.heavy),
                       "--probes", str(opts.probes), "--messages", str(opts.messages), "--seed", str(opts.seed)]
        if opts.reuse:
            env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rapport.settings", "RAPPORT_MEDIA_ROOT": str(WORK / "media"),
                   "RAPPORT_DATA_DIR": str(WORK / db)}
            if db == "pg":
                env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
            subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], env=env, check=True, cwd=ROOT)  # noqa: S603
        else:
            env = common.fresh_env(WORK, PG_DB, db)
            c = run_step(env, *common_args, "_contacts")
            print(f"{db:6} load contacts  {c['records']:,} ({c['accounts']:,} accounts) in {c['seconds']:.0f} s", flush=True)
            e = run_step(env, *common_args, "_entries")
            print(f"{db:6} load entries   {e['entries']:,} entries, {e['links']:,} links in {e['seconds']:.0f} s "
                  f"(inserts {e['insert_s']:.0f} s, then the indexes); the heavy contact has {opts.heavy:,}", flush=True)
            if opts.load_only:
                continue
        lk = run_step(env, *common_args, "_lookup")
        print(_line(db, "lookup by phone, 1st pass", lk["cold"]) + f"; found {100 * lk['cold']['found']:.0f}%", flush=True)
        print(_line(db, "lookup by phone, 2nd pass", lk["warm"]), flush=True)
        tl = run_step(env, *common_args, "_timeline")
        print(_line(db, f"timeline page 1 ({opts.heavy:,})", tl["heavy_selector"]), flush=True)
        print(_line(db, "  the same, web panel", tl["heavy_page"]), flush=True)
        print(_line(db, "timeline page 1, random", tl["random_selector"]), flush=True)
        mb = run_step(env, *common_args, "_mbox")
        print(f"{db:6} mbox ingestion {mb['messages']:,} messages ({mb['bytes'] / 1e6:.1f} MB): {mb['per_s']:.0f} messages/s "
              f"({mb['stored']:,} stored, {mb['duplicates']:,} duplicates, {mb['unmatched']:,} unmatched, {mb['errors']} errors) "
              f"in {mb['seconds']:.1f} s, peak {mb['peak_mb']} MB", flush=True)
        print(f"{db:6} then the worker learns the signatures of the {mb['learned']:,} stored: {mb['learn_per_s']:.0f} messages/s", flush=True)


if __name__ == "__main__":
    main()
