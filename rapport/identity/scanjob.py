"""A duplicate scan over a whole kind of record: read, block, compare, fit, keep, cluster.

Full scan: every record is read once (``load``), blocking proposes the pairs worth
comparing (``blocking``), each pair gets its comparison vector, the Fellegi–Sunter model
is fitted on those vectors without labels and stored (the check before create and the
incremental scans reuse it), and the pairs at or above the review threshold become
candidates, grouped into clusters for the steward's queue.

Incremental scan: only records changed since the last finished scan are compared, with
the stored model. Few changes are looked up through the indexes like the check before
create; many are blocked in memory against everything.

A pair a steward marked "not a duplicate" is never proposed again, and a pair already
dismissed or merged keeps its status.
"""

from __future__ import annotations

import datetime as dt
import heapq
import logging
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from rapport.audit.models import Via
from rapport.audit.services import Actor
from rapport.customers.models import Account, Contact
from rapport.identity import blocking, check, load, registry
from rapport.identity import model as fs
from rapport.identity.models import Candidate, Cluster, Kind, MatchSettings, NotDuplicate, Scan
from rapport.identity.scan import U_SAMPLE, U_SEED

log = logging.getLogger(__name__)
# Up to this many changed records, an incremental scan looks each up through the indexes.
LOOKUP_LIMIT = 2000
_BATCH = 5000
# Fewer compared pairs than this do not say enough to estimate the model's weights.
MIN_FIT_PAIRS = 500


def _claim(scan_id: int) -> Scan | None:
    with transaction.atomic():
        scan = Scan.objects.select_for_update().filter(pk=scan_id).first()
        if scan is None or scan.state in (Scan.State.DONE, Scan.State.FAILED):
            return None
        stale = timezone.now() - dt.timedelta(minutes=10)
        if scan.state == Scan.State.RUNNING and scan.heartbeat and scan.heartbeat > stale:
            return None  # another worker has it
        scan.state, scan.started_at, scan.heartbeat = (
            Scan.State.RUNNING,
            timezone.now(),
            timezone.now(),
        )
        scan.save(update_fields=["state", "started_at", "heartbeat"])
    return scan


Progress = Callable[[Scan], None]
_listeners: dict[int, Progress] = {}


def _progress(scan: Scan, phase: str, **counts: int) -> None:
    scan.phase, scan.heartbeat = phase, timezone.now()
    for name, value in counts.items():
        setattr(scan, name, value)
    Scan.objects.filter(pk=scan.pk).update(phase=phase, heartbeat=scan.heartbeat, **counts)
    listener = _listeners.get(scan.pk)
    if listener is not None:
        listener(scan)


def run(scan_id: int, progress: Progress | None = None) -> Scan | None:
    """Run the scan ``scan_id`` (queued by ``scans.scan_start``); safe to call twice.
    ``progress`` is called with the scan at each phase (the command line prints it)."""
    scan = _claim(scan_id)
    if scan is None:
        return None
    if progress is not None:
        _listeners[scan.pk] = progress
    try:
        _run(scan)
    except Exception:
        log.exception("duplicate scan %s failed", scan.pk)
        Scan.objects.filter(pk=scan.pk).update(
            state=Scan.State.FAILED,
            finished_at=timezone.now(),
            error=traceback.format_exc(limit=5)[-4000:],
        )
        raise
    finally:
        _listeners.pop(scan.pk, None)
    scan.refresh_from_db()
    return scan


def _previous(scan: Scan) -> Scan | None:
    return (
        Scan.objects.filter(kind=scan.kind, state=Scan.State.DONE)
        .exclude(pk=scan.pk)
        .order_by("-started_at")
        .first()
    )


def _run(scan: Scan) -> None:
    kind = scan.kind
    conf = MatchSettings.objects.order_by("pk").first() or MatchSettings.objects.create()
    previous = _previous(scan)
    model_cls: Any = Contact if kind == Kind.CONTACT else Account
    changed: set[int] | None = None
    if (
        scan.mode == Scan.Mode.INCREMENTAL
        and previous is not None
        and previous.started_at is not None
    ):
        scan.since = previous.started_at
        Scan.objects.filter(pk=scan.pk).update(since=scan.since)
        changed = set(
            model_cls.objects.filter(updated_at__gte=scan.since).values_list("pk", flat=True)
        )
    if changed is None and kind == Kind.CONTACT:
        kept = _full_contact_scan(scan, conf)
    else:
        kept = _scan_records(scan, conf, changed)
    _progress(scan, "saving", candidates=len(kept))
    with transaction.atomic():
        _save_candidates(kind, kept, changed)
        clusters = _rebuild_clusters(kind, conf.lower)
    _progress(scan, "merging" if conf.auto_merge else "done", clusters=clusters)
    merged = _auto_merge(kind, conf) if conf.auto_merge else 0
    Scan.objects.filter(pk=scan.pk).update(
        state=Scan.State.DONE,
        phase="done",
        finished_at=timezone.now(),
        auto_merged=merged,
        heartbeat=timezone.now(),
    )


