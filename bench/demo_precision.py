"""Duplicate detection on ``manage.py demo`` data (never run as a test).

    .venv/bin/python bench/demo_precision.py                         # 2,000 contacts, seed 42
    .venv/bin/python bench/demo_precision.py --contacts 10000 --accounts 1000 --seed 7
    .venv/bin/python bench/demo_precision.py --db pg --show 10

In a data directory of its own (SQLite under ``/tmp/rapport-bench-demo``, or the
PostgreSQL database ``rapport_bench_demo``, dropped and created again):

1. ``manage.py migrate`` and ``manage.py demo`` (every demo part, as a user runs it);
2. ``manage.py duplicates scan``: the full scan of contacts, as a steward runs it;
3. the queue against the truth. The demo knows which people it entered twice: the pairs
   are in its audit entry (``known_duplicates``, object kind ``demo``). Every other demo
   contact is a person of their own, so a pair of two of them in the queue is two
   different people. Records the demo did not write as people (none today) would be
   counted apart, as unknown.

It prints the precision of the pairs at or above the review threshold (the goal is 1.0:
no pair of two different demo people), at or above the automatic one, the recall of the
known duplicates, the groups that mix people, and with ``--show`` the wrong pairs, each
with its evidence. The last line is the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import common  # noqa: E402  (bench/common.py, beside this script)

ROOT = Path(__file__).resolve().parent.parent
WORK = Path(os.environ.get("RAPPORT_BENCH_DIR", "/tmp/rapport-bench-demo"))
PG_DB = "rapport_bench_demo"


def _manage(env: dict[str, str], *args: str) -> str:
    out = subprocess.run(  # noqa: S603
        [sys.executable, str(ROOT / "manage.py"), *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if out.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return out.stdout.strip()


def step_measure(show: int) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")
    import django

    django.setup()
    from rapport.audit.models import AuditEntry
    from rapport.customers.models import Contact
    from rapport.identity import check
    from rapport.identity.models import Candidate, Cluster

    entry = AuditEntry.objects.filter(object_kind="demo").order_by("-pk").first()
    assert entry is not None, "no demo audit entry: did manage.py demo run?"
    known = {
        (min(a, b), max(a, b)) for a, b in (entry.changes.get("known_duplicates") or [None, []])[1]
    }
    people = set(Contact.objects.filter(source__in=_demo_sources()).values_list("pk", flat=True))
    person = {pk: pk for pk in people}
    for a, b in known:  # one person entered twice: one number for both
        person[b] = person.get(a, a)
    conf = check.match_settings()
    rows = list(
        Candidate.objects.filter(kind="contact", status=Candidate.Status.OPEN).values_list(
            "left_id", "right_id", "probability", "vector"
        )
    )
    review = [(a, b, p, v) for a, b, p, v in rows if p >= conf.lower]
    auto = [r for r in review if r[2] >= conf.upper]

    def judge(pairs: list[tuple[int, int, float, Any]]) -> dict[str, Any]:
        right = sum(1 for a, b, _, _ in pairs if (a, b) in known)
        unknown = sum(1 for a, b, _, _ in pairs if a not in person or b not in person)
        wrong = len(pairs) - right - unknown
        judged = right + wrong
        return {
            "pairs": len(pairs),
            "known": right,
            "different_people": wrong,
            "unknown": unknown,
            "precision": round(right / judged, 4) if judged else 1.0,
            "recall": round(right / len(known), 4) if known else 0.0,
        }

    mixed = 0
    clusters = list(Cluster.objects.filter(kind="contact").exclude(status=Cluster.Status.DONE))
    for c in clusters:
        if len({person.get(pk, -pk) for pk in c.record_ids}) > 1:
            mixed += 1
    figures: dict[str, Any] = {
        "contacts": Contact.objects.count(),
        "known_duplicates": len(known),
        "lower": conf.lower,
        "upper": conf.upper,
        "review": judge(review),
        "auto": judge(auto),
        "clusters": len(clusters),
        "clusters_mixing_people": mixed,
    }
    if show:
        model = check.current_model("contact", conf)
        names = dict(Contact.objects.values_list("pk", "full_name"))
        wrong_pairs = sorted(
            (r for r in review if (r[0], r[1]) not in known and r[0] in person and r[1] in person),
            key=lambda r: -r[2],
        )
        missed = sorted(known - {(a, b) for a, b, _, _ in review})
        lines = []
        for a, b, p, vector in wrong_pairs[:show]:
            evidence = check.explain("contact", model, tuple(vector), conf.disabled_fields)
            words = "; ".join(f"{e.words} ({e.weight:+.1f})" for e in evidence if e.weight)
            lines.append(f"wrong {p:.3f}: {names.get(a)} [{a}] ~ {names.get(b)} [{b}]: {words}")
        for a, b in missed[:show]:
            lines.append(f"missed: {names.get(a)} [{a}] ~ {names.get(b)} [{b}]")
        figures["examples"] = lines
    return figures


def _demo_sources() -> list[str]:
    from rapport.customers.demo import CONTACT_SOURCES

    return [*CONTACT_SOURCES, "Trade show"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--db", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--show", type=int, default=0, help="wrong and missed pairs to print")
    parser.add_argument("--step", choices=["measure"], help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.step == "measure":
        print(json.dumps(step_measure(opts.show)))
        return

    env = common.fresh_env(WORK, PG_DB, opts.db)
    t0 = time.perf_counter()
    said = _manage(
        env,
        "demo",
        "--contacts",
        str(opts.contacts),
        "--accounts",
        str(opts.accounts),
        "--seed",
        str(opts.seed),
        "--no-progress",
    )
    t1 = time.perf_counter()
    scanned = _manage(env, "duplicates", "scan")
    t2 = time.perf_counter()
    figures = common.run_step(__file__, env, "--step", "measure", "--show", str(opts.show))
    figures.update(
        seed=opts.seed, db=opts.db, demo_seconds=round(t1 - t0, 1), scan_seconds=round(t2 - t1, 1)
    )
    print(said.splitlines()[0] if said else "")
    print(scanned.splitlines()[-1] if scanned else "")
    print(
        f"demo, seed {opts.seed}, {opts.db}: {figures['contacts']:,} contacts, "
        f"{figures['known_duplicates']} people entered twice (demo {figures['demo_seconds']} s, "
        f"scan {figures['scan_seconds']} s)"
    )
    for name, label in (
        ("review", f"review >= {figures['lower']}"),
        ("auto", f"auto >= {figures['upper']}"),
    ):
        x = figures[name]
        print(
            f"queue at {label}: {x['pairs']} pairs, {x['known']} known duplicates, "
            f"{x['different_people']} of two different people, {x['unknown']} unknown: "
            f"precision {x['precision']:.4f}, recall of the known duplicates {x['recall']:.4f}"
        )
    print(f"groups: {figures['clusters']}, mixing people: {figures['clusters_mixing_people']}")
    for line in figures.pop("examples", []):
        print("  " + line)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
