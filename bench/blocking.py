"""Blocking alone, rule by rule, on labelled records (never run as a test).

    .venv/bin/python bench/blocking.py --kind crm --records 10000
    .venv/bin/python bench/blocking.py --kind namesake --records 10000
    .venv/bin/python bench/blocking.py --kind synthetic --records 1000000

``crm`` and ``namesake`` are the labelled person records of ``bench/labelled.py``;
``synthetic`` the CRM contacts of ``bench/identity.py`` (e-mails, phones, employers). No
comparison and no model: it makes the blocks (``blocking.plan``), streams the pairs, and
prints

- the blocking recall: the share of true pairs that share a block, so get compared;
- per rule: its recall on its own, the true pairs only it brings, the pairs it produced
  (each pair is produced once, by the first rule that puts the two records together), its
  blocks compared, and its blocks too large to compare in full (split by second keys);
- the pairs compared in all and per record, checked to be distinct;
- the seconds of making the blocks and of streaming the pairs, and the peak memory.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from rapport.identity import blocking  # noqa: E402


def _records(kind: str, records: int, seed: int) -> tuple[list, set[tuple[int, int]]]:
    if kind == "synthetic":
        spec = importlib.util.spec_from_file_location(
            "bench_identity", ROOT / "bench" / "identity.py"
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.generate(records, 0.1, seed)
    from bench import labelled

    data = labelled.generate(kind, records, seed)
    return data.people, data.true_pairs()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=["crm", "namesake", "synthetic"], default="crm")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--max-block", type=int, default=blocking.MAX_BLOCK)
    parser.add_argument("--processes", type=int, default=1, help="processes planning the rules")
    parser.add_argument("--show", type=int, default=0, help="true pairs never compared to print")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    opts = parser.parse_args()

    t0 = time.perf_counter()
    people, truth = _records(opts.kind, opts.records, opts.seed)
    t1 = time.perf_counter()
    blocks = blocking.plan(people, max_block=opts.max_block, processes=opts.processes)
    t2 = time.perf_counter()
    pairs = 0
    truth_codes = {a << 32 | b for a, b in truth}
    compared_true = 0
    check_distinct = len(people) <= 200_000
    seen: set[int] = set()
    repeats = 0
    for a, b in blocks.pairs():
        pairs += 1
        code = a << 32 | b
        compared_true += code in truth_codes
        if check_distinct:
            if code in seen:
                repeats += 1
            seen.add(code)
    t3 = time.perf_counter()
    del seen
    alone: Counter[str] = Counter()
    only: Counter[str] = Counter()
    missed = []
    for a, b in truth:
        rules = blocks.rules_shared(a, b)
        alone.update(rules)
        if len(rules) == 1:
            only.update(rules)
        if not rules:
            missed.append((a, b))
    per_rule = {}
    for r, rule in enumerate(blocks.rules):
        per_rule[rule.name] = {
            "recall_alone": round(alone[rule.name] / len(truth), 4) if truth else 0.0,
            "only_this": only[rule.name],
            "pairs": blocks.produced[r],
            "blocks": sum(1 for k in blocks.rule_of if k == r),
            "split": blocks.oversized[r],
            "skipped": blocks.skipped[r],
        }
    figures = {
        "kind": opts.kind,
        "records": len(people),
        "true_pairs": len(truth),
        "max_block": opts.max_block,
        "blocking_recall": round(compared_true / len(truth), 4) if truth else 0.0,
        "pairs": pairs,
        "pairs_per_record": round(pairs / max(1, len(people)), 2),
        "repeats": repeats if check_distinct else None,
        "generate_s": round(t1 - t0, 1),
        "blocks_s": round(t2 - t1, 1),
        "pairs_s": round(t3 - t2, 1),
        "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rules": per_rule,
    }
    if not opts.json:
        print(
            f"{opts.kind}: {len(people):,} records, {len(truth):,} true pairs (generated in {t1 - t0:.1f} s)"
        )
        print(
            f"blocking recall {figures['blocking_recall']:.4f}; {pairs:,} pairs compared "
            f"({figures['pairs_per_record']} per record; repeated: {figures['repeats']}); "
            f"blocks made in {t2 - t1:.1f} s, pairs streamed in {t3 - t2:.1f} s; peak {figures['peak_mb']} MB"
        )
        print(f"  {'rule':15} {'alone':>7} {'only':>6} {'pairs':>11} {'blocks':>9} {'split':>6}")
        for name, f in per_rule.items():
            print(
                f"  {name:15} {f['recall_alone']:7.4f} {f['only_this']:6,} {f['pairs']:11,} {f['blocks']:9,} {f['split']:6,}"
            )
        for a, b in missed[: opts.show]:
            print("  never compared:", people[a], "|", people[b])
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
