"""Import speed and memory for a large contacts file (never run as a test).

    .venv/bin/python bench/imports.py --rows 100000            # SQLite and PostgreSQL
    .venv/bin/python bench/imports.py --rows 1000000 --db sqlite

For each database it makes a fresh, empty database three times and measures, on the
same generated file:

1. **raw insert**: the file's rows inserted as they are (contact, e-mail and phone rows,
   no cleaning, no matching, no audit) with the fastest path the database offers
   (executemany on SQLite, COPY on PostgreSQL), in transactions of 2,000 rows;
2. **import**: ``rapport import contacts`` end to end: reading, cleaning (names, e-mails,
   phones to E.164, countries), matching, accounts made from the company column, search
   index, audit trail and undo records, in resumable batches;
3. **re-import** of the same file into that database (every row matches; nothing changes).

It prints rows/s for each, the import's share of the raw rate, and the peak resident
memory of the importing process and of its cleaning processes. The file is generated
once per size under /tmp/rapport-bench-import (realistic names, companies, national-format
phone numbers of five countries, 0.5 % rows with a broken e-mail).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sys
import time
from pathlib import Path

import common  # noqa: E402  (bench/common.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("RAPPORT_BENCH_DIR", "/tmp/rapport-bench-import"))
PG_DB = "rapport_bench_import"
COUNTRIES = [("GB", "United Kingdom", "en_GB"), ("US", "USA", "en_US"), ("DE", "Germany", "de_DE"), ("FR", "France", "fr_FR"), ("NL", "Netherlands", "nl_NL")]
HEADER = ["Customer ID", "First name", "Last name", "Email", "Phone", "Company", "Website", "Job title", "City", "Country"]


# --- the file ------------------------------------------------------------------------------


def generate(rows: int, path: Path, seed: int = 7) -> None:
    import phonenumbers
    from faker import Faker

    sys.path.insert(0, str(ROOT))
    rng = random.Random(seed)
    pools = []
    for code, country, locale in COUNTRIES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        example = phonenumbers.example_number_for_type(code, phonenumbers.PhoneNumberType.FIXED_LINE)
        mobile = phonenumbers.example_number_for_type(code, phonenumbers.PhoneNumberType.MOBILE)
        valid: list[str] = []
        for stem in (example, mobile):
            national = str(stem.national_number)
            tries = 0
            while len(valid) < 4000 and tries < 20000:
                tries += 1
                digits = national[:-4] + f"{rng.randrange(10000):04d}"
                number = phonenumbers.parse(f"+{stem.country_code}{digits}", None)
                if phonenumbers.is_valid_number(number):
                    valid.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL))
        pools.append({
            "country": country, "code": code,
            "first": [fake.first_name() for _ in range(1500)],
            "last": [fake.last_name() for _ in range(2500)],
            "company": [fake.company() for _ in range(4000)],
            "job": [fake.job()[:100] for _ in range(600)],
            "city": [fake.city() for _ in range(800)],
            "phones": valid,
        })  # fmt: skip
    companies = max(50, rows // 50)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i in range(rows):
            pool = pools[i % len(pools)]
            first, last = rng.choice(pool["first"]), rng.choice(pool["last"])
            c = rng.randrange(companies)
            company = pools[c % len(pools)]["company"][c % 4000]
            slug = "".join(ch for ch in company.lower() if ch.isalnum())[:20] or "co"
            domain = f"{slug}{c}.example.com"
            local = "".join(ch for ch in f"{first}.{last}".lower() if ch.isascii() and (ch.isalnum() or ch == "."))
            email = f"{local}{i}@{domain}" if rng.random() > 0.005 else f"{local}{i}@@{domain}"
            out.writerow([
                f"C{i:07d}", first, last, email, rng.choice(pool["phones"]), company, domain,
                rng.choice(pool["job"]), rng.choice(pool["city"]), pool["country"],
            ])  # fmt: skip


# --- one measured step, in its own process -------------------------------------------------


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()


def step_raw(path: Path) -> dict:
    """The rows as they are, into contact/e-mail/phone tables, as fast as the database goes."""
    _django()
    from django.db import transaction
    from django.utils import timezone

    from rapport.core.bulk import BulkWriter
    from rapport.customers.models import Contact, ContactEmail, ContactPhone
    from rapport.ingest.imports.engine import CONTACT_COLUMNS, EMAIL_COLUMNS, PHONE_COLUMNS

    w = BulkWriter()
    if w.sqlite:  # the same settings the import uses (see engine._run_contacts)
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size = -163840")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA wal_autocheckpoint = 10000")
    now = w.stamp(timezone.now())
    started = time.perf_counter()
    n = 0
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        batch: list[list[str]] = []

        def flush() -> None:
            with transaction.atomic():
                ids = w.reserve_ids(Contact, len(batch))
                contacts, emails, phones = [], [], []
                for pk, r in zip(ids, batch, strict=True):
                    contacts.append((pk, now, now, 1, None, "bench", "", r[1], "", r[2], "", f"{r[1]} {r[2]}", f"{r[2]} {r[1]}".lower(), r[7], "", "none", "", "", "lead", "{}"))
                    emails.append((now, now, pk, r[3], r[6], "work", True, "bench"))
                    phones.append((now, now, pk, r[4], r[4], "", "work", True, "bench"))
                w.insert(Contact, CONTACT_COLUMNS, contacts)
                w.insert(ContactEmail, EMAIL_COLUMNS, emails)
                w.insert(ContactPhone, PHONE_COLUMNS, phones)

        for row in reader:
            batch.append(row)
            if len(batch) == 2000:
                flush()
                n += len(batch)
                batch = []
        if batch:
            flush()
            n += len(batch)
    seconds = time.perf_counter() - started
    return {"rows": n, "seconds": seconds, "rows_per_s": n / seconds}


def step_import(path: Path, processes: int | None) -> dict:
    _django()
    from rapport.audit.models import Via
    from rapport.audit.services import Actor
    from rapport.ingest.imports import engine, services
    from rapport.ingest.models import ImportJob

    actor = Actor(user=None, via=Via.IMPORT)
    with path.open("rb") as f:
        job = services.import_create(actor=actor, stream=f, filename=path.name, kind="contacts")
    services.import_configure(actor=actor, job=job, source="bench", region="GB")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
    started = time.perf_counter()
    done = engine.run(job.pk, processes=processes)
    seconds = time.perf_counter() - started
    assert done is not None and done.state == "done", done and done.error
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "rows": done.rows_seen, "seconds": seconds, "rows_per_s": done.rows_seen / seconds,
        "created": done.created, "updated": done.updated, "unchanged": done.unchanged,
        "rejected": done.rejected, "accounts": done.accounts_created,
        "peak_mb": round(peak_self), "peak_child_mb": round(peak_children),
    }  # fmt: skip


# --- orchestration -------------------------------------------------------------------------


def fresh_env(db: str, tag: str) -> dict[str, str]:
    return common.fresh_env(WORK, PG_DB, db, tag)


def run_step(env: dict[str, str], *args: str) -> dict:
    return common.run_step(__file__, env, *args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--processes", type=int, default=None, help="cleaning processes (default: the setting)")
    parser.add_argument("step", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("file", nargs="?", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step == "_raw":
        print(json.dumps(step_raw(Path(opts.file))))
        return
    if opts.step in ("_import", "_reimport"):
        print(json.dumps(step_import(Path(opts.file), opts.processes)))
        return

    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / f"contacts-{opts.rows}.csv"
    if not path.exists():
        t = time.perf_counter()
        generate(opts.rows, path)
        print(f"generated {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s", flush=True)
    print(f"file: {opts.rows:,} rows, {path.stat().st_size / 1e6:.0f} MB; machine: {os.cpu_count()} cores", flush=True)
    extra = ["--processes", str(opts.processes)] if opts.processes is not None else []
    for db in (["sqlite", "pg"] if opts.db == "both" else [opts.db]):
        raw = run_step(fresh_env(db, "raw"), "_raw", str(path))
        print(f"{db:6} raw insert   {raw['rows']:>9,} rows {raw['seconds']:7.1f} s {raw['rows_per_s']:>9,.0f} rows/s", flush=True)
        env = fresh_env(db, "import")
        imp = run_step(env, *extra, "_import", str(path))
        share = 100 * imp["rows_per_s"] / raw["rows_per_s"]
        print(
            f"{db:6} import       {imp['rows']:>9,} rows {imp['seconds']:7.1f} s {imp['rows_per_s']:>9,.0f} rows/s "
            f"({share:.0f}% of raw); peak {imp['peak_mb']} MB (+ cleaners {imp['peak_child_mb']} MB each); "
            f"created {imp['created']:,}, rejected {imp['rejected']:,}, accounts {imp['accounts']:,}",
            flush=True,
        )
        again = run_step(env, *extra, "_reimport", str(path))
        print(
            f"{db:6} re-import    {again['rows']:>9,} rows {again['seconds']:7.1f} s {again['rows_per_s']:>9,.0f} rows/s; "
            f"created {again['created']:,}, updated {again['updated']:,}, unchanged {again['unchanged']:,}",
            flush=True,
        )


if __name__ == "__main__":
    main()
