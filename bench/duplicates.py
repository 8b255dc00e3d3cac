"""Duplicate detection against the database (never run as a test).

    .venv/bin/python bench/duplicates.py --records 10000             # SQLite and PostgreSQL
    .venv/bin/python bench/duplicates.py --records 1000000 --db sqlite

For each database, on a fresh database:

1. **load**: the labelled people of ``bench/identity.py`` (realistic names, e-mails,
   phones, employers and postal addresses of five countries, with known duplicates carrying
   typos, nicknames, swapped names, initials, other phone formats, changed employers and
   company-name variants) are written as contacts with their e-mails, phones, addresses,
   accounts and search index, by bulk inserts (not timed against anything);
2. **scan**: ``rapport duplicates scan`` (the background job's code, in this process):
   reading every contact, blocking, comparing, fitting the model without labels, writing
   candidate pairs and clusters. It prints the seconds, the peak memory, and the precision,
   recall and F1 of the candidate pairs against the known duplicates;
3. **check before create**: ``check.duplicates_check`` for 1,000 new records, half of them
   another writing of a stored person (a nickname, the phone in another format, another
   e-mail address) and half new people; p50/p95/p99 latency and how often the stored
   person came first.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

import common  # noqa: E402  (bench/common.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("RAPPORT_BENCH_DIR", "/tmp/rapport-bench-duplicates"))
PG_DB = "rapport_bench_duplicates"


def _django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()


def _labelled() -> Any:
    spec = importlib.util.spec_from_file_location("bench_identity", ROOT / "bench" / "identity.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _split_address(address: str) -> tuple[str, str, str]:
    """'12 High Street, AB1 2CD London' -> street, postcode, city (as written)."""
    street, _, rest = address.partition(", ")
    postcode, _, city = rest.partition(" ")
    return street, postcode, city


def step_load(records: int, seed: int) -> dict:
    _django()
    from django.db import connection, transaction
    from django.utils import timezone

    from rapport.core.bulk import BulkWriter
    from rapport.customers import normalize, search_index
    from rapport.customers.models import (
        Account,
        AccountMembership,
        Contact,
        ContactAddress,
        ContactEmail,
        ContactPhone,
        SearchToken,
    )
    from rapport.ingest.imports.engine import (
        ACCOUNT_COLUMNS,
        ADDRESS_COLUMNS,
        CONTACT_COLUMNS,
        EMAIL_COLUMNS,
        MEMBER_COLUMNS,
        PHONE_COLUMNS,
    )

    started = time.perf_counter()
    people, truth = _labelled().generate(records, 0.1, seed)
    generated = time.perf_counter() - started
    w = BulkWriter()
    if w.sqlite:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA cache_size = -163840")
    now = w.stamp(timezone.now())
    accounts: dict[str, int] = {}
    vocabulary: set[str] = set()
    positions: list[int] = []
    for start in range(0, len(people), 5000):
        chunk = people[start : start + 5000]
        with transaction.atomic():
            ids = w.reserve_ids(Contact, len(chunk))
            names = sorted(
                {p.organisation for p in chunk if p.organisation and p.organisation not in accounts}
            )
            if names:
                account_ids = w.reserve_ids(Account, len(names))
                rows = []
                for pk, name in zip(account_ids, names, strict=True):
                    accounts[name] = pk
                    rows.append(
                        (
                            pk,
                            now,
                            now,
                            1,
                            name,
                            "",
                            normalize.normalize_org_name(name)[:200],
                            "",
                            "",
                            "",
                            "",
                            None,
                            None,
                            "customer",
                            "",
                            "{}",
                        )
                    )
                w.insert(Account, ACCOUNT_COLUMNS, rows)
            contacts, emails, phones, addresses, members, tokens = [], [], [], [], [], []
            for pk, p in zip(ids, chunk, strict=True):
                positions.append(pk)
                parts = {"given_name": p.given, "family_name": p.family}
                contacts.append(
                    (
                        pk,
                        now,
                        now,
                        1,
                        None,
                        "bench",
                        "",
                        p.given,
                        "",
                        p.family,
                        "",
                        normalize.display_name(parts),
                        normalize.sort_key(parts),
                        "",
                        "",
                        "none",
                        "",
                        "",
                        "lead",
                        "{}",
                    )
                )
                for i, e in enumerate(dict.fromkeys(p.emails)):
                    emails.append(
                        (
                            now,
                            now,
                            pk,
                            e.lower(),
                            e.rpartition("@")[2].lower(),
                            "work",
                            i == 0,
                            "bench",
                        )
                    )
                for i, number in enumerate(dict.fromkeys(p.phones)):
                    phones.append((now, now, pk, number, number, "", "work", i == 0, "bench"))
                if p.address:
                    street, postcode, city = _split_address(p.address)
                    addresses.append(
                        (now, now, pk, "work", street, city, "", postcode, "GB", True, "bench")
                    )
                if p.organisation:
                    members.append((now, now, pk, accounts[p.organisation], True, "", "", None))
                words = set(normalize.words(f"{p.given} {p.family}"))
                vocabulary |= words
                tokens += [(t, pk) for t in words]
            w.insert(Contact, CONTACT_COLUMNS, contacts)
            w.insert(ContactEmail, EMAIL_COLUMNS, emails)
            w.insert(ContactPhone, PHONE_COLUMNS, phones)
            w.insert(ContactAddress, ADDRESS_COLUMNS, addresses)
            w.insert(AccountMembership, MEMBER_COLUMNS, members)
            w.insert(SearchToken, ("token", "contact"), tokens)
    with transaction.atomic():
        search_index.ensure_variants(vocabulary)
    if not w.sqlite:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    truth_ids = sorted((positions[a], positions[b]) for a, b in truth)
    (WORK / "truth.json").write_text(json.dumps({"truth": truth_ids, "positions": positions}))
    return {
        "records": len(people),
        "duplicates": len(truth),
        "accounts": len(accounts),
        "generated_s": generated,
        "seconds": time.perf_counter() - started,
    }


def _tree_pss_mb() -> float:
    """Proportional set size of this process and its children: shared pages (a forked
    worker's copy-on-write view of the parent) counted once, split between the sharers."""
    pids, total = [os.getpid()], 0
    for pid in pids:
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    pids += [int(c) for c in f.read().split()]
            with open(f"/proc/{pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration, ValueError):
            continue
    return total / 1024


class _PeakMemory(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        # A sample at once and then every 0.2 s: a scan of a few thousand records is over
        # before half a second.
        while True:
            self.peak = max(self.peak, _tree_pss_mb())
            if self.stopped.wait(0.2):
                return


def step_scan(processes: int) -> dict:
    os.environ["RAPPORT_IDENTITY_SCAN_PROCESSES"] = str(processes)
    _django()
    from rapport.audit.models import Via
    from rapport.audit.services import Actor
    from rapport.identity import scanjob, scans
    from rapport.identity.models import Candidate

    scan = scans.scan_start(
        actor=Actor(user=None, via=Via.SYSTEM), kind="contact", enqueue=False
    )
    phases: list[tuple[str, float]] = []
    sampler = _PeakMemory()
    sampler.start()
    started = time.perf_counter()
    done = scanjob.run(
        scan.pk, progress=lambda s: phases.append((s.phase, time.perf_counter() - started))
    )
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    assert done is not None and done.state == "done", done and done.error
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    truth = {tuple(p) for p in json.loads((WORK / "truth.json").read_text())["truth"]}
    found = set(Candidate.objects.filter(kind="contact").values_list("left_id", "right_id"))
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "seconds": seconds, "peak_mb": round(peak), "peak_child_mb": round(peak_children), "peak_pss_mb": round(sampler.peak), "records": done.records,
        "pairs": done.pairs_compared, "candidates": done.candidates, "clusters": done.clusters,
        "precision": precision, "recall": recall, "f1": f1, "phases": phases,
    }  # fmt: skip


def step_check(probes: int, seed: int) -> dict:
    _django()
    from rapport.customers.models import Contact
    from rapport.identity import check, load

    rng = random.Random(seed)
    positions = json.loads((WORK / "truth.json").read_text())["positions"]
    nick = {
        "robert": "Bob",
        "william": "Bill",
        "elizabeth": "Liz",
        "margaret": "Maggie",
        "james": "Jim",
        "michael": "Mike",
        "thomas": "Tom",
    }
    payloads: list[tuple[dict, int | None]] = []
    for pk in rng.sample(positions, probes // 2):
        stored = dict(load.people([pk]))[pk]
        given = nick.get(stored.given.lower(), stored.given)
        phone = stored.phones[0] if stored.phones else ""
        # Another writing of a stored person: nickname, phone with spaces, another address.
        spaced = f"{phone[:3]} {phone[3:6]} {phone[6:]}" if phone else ""
        payloads.append(
            (
                {
                    "given_name": given,
                    "family_name": stored.family,
                    "emails": [f"{stored.given.lower()}.x{pk}@gmail.com"],
                    "phones": [spaced] if spaced else [],
                    "organisation": stored.organisation,
                },
                pk,
            )
        )
    for i in range(probes - len(payloads)):
        payloads.append(
            (
                {
                    "given_name": f"Nobody{i}",
                    "family_name": rng.choice(["Smith", "Müller", "Martin", "de Vries", "Johnson"]),
                    "emails": [f"new{i}@example.org"],
                },
                None,
            )
        )
    rng.shuffle(payloads)
    timings, first, expected = [], 0, 0
    for data, pk in payloads:
        t = time.perf_counter()
        matches = check.duplicates_check(actor=None, kind="contact", data=data)
        timings.append((time.perf_counter() - t) * 1000)
        if pk is not None:
            expected += 1
            first += bool(matches) and matches[0].record_id == pk
    timings.sort()
    pct = statistics.quantiles(timings, n=100)
    return {
        "probes": len(payloads),
        "contacts": Contact.objects.count(),
        "p50": pct[49],
        "p95": pct[94],
        "p99": pct[98],
        "found_first": first / expected if expected else 0.0,
    }


def fresh_env(db: str) -> dict[str, str]:
    return common.fresh_env(WORK, PG_DB, db)


def run_step(env: dict[str, str], *args: str) -> dict:
    return common.run_step(__file__, env, *args)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--db", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument(
        "--processes", type=int, default=2, help="processes comparing pairs in the scan"
    )
    parser.add_argument("--probes", type=int, default=1000, help="checks before create to time")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("step", nargs="?", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step == "_load":
        print(json.dumps(step_load(opts.records, opts.seed)))
        return
    if opts.step == "_scan":
        print(json.dumps(step_scan(opts.processes)))
        return
    if opts.step == "_check":
        print(json.dumps(step_check(opts.probes, opts.seed)))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    print(
        f"{opts.records:,} contacts, 10% with a known duplicate; machine: {os.cpu_count()} cores",
        flush=True,
    )
    for db in ["sqlite", "pg"] if opts.db == "both" else [opts.db]:
        env = fresh_env(db)
        loaded = run_step(env, "--records", str(opts.records), "--seed", str(opts.seed), "_load")
        print(
            f"{db:6} load   {loaded['records']:,} contacts ({loaded['duplicates']:,} duplicate pairs, {loaded['accounts']:,} accounts) in {loaded['seconds']:.0f} s",
            flush=True,
        )
        scan = run_step(env, "--processes", str(opts.processes), "_scan")
        phases = ", ".join(f"{name} at {t:.0f} s" for name, t in scan["phases"])
        print(
            f"{db:6} scan   {scan['seconds']:.1f} s, peak memory of the scan and its workers together {scan['peak_pss_mb']} MB "
            f"(PSS; RSS: scan {scan['peak_mb']} MB, each worker {scan['peak_child_mb']} MB, shared pages counted in each); "
            f"{scan['pairs']:,} pairs compared, {scan['candidates']:,} candidates in {scan['clusters']:,} groups; "
            f"precision {scan['precision']:.3f}, recall {scan['recall']:.3f}, F1 {scan['f1']:.3f}",
            flush=True,
        )
        print(f"{db:6}        phases: {phases}", flush=True)
        checked = run_step(env, "--probes", str(opts.probes), "--seed", str(opts.seed), "_check")
        print(
            f"{db:6} check  {checked['probes']:,} checks against {checked['contacts']:,} contacts: p50 {checked['p50']:.1f} ms, "
            f"p95 {checked['p95']:.1f} ms, p99 {checked['p99']:.1f} ms; the stored person first in {100 * checked['found_first']:.0f}% of its rewritings",
            flush=True,
        )


if __name__ == "__main__":
    main()
