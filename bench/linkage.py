"""Duplicate detection on labelled person records of two kinds (never run as a test).

    .venv/bin/python bench/linkage.py --kind crm --records 10000 --seed 1
    .venv/bin/python bench/linkage.py --kind namesake --records 10000 --seed 1

The records come from ``bench/labelled.py`` (deterministic by seed, in memory): ``crm`` is
like the public person-record linkage sets (names, address, date of birth, customer number;
no e-mail or phone), ``namesake`` like historical records full of people sharing names.
The harness runs the code a full scan runs (``rapport.identity.scan.scan_contacts``:
blocking, comparing, fitting the model without labels), scores the compared pairs as the
scan job keeps them (the stored model, the thresholds of a new ``MatchSettings``: never
tuned on the truth), groups them into review clusters as the scan job does, and prints:

- records, people, true pairs, candidate pairs compared (and repeats), blocking recall
  (the share of true pairs that were compared at all);
- precision, recall and F1 of the pairs at the review threshold and at the automatic one;
- clusters: how many, the largest, the pairs they imply against the truth (precision,
  recall, F1), the share of people with several records found exactly as one cluster;
- seconds per phase (block, compare, fit, score, cluster) and the peak memory;
- with ``--show N``, N missed pairs (never compared, or scored too low) and N wrong ones.

The last line is the figures as JSON (``--json`` prints only that).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rapport.settings")

import django  # noqa: E402

django.setup()

from bench import labelled  # noqa: E402
from rapport.identity import check, scanjob  # noqa: E402
from rapport.identity import model as fs  # noqa: E402
from rapport.identity import scan as matching  # noqa: E402
from rapport.identity.compare import VECTOR_FIELDS, describe  # noqa: E402
from rapport.identity.models import Kind, MatchSettings  # noqa: E402


class Phases:
    """Seconds spent inside the blocking generator and the fitting functions of a scan,
    measured by wrapping them where ``scan_contacts`` looks them up; comparing is the rest."""

    def __init__(self) -> None:
        self.block = 0.0
        self.fit = 0.0

    @contextmanager
    def watching(self, *, every_pair: bool = False) -> Iterator[None]:
        saved: list[tuple[Any, str, Any]] = []

        def wrap(owner: Any, name: str, make: Callable[[Any], Any]) -> None:
            original = getattr(owner, name, None)
            if original is not None:
                saved.append((owner, name, original))
                setattr(owner, name, make(original))

        def timed_generator(original: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
                it = iter(original(*args, **kwargs))
                while True:
                    t = time.perf_counter()
                    try:
                        item = next(it)
                    except StopIteration:
                        self.block += time.perf_counter() - t
                        return
                    self.block += time.perf_counter() - t
                    yield item

            return wrapper

        def timed_call(original: Any) -> Any:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                t = time.perf_counter()
                try:
                    return original(*args, **kwargs)
                finally:
                    self.fit += time.perf_counter() - t

            return wrapper

        def all_pairs(original: Any) -> Any:
            def pairs(records: Any, *args: Any, **kwargs: Any) -> Iterator[tuple[int, int]]:
                n = len(records)
                return ((i, j) for i in range(n) for j in range(i + 1, n))

            return timed_generator(pairs)

        wrap(matching, "iter_candidate_pairs", all_pairs if every_pair else timed_generator)
        wrap(fs, "estimate_u", timed_call)  # includes comparing the random pairs
        wrap(fs, "fit", timed_call)
        try:
            yield
        finally:
            for owner, name, original in reversed(saved):
                setattr(owner, name, original)


def _default_settings() -> MatchSettings:
    """A new installation's thresholds (the model fields' defaults), without a database."""
    return MatchSettings()


def _stored_model(result: matching.ScanResult) -> fs.Model:
    """The model the scan job would store and score with: the fitted one, through JSON,
    or the starting weights when too few pairs were compared to fit."""
    if len(result) < scanjob.MIN_FIT_PAIRS:
        return check.cold_start(Kind.CONTACT)
    return fs.Model.from_json(json.loads(json.dumps(result.model.to_json())))


def _clusterers() -> list[tuple[str, Callable[..., list[list[int]]]]]:
    """What the scan job groups the kept pairs with, and plain connected components."""
    components = (
        "connected components",
        lambda edges, **_: scanjob._components([(a, b) for a, b, _ in edges]),
    )
    split = getattr(scanjob, "review_clusters", None)
    return [("review clusters", split), components] if split is not None else [components]


def prf(found: int, right: int, truth: int) -> tuple[float, float, float]:
    precision = right / found if found else 0.0
    recall = right / truth if truth else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def cluster_figures(
    clusters: list[list[int]], entity: list[int], truth: int
) -> dict[str, float | int]:
    """Pairs implied by the clusters against the true pairs, and exact people found."""
    implied = right = 0
    exact = 0
    people = Counter(entity)
    mixed = 0
    for group in clusters:
        implied += len(group) * (len(group) - 1) // 2
        counts = Counter(entity[i] for i in group)
        right += sum(c * (c - 1) // 2 for c in counts.values())
        if len(counts) > 1:
            mixed += 1
        elif len(group) == people[entity[group[0]]]:
            exact += 1
    several = sum(1 for n in people.values() if n > 1)
    p, r, f = prf(implied, right, truth)
    return {
        "clusters": len(clusters),
        "largest": max((len(g) for g in clusters), default=0),
        "mixed": mixed,
        "pair_precision": round(p, 4),
        "pair_recall": round(r, 4),
        "pair_f1": round(f, 4),
        "people_exact": round(exact / several, 4) if several else 0.0,
    }


def _why(vector: tuple[int, ...] | None, fields: list[str] | None = None) -> str:
    """The evidence in words, the identifying fields (date of birth, customer number)
    included: the model's fields name them."""
    if vector is None:
        return "never compared"
    return "; ".join(
        describe(f, lv)
        for f, lv in zip(fields or VECTOR_FIELDS, vector, strict=False)
        if not f.endswith("_rarity") and lv != -1
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kind", choices=labelled.KINDS, default="crm")
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--processes", type=int, default=1, help="forked workers comparing pairs")
    parser.add_argument("--show", type=int, default=0, help="missed and wrong pairs to print")
    parser.add_argument("--json", action="store_true", help="print only the JSON line")
    parser.add_argument(
        "--all-pairs",
        action="store_true",
        help="compare every pair instead of blocking (a few thousand records): the model "
        "and the clusters without blocking's misses",
    )
    opts = parser.parse_args()
    say = (lambda *a: None) if opts.json else print

    t0 = time.perf_counter()
    data = labelled.generate(opts.kind, opts.records, opts.seed)
    truth = data.true_pairs()
    generated = time.perf_counter() - t0
    rss_generated = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    phases = Phases()
    t1 = time.perf_counter()
    with phases.watching(every_pair=opts.all_pairs):
        result = matching.scan_contacts(data.people, processes=opts.processes)
    scanned = time.perf_counter() - t1

    # Score as the scan job keeps pairs (scanjob._keep): the stored model, masked fields.
    t2 = time.perf_counter()
    conf = _default_settings()
    model = _stored_model(result)
    chance = [
        model.probability(check.masked(v, Kind.CONTACT, conf.disabled_fields))
        for v in result.vectors
    ]
    review: dict[tuple[int, int], float] = {}
    for code, vid in zip(result.pairs, result.vector_ids, strict=True):
        if chance[vid] >= conf.lower:
            review[(code >> 32, code & 0xFFFFFFFF)] = chance[vid]
    scored = time.perf_counter() - t2

    edges = [(a, b, p) for (a, b), p in review.items()]
    grouped: list[tuple[str, list[list[int]], float]] = []
    for how, clusterer in _clusterers():
        t3 = time.perf_counter()
        found = clusterer(edges, lower=conf.lower, upper=conf.upper)
        grouped.append((how, [g for g in found if len(g) > 1], time.perf_counter() - t3))
    clustered = grouped[0][2]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    compared = Counter(result.pairs)
    truth_codes = {a << 32 | b for a, b in truth}
    blocked = sum(1 for c in truth_codes if c in compared)
    auto = {pair for pair, p in review.items() if p >= conf.upper}
    figures: dict[str, Any] = {
        "kind": opts.kind,
        "records": len(data.people),
        "people": len(set(data.entity)),
        "seed": opts.seed,
        "true_pairs": len(truth),
        "pairs_compared": len(compared),
        "pairs_repeated": len(result) - len(compared),
        "blocking_recall": round(blocked / len(truth), 4) if truth else 0.0,
        "lower": conf.lower,
        "upper": conf.upper,
    }
    for name, found in (("review", set(review)), ("auto", auto)):
        p, r, f = prf(len(found), len(found & truth), len(truth))
        figures[name] = {
            "pairs": len(found),
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(f, 4),
        }
    figures["clusters"] = {
        how: cluster_figures(groups, data.entity, len(truth)) for how, groups, _ in grouped
    }
    # The scan's own clock when it keeps one (blocks made apart from the comparing, which
    # the wrapped generator no longer sees); else the wrapped functions'.
    timings = getattr(result, "timings", None) or {}
    block = timings.get("blocks", phases.block)
    fit = timings.get("fit", phases.fit)
    compare_seconds = timings.get("compare", max(0.0, scanned - block - fit))
    figures["seconds"] = {
        "generate": round(generated, 2),
        "block": round(block, 2),
        "compare": round(compare_seconds, 2),
        "fit": round(fit, 2),
        "score": round(scored, 2),
        "cluster": round(clustered, 2),
    }
    figures["peak_mb"] = round(peak)
    figures["generated_mb"] = round(rss_generated)
    figures["worker_mb"] = round(workers)

    sizes = data.sizes()
    say(
        f"{opts.kind}, seed {opts.seed}: {len(data.people):,} records of {figures['people']:,} people "
        f"(records per person: {', '.join(f'{k}: {sizes[k]}' for k in sorted(sizes))})"
    )
    say(
        f"true pairs {len(truth):,}; pairs compared {len(compared):,} "
        f"(+{figures['pairs_repeated']:,} repeated); blocking recall {figures['blocking_recall']:.4f}"
    )
    say(
        f"model: prior {model.prior:.4f}, {model.iterations} EM iterations, "
        f"{len(result.vectors)} distinct vectors"
    )
    for name, label in (("review", f"review >= {conf.lower}"), ("auto", f"auto >= {conf.upper}")):
        x = figures[name]
        say(
            f"pairs at {label}: {x['pairs']:,} found, precision {x['precision']:.4f}, "
            f"recall {x['recall']:.4f}, F1 {x['f1']:.4f}"
        )
    for how, c in figures["clusters"].items():
        say(
            f"clusters ({how}): {c['clusters']:,}, largest {c['largest']}, {c['mixed']} with "
            f"several people; pairs precision {c['pair_precision']:.4f}, recall "
            f"{c['pair_recall']:.4f}, F1 {c['pair_f1']:.4f}; people found exactly {c['people_exact']:.4f}"
        )
    s = figures["seconds"]
    say(
        f"seconds: generate {s['generate']}, block {s['block']}, compare {s['compare']}, "
        f"fit {s['fit']}, score {s['score']}, cluster {s['cluster']}; "
        f"peak memory {peak:.0f} MB (after generating {rss_generated:.0f} MB, "
        f"largest worker {workers:.0f} MB)"
    )
    if opts.show:
        position = {code: k for k, code in enumerate(result.pairs)}
        missed = sorted(truth - set(review))
        unblocked = [p for p in missed if (p[0] << 32 | p[1]) not in position]
        low = [p for p in missed if (p[0] << 32 | p[1]) in position]
        wrong = sorted(set(review) - truth, key=lambda p: -review[p])
        for title, pairs in (("never compared", unblocked), ("scored low", low), ("wrong", wrong)):
            say(f"-- {title}: {len(pairs):,}")
            for a, b in pairs[: opts.show]:
                k = position.get(a << 32 | b)
                v = result.vector(k) if k is not None else None
                p = model.probability(v) if v is not None else 0.0
                say(f"  {data.people[a]}\n  {data.people[b]}\n    {p:.3f}: {_why(v, model.fields)}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