def _scan_records(scan: Scan, conf: MatchSettings, changed: set[int] | None) -> Kept:
    """Accounts, and incremental scans: records by id in memory. Few changed records are
    looked up through the indexes; a full scan fits and stores the model first."""
    kind = scan.kind
    if changed is not None and len(changed) <= LOOKUP_LIMIT:
        _progress(scan, "looking up", records=len(changed))
        records, pairs = _lookup_pairs(kind, changed)
    else:
        _progress(scan, "reading")
        records = dict(load.people() if kind == Kind.CONTACT else load.organisations())
        _progress(scan, "blocking", records=len(records))
        pairs = _block(kind, records, changed)
    _progress(scan, "comparing", pairs_compared=len(pairs))
    if changed is None:
        keys = sorted(records)
        sample = fs.sample_pairs(len(keys), U_SAMPLE, seed=U_SEED)
        fitted = fs.fit(
            list(check.fields_of(kind)),
            [check.vector_of(kind, records[a], records[b]) for a, b in pairs],
            u=fs.estimate_u(
                check.fields_of(kind),
                (check.vector_of(kind, records[keys[i]], records[keys[j]]) for i, j in sample),
            ),
            records=len(records),  # the prior: two records picked at random, as u
        )
        _store_model(conf, kind, fitted, len(pairs))
    model = check.current_model(kind, conf)
    _progress(scan, "scoring")
    return _keep(
        kind,
        conf,
        model,
        (((a, b), check.vector_of(kind, records[a], records[b], model)) for a, b in pairs),
    )


def _store_model(conf: MatchSettings, kind: str, fitted: fs.Model, pairs: int) -> None:
    """Keep the fitted model, unless too few pairs were compared to estimate weights from
    (a new or small database): then the starting weights go on being used."""
    if pairs < MIN_FIT_PAIRS:
        return
    # A new version: every process parses the new model once (see check.current_model).
    MatchSettings.objects.filter(pk=conf.pk).update(
        **{f"{kind}_model": fitted.to_json()}, version=F("version") + 1, updated_at=timezone.now()
    )
    conf.refresh_from_db(fields=["version", "updated_at"])


Kept = dict[tuple[int, int], tuple[float, float, list[int]]]


def _keep(
    kind: str,
    conf: MatchSettings,
    model: fs.Model,
    vectors: Iterable[tuple[tuple[int, int], tuple[int, ...]]],
) -> Kept:
    """The pairs at or above the review threshold that no steward has dismissed."""
    dismissed = set(NotDuplicate.objects.filter(kind=kind).values_list("left_id", "right_id"))
    kept: Kept = {}
    chance: dict[tuple[int, ...], tuple[float, float]] = {}
    for pair, vector in vectors:
        vector = check.masked(vector, kind, conf.disabled_fields, model.fields)
        if vector not in chance:
            chance[vector] = (model.probability(vector), model.score(vector))
        probability, bits = chance[vector]
        if probability >= conf.lower and pair not in dismissed:
            kept[pair] = (probability, bits, list(vector))
    return kept


