"""A full duplicate scan of a demo database of a million contacts (never run as a test).

Fill once (bench/README.md section 1), then reuse:

    export RAPPORT_DATA_DIR=/tmp/bench-sqlite
    .venv/bin/python manage.py migrate
    .venv/bin/python manage.py demo --contacts 1000000 --accounts 50000
    .venv/bin/python bench/scan_1m.py                   # the scan, two comparing processes
    .venv/bin/python bench/scan_1m.py --processes 1     # in this process alone
    .venv/bin/python bench/scan_1m.py --check 1000      # and 1,000 checks before create

(PostgreSQL: the same with ``DATABASE_URL``.) It runs the code ``rapport duplicates scan``
runs (``scans.scan_start`` then ``scanjob.run``, in this process: reading, blocking,
comparing in the workers, fitting, scoring, saving the candidates, grouping them) and prints

- the records, the pairs compared (per record), the candidates kept and their groups;
- the seconds of each phase: reading the contacts, making the blocks, streaming and
  comparing the pairs, fitting the model, scoring and saving; and the CPU seconds of this
  process and of its workers (the machine is shared: wall-clock seconds are waiting too);
- the peak memory: PSS of this process and its workers together, sampled every 0.2 s
  (shared pages counted once), and each one's peak RSS;
- the blocking recall on the people the demo entered twice (its audit entry's
  ``known_duplicates``): the share of those pairs the scan compared;
- the load average before and after, and the database's size.

With ``--check N``: N checks before create (``check.duplicates_check``), half of them
another writing of a stored contact (a nickname or initial, the phone written with spaces,
a new e-mail address) and half new people, p50/p95/p99 in ms, the SQL queries of one check,
and how often the stored contact came first.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")


def _refuse_default_data() -> None:
    if "RAPPORT_DATA_DIR" not in os.environ and "DATABASE_URL" not in os.environ:
        sys.exit("set RAPPORT_DATA_DIR (SQLite) or DATABASE_URL: never the quick start's data/")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _known_duplicates() -> set[tuple[int, int]]:
    from rapport.audit.models import AuditEntry

    entry = AuditEntry.objects.filter(object_kind="demo").order_by("-pk").first()
    pairs = (entry.changes.get("known_duplicates") or [None, []])[1] if entry else []
    return {(min(a, b), max(a, b)) for a, b in pairs}


def _database_size() -> str:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "sqlite":
        path = Path(settings.DATABASES["default"]["NAME"])
        return f"{path.stat().st_size / 1e9:.2f} GB (SQLite)"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return f"{cursor.fetchone()[0] / 1e9:.2f} GB (PostgreSQL)"


def scan(processes: int) -> dict[str, Any]:
    import duplicates  # bench/duplicates.py: the PSS sampler

    from rapport.audit.models import Via
    from rapport.audit.services import Actor
    from rapport.identity import scan as matching
    from rapport.identity import scanjob, scans

    known = _known_duplicates()
    captured: dict[str, Any] = {}
    original = matching.scan_contacts

    def scan_contacts(people: Any, **kwargs: Any) -> Any:
        """The scan's own ``scan_contacts``; afterwards (not timed) which known pairs it
        compared: positions are the contacts in id order, as ``load.people`` reads them."""
        captured["start"] = time.perf_counter()
        result = original(people, **kwargs)
        captured["timings"] = dict(result.timings)
        captured["end"] = time.perf_counter()
        captured["records"] = len(people)
        captured["pairs"] = result.pairs
        print(
            "  blocking, comparing, fitting (s): "
            + ", ".join(f"{k} {v:.1f}" for k, v in result.timings.items())
            + f"; {len(result.pairs):,} pairs",
            flush=True,
        )
        return result

    matching.scan_contacts = scan_contacts  # type: ignore[assignment]
    settings_processes = scanjob.scan_processes
    scanjob.scan_processes = lambda: processes  # type: ignore[assignment]
    scan = scans.scan_start(
        actor=Actor(user=None, via=Via.SYSTEM), kind="contact", mode="full", enqueue=False
    )
    phases: list[tuple[str, float]] = []
    sampler = duplicates._PeakMemory()
    sampler.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()

    def progress(s: Any) -> None:
        # Printed as it happens: at a million contacts on a shared machine a run can be
        # stopped before it ends, and the phases it reached still tell.
        phases.append((s.phase, time.perf_counter() - started))
        print(
            f"  [{phases[-1][1]:7.1f} s] {s.phase} (peak PSS so far {sampler.peak:.0f} MB, "
            f"load {_load()})",
            flush=True,
        )

    done = scanjob.run(scan.pk, progress=progress)
    seconds = time.perf_counter() - started
    sampler.stopped.set()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    matching.scan_contacts = original  # type: ignore[assignment]
    scanjob.scan_processes = settings_processes  # type: ignore[assignment]
    assert done is not None and done.state == "done", done and done.error

    # Blocking recall on the known duplicates (positions in id order).
    from rapport.customers.models import Contact

    ids = list(Contact.objects.order_by("pk").values_list("pk", flat=True))
    position = {pk: i for i, pk in enumerate(ids)}
    wanted = {position[a] << 32 | position[b] for a, b in known if a in position and b in position}
    compared = sum(1 for code in captured.get("pairs", ()) if code in wanted)
    marks = dict(phases)
    timings = captured.get("timings", {})
    read_s = captured["start"] - started if "start" in captured else None
    after_s = seconds - (captured["end"] - started) if "end" in captured else None
    return {
        "records": done.records,
        "pairs": done.pairs_compared,
        "pairs_per_record": round(done.pairs_compared / max(1, done.records), 2),
        "candidates": done.candidates,
        "clusters": done.clusters,
        "seconds": round(seconds, 1),
        "phases_s": {
            "read": round(read_s, 1) if read_s is not None else None,
            **{k: round(v, 1) for k, v in timings.items()},
            "score_save_group": round(after_s, 1) if after_s is not None else None,
        },
        "phase_marks": {k: round(v, 1) for k, v in marks.items()},
        "cpu_s": round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1),
        "workers_cpu_s": round(children.ru_utime + children.ru_stime, 1),
        "peak_pss_mb": round(sampler.peak),
        "peak_rss_mb": round(cpu1.ru_maxrss / 1024),
        "peak_worker_rss_mb": round(children.ru_maxrss / 1024),
        "known_duplicates": len(wanted),
        "blocking_recall_known": round(compared / len(wanted), 4) if wanted else None,
        "processes": processes,
    }


def check(probes: int, seed: int) -> dict[str, Any]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rapport.customers.models import Contact
    from rapport.identity import check as checking
    from rapport.identity import load

    rng = random.Random(seed)
    top = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    sample = sorted(
        Contact.objects.filter(pk__in=rng.sample(range(1, top + 1), probes)).values_list(
            "pk", flat=True
        )
    )
    stored = dict(load.people(sample[: probes // 2]))
    payloads: list[tuple[dict, int | None]] = []
    for pk, person in stored.items():
        given = person.given
        if given and rng.random() < 0.3:
            given = given[0] + "."  # an initial
        phone = person.phones[0] if person.phones else ""
        spaced = f"{phone[:3]} {phone[3:6]} {phone[6:]}" if phone else ""
        payloads.append(
            (
                {
                    "given_name": given,
                    "family_name": person.family,
                    "emails": [f"new.{pk}@example.org"],
                    "phones": [spaced] if spaced else [],
                    "organisation": person.organisation,
                },
                pk,
            )
        )
    for i in range(probes - len(payloads)):
        payloads.append(
            (
                {
                    "given_name": rng.choice(["Ann", "John", "Maria", "Wei", "Oluwaseun"]),
                    "family_name": rng.choice(["Smith", "Müller", "Martin", "de Vries", "Okafor"]),
                    "emails": [f"nobody{i}@example.net"],
                },
                None,
            )
        )
    rng.shuffle(payloads)
    with CaptureQueriesContext(connection) as queries:
        checking.duplicates_check(actor=None, kind="contact", data=payloads[0][0])
    timings, cpu, first, expected = [], [], 0, 0
    for data, stored_pk in payloads:
        t, c = time.perf_counter(), time.process_time()
        matches = checking.duplicates_check(actor=None, kind="contact", data=data)
        timings.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
        if stored_pk is not None:
            expected += 1
            first += bool(matches) and matches[0].record_id == stored_pk
    pct = statistics.quantiles(sorted(timings), n=100)
    on_cpu = statistics.quantiles(sorted(cpu), n=100)
    return {
        "probes": len(payloads),
        "contacts": Contact.objects.count(),
        "p50_ms": round(pct[49], 1),
        "p95_ms": round(pct[94], 1),
        "p99_ms": round(pct[98], 1),
        # This process's CPU time (SQLite runs in it): what the check costs when the
        # machine is shared and wall-clock time is mostly waiting for a core.
        "cpu_p50_ms": round(on_cpu[49], 1),
        "cpu_p95_ms": round(on_cpu[94], 1),
        "cpu_p99_ms": round(on_cpu[98], 1),
        "queries_per_check": len(queries),
        "found_first": round(first / expected, 3) if expected else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", type=int, default=2, help="processes comparing pairs")
    parser.add_argument("--check", type=int, default=0, help="checks before create to time")
    parser.add_argument("--no-scan", action="store_true", help="only the checks")
    parser.add_argument("--seed", type=int, default=13)
    opts = parser.parse_args()
    _refuse_default_data()
    import django

    django.setup()
    figures: dict[str, Any] = {"load_before": _load(), "database": _database_size()}
    if not opts.no_scan:
        s = scan(opts.processes)
        figures["scan"] = s
        print(
            f"scan of {s['records']:,} contacts in {s['seconds']} s ({s['processes']} comparing "
            f"processes): {s['pairs']:,} pairs compared ({s['pairs_per_record']} per record), "
            f"{s['candidates']:,} candidates in {s['clusters']:,} groups",
            flush=True,
        )
        print("  phases (s): " + ", ".join(f"{k} {v}" for k, v in s["phases_s"].items()))
        print(
            f"  CPU: this process {s['cpu_s']} s, its workers {s['workers_cpu_s']} s; peak memory "
            f"{s['peak_pss_mb']} MB PSS together (RSS: this process {s['peak_rss_mb']} MB, "
            f"a worker {s['peak_worker_rss_mb']} MB)"
        )
        print(
            f"  blocking recall on the {s['known_duplicates']:,} people the demo entered twice: "
            f"{s['blocking_recall_known']}"
        )
    if opts.check:
        c = check(opts.check, opts.seed)
        figures["check"] = c
        print(
            f"check before create, {c['probes']:,} checks against {c['contacts']:,} contacts: "
            f"p50 {c['p50_ms']} ms, p95 {c['p95_ms']} ms, p99 {c['p99_ms']} ms "
            f"(CPU p50 {c['cpu_p50_ms']} ms, p95 {c['cpu_p95_ms']} ms, p99 {c['cpu_p99_ms']} ms), "
            f"{c['queries_per_check']} queries a check; the stored contact first in "
            f"{c['found_first']} of its rewritings"
        )
    figures["load_after"] = _load()
    print(
        f"load average before {figures['load_before']}, after {figures['load_after']}; "
        f"database {figures['database']}"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