def _full_contact_scan(scan: Scan, conf: MatchSettings) -> Kept:
    """Every contact in memory as compactly as the matching allows (``scan.scan_contacts``):
    positions, not ids, travel between the phases; pairs are kept as 64-bit numbers."""
    from array import array

    from rapport.identity import scan as matching

    _progress(scan, "reading")
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        # Read through the page cache, not the memory map: at a million contacts the mapped
        # pages were 0.9 GB of the process's memory while reading (1.74 GB in all, 0.86 GB
        # without). The connection is closed after reading; the next one maps again.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA mmap_size=0")
    ids = array("q")
    people = []
    for pk, person in load.people():
        ids.append(pk)
        people.append(person)
    # SQLite maps up to a gigabyte of the database file while reading every contact: those
    # pages count in this process's memory (and its forked workers') for the rest of the
    # scan unless the connection closes; the next query opens a new one.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        connection.close()
    _progress(scan, "comparing", records=len(people))
    result = matching.scan_contacts(people, processes=scan_processes())
    del people
    _store_model(conf, Kind.CONTACT, result.model, len(result))
    _progress(scan, "scoring", pairs_compared=len(result))
    vectors = (
        ((ids[code >> 32], ids[code & 0xFFFFFFFF]), result.vectors[vid])
        for code, vid in zip(result.pairs, result.vector_ids, strict=True)
    )
    return _keep(Kind.CONTACT, conf, check.current_model(Kind.CONTACT, conf), vectors)


def scan_processes() -> int:
    from django.conf import settings

    return int(getattr(settings, "IDENTITY_SCAN_PROCESSES", 1))


def _lookup_pairs(kind: str, changed: set[int]) -> tuple[dict[int, Any], set[tuple[int, int]]]:
    """Pairs of each changed record with the records its indexes point at."""
    loader = load.people if kind == Kind.CONTACT else load.organisations
    probes: dict[int, Any] = dict(loader(changed))
    pairs: set[tuple[int, int]] = set()
    for pk, probe in probes.items():
        others = (
            check.contact_ids_like(probe) if kind == Kind.CONTACT else check.account_ids_like(probe)
        )
        pairs |= {(min(pk, o), max(pk, o)) for o in others if o != pk}
    needed = {pk for pair in pairs for pk in pair} - set(probes)
    probes.update(loader(needed))
    return probes, pairs


def _block(kind: str, records: dict[int, Any], changed: set[int] | None) -> set[tuple[int, int]]:
    if kind == Kind.CONTACT:
        pairs = blocking.candidate_pairs(records.items())
    else:
        pairs = blocking.account_candidate_pairs(records.items())
    if changed is not None:
        pairs = {p for p in pairs if p[0] in changed or p[1] in changed}
    return set(pairs)


def _save_candidates(kind: str, kept: Kept, changed: set[int] | None) -> None:
    existing = {
        (c[1], c[2]): (c[0], c[3])
        for c in Candidate.objects.filter(kind=kind).values_list(
            "pk", "left_id", "right_id", "status"
        )
    }
    new = [
        Candidate(kind=kind, left_id=a, right_id=b, probability=p, score=s, vector=v)
        for (a, b), (p, s, v) in kept.items()
        if (a, b) not in existing
    ]
    for i in range(0, len(new), _BATCH):
        Candidate.objects.bulk_create(new[i : i + _BATCH])
    again = [
        Candidate(pk=existing[pair][0], probability=p, score=s, vector=v)
        for pair, (p, s, v) in kept.items()
        if pair in existing and existing[pair][1] == Candidate.Status.OPEN
    ]
    Candidate.objects.bulk_update(again, ["probability", "score", "vector"], batch_size=_BATCH)
    stale = [
        pk
        for pair, (pk, status) in existing.items()
        if status == Candidate.Status.OPEN
        and pair not in kept
        and (changed is None or pair[0] in changed or pair[1] in changed)
    ]
    for i in range(0, len(stale), _BATCH):
        Candidate.objects.filter(pk__in=stale[i : i + _BATCH]).delete()


def _components(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    parent: dict[int, int] = {}

    def root(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[int, list[int]] = {}
    for x in list(parent):
        groups.setdefault(root(x), []).append(x)
    return [sorted(g) for g in groups.values()]


# The most records one review group may hold: a steward compares them side by side, and
# the people of the labelled benchmarks have at most 20 records.
MAX_CLUSTER = 50


def _split(
    members: list[int], links: dict[int, dict[int, float]], lower: float, most: int
) -> list[list[int]]:
    """Average-linkage grouping of one connected component: repeatedly join the two groups
    whose records match each other best on average (a pair never compared, or below the
    review threshold, counts 0), while that average is at least ``lower`` and the joined
    group holds at most ``most`` records. So a record joins a group only if it matches, on
    average, at least half of its members surely; one strong link no longer chains two
    families together; ``_settle`` then moves records a greedy join put in the wrong group.
    Deterministic: ties go to the lowest ids."""
    inside = set(members)
    records: dict[int, list[int]] = {pk: [pk] for pk in members}
    # Between groups: the sum of their records' pair probabilities.
    between: dict[int, dict[int, float]] = {
        pk: {o: p for o, p in links.get(pk, {}).items() if o in inside} for pk in members
    }
    version = dict.fromkeys(members, 0)
    heap: list[tuple[float, int, int, int, int]] = []

    def push(a: int, b: int) -> None:
        x, y = (a, b) if a < b else (b, a)
        average = between[x][y] / (len(records[x]) * len(records[y]))
        if average >= lower and len(records[x]) + len(records[y]) <= most:
            heapq.heappush(heap, (-average, x, y, version[x], version[y]))

    for a in members:
        for b in between[a]:
            if a < b:
                push(a, b)
    while heap:
        _, x, y, vx, vy = heapq.heappop(heap)
        if x not in records or y not in records or version[x] != vx or version[y] != vy:
            continue  # a group since joined or grown: its pairs were pushed again
        records[x] += records.pop(y)
        for other, total in between.pop(y).items():
            if other == x:
                continue
            between[other].pop(y, None)
            between[x][other] = between[x].get(other, 0.0) + total
            between[other][x] = between[x][other]
        between[x].pop(y, None)
        del version[y]
        version[x] += 1
        for other in between[x]:
            push(x, other)
    return _settle(records, links, lower, most)


def _settle(
    records: dict[int, list[int]], links: dict[int, dict[int, float]], lower: float, most: int
) -> list[list[int]]:
    """Move single records to the group they belong with best, until none moves: joining
    greedily can take a link between two families before either family is whole (a record
    of one then sits with a record of the other). A record's pull towards a group is the
    sum over its members of (probability - ``lower``), a pair not kept counting -``lower``
    (the correlation-clustering objective); it moves where the pull is strongest if that
    beats staying, or stands alone if every pull is negative. Each move raises the
    objective, so this ends."""
    group_of = {pk: g for g, members in records.items() for pk in members}
    size = {g: len(members) for g, members in records.items()}
    for _ in range(20):
        moved = False
        for pk in sorted(group_of):
            home = group_of[pk]
            pull: dict[int, float] = {}
            for other, p in links.get(pk, {}).items():
                g = group_of.get(other)
                if g is not None:
                    pull[g] = pull.get(g, 0.0) + p
            stay = pull.get(home, 0.0) - lower * (size[home] - 1)
            best, gain = home, stay
            if size[home] > 1 and gain < 0:
                best, gain = -pk - 1, 0.0  # alone: a group of its own, named apart from ids
            for g, total in sorted(pull.items()):
                if g == home or size[g] + 1 > most:
                    continue
                value = total - lower * size[g]
                if value > gain + 1e-9:
                    best, gain = g, value
            if best != home:
                size[home] -= 1
                size[best] = size.get(best, 0) + 1
                group_of[pk] = best
                moved = True
        if not moved:
            break
    groups: dict[int, list[int]] = {}
    for pk, g in group_of.items():
        groups.setdefault(g, []).append(pk)
    return [sorted(g) for g in groups.values()]


def review_clusters(
    edges: Iterable[tuple[int, int, float]],
    *,
    lower: float,
    upper: float = 1.0,
    most: int = MAX_CLUSTER,
) -> list[list[int]]:
    """The review groups of the kept pairs (a, b, probability), each pair once: each
    connected component split by ``_split``; groups of one record are left out. Sorted,
    largest first, then by lowest id. A component whose records all match each other at
    ``lower`` or above is one group as it is (most are: two or three records), so only the
    others are held as links. ``upper`` is accepted so callers pass both thresholds; the
    grouping itself needs only ``lower``."""
    pairs = [(a, b, p) if a < b else (b, a, p) for a, b, p in edges if a != b]
    components = _components((a, b) for a, b, _ in pairs)
    component_of = {pk: i for i, members in enumerate(components) for pk in members}
    count = [0] * len(components)
    weakest = [1.0] * len(components)
    for a, _, p in pairs:
        i = component_of[a]
        count[i] += 1
        weakest[i] = min(weakest[i], p)
    out: list[list[int]] = []
    split: set[int] = set()
    for i, members in enumerate(components):
        k = len(members)
        if count[i] == k * (k - 1) // 2 and weakest[i] >= lower and k <= most:
            out.append(members)
        else:
            split.add(i)
    links: dict[int, dict[int, float]] = {}
    for a, b, p in pairs:
        if component_of[a] in split:
            links.setdefault(a, {})[b] = max(p, links.get(a, {}).get(b, 0.0))
            links.setdefault(b, {})[a] = links[a][b]
    del pairs, component_of
    for i in sorted(split):
        out += [g for g in _split(components[i], links, lower, most) if len(g) > 1]
    return sorted(out, key=lambda g: (-len(g), g[0]))


def _rebuild_clusters(kind: str, lower: float | None = None) -> int:
    """Group the open pairs into review clusters (``review_clusters``); a cluster with the
    same records as before keeps its assignee and its skipped state. A pair whose two
    records end in different groups belongs to no cluster: the steward is not asked about
    it until a later scan joins them."""
    if lower is None:
        conf = check.match_settings()
        lower = conf.lower
    open_pairs = list(
        Candidate.objects.filter(kind=kind, status=Candidate.Status.OPEN).values_list(
            "pk", "left_id", "right_id", "probability", "cluster_id"
        )
    )
    groups = review_clusters([(a, b, p) for _, a, b, p, _ in open_pairs], lower=lower)
    old = {
        tuple(c.record_ids): c
        for c in Cluster.objects.filter(kind=kind).exclude(status=Cluster.Status.DONE)
    }
    values = registry.REGISTRY.values(kind, sorted({pk for g in groups for pk in g}))
    best: dict[int, float] = {}
    member_of = {pk: i for i, g in enumerate(groups) for pk in g}
    for _, a, b, p, _ in open_pairs:
        if a in member_of and member_of[a] == member_of.get(b):
            best[member_of[a]] = max(best.get(member_of[a], 0.0), p)
    keep: list[Cluster] = []
    create: list[Cluster] = []
    for i, group in enumerate(groups):
        value = max((values.get(pk, 0.0) for pk in group), default=0.0)
        cluster = old.pop(tuple(group), None)
        if cluster is not None:
            cluster.score, cluster.value = best.get(i, 0.0), value
            keep.append(cluster)
        else:
            create.append(
                Cluster(
                    kind=kind,
                    record_ids=group,
                    size=len(group),
                    score=best.get(i, 0.0),
                    value=value,
                )
            )
    Cluster.objects.bulk_update(keep, ["score", "value"], batch_size=_BATCH)
    Cluster.objects.filter(pk__in=[c.pk for c in old.values()]).delete()
    for j in range(0, len(create), _BATCH):
        Cluster.objects.bulk_create(create[j : j + _BATCH])
    cluster_of: dict[int, int] = {}
    for c in [*keep, *create]:
        for pk in c.record_ids:
            cluster_of[pk] = c.pk
    by_cluster: dict[int | None, list[int]] = {}
    for pk, a, b, _, now in open_pairs:
        target = cluster_of.get(a) if cluster_of.get(a) == cluster_of.get(b) else None
        if target != now:
            by_cluster.setdefault(target, []).append(pk)
    for cluster_pk, pair_pks in by_cluster.items():
        for j in range(0, len(pair_pks), _BATCH):
            Candidate.objects.filter(pk__in=pair_pks[j : j + _BATCH]).update(cluster_id=cluster_pk)
    return len(groups)


def _auto_merge(kind: str, conf: MatchSettings) -> int:
    """Merge the clusters whose every pair is at or above the automatic threshold."""
    from rapport.identity import selectors, services

    actor = Actor(user=None, via=Via.AUTOMATION, context={"auto_merge": True})
    merged = 0
    for cluster in Cluster.objects.filter(kind=kind, status=Cluster.Status.OPEN):
        probabilities = list(
            Candidate.objects.filter(cluster=cluster, status=Candidate.Status.OPEN).values_list(
                "probability", flat=True
            )
        )
        if not probabilities or min(probabilities) < conf.upper:
            continue
        records = selectors.records_for_merge(actor=None, kind=kind, ids=list(cluster.record_ids))
        survivor = selectors.suggest_survivor(records)
        services.records_merge(
            actor=actor,
            kind=kind,
            survivor_id=survivor.pk,
            merged_ids=[r.pk for r in records if r.pk != survivor.pk],
        )
        Cluster.objects.filter(pk=cluster.pk).update(status=Cluster.Status.DONE)
        merged += 1
    return merged
