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
import logging
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
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
        clusters = _rebuild_clusters(kind)
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
        vector = check.masked(vector, kind, conf.disabled_fields)
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
    ids = array("q")
    people = []
    for pk, person in load.people():
        ids.append(pk)
        people.append(person)
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


def _components(pairs: list[tuple[int, int]]) -> list[list[int]]:
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


def _rebuild_clusters(kind: str) -> int:
    """Group the open pairs into clusters; a cluster with the same records as before keeps
    its assignee and its skipped state."""
    open_pairs = list(
        Candidate.objects.filter(kind=kind, status=Candidate.Status.OPEN).values_list(
            "pk", "left_id", "right_id", "probability"
        )
    )
    groups = _components([(a, b) for _, a, b, _ in open_pairs])
    old = {
        tuple(c.record_ids): c
        for c in Cluster.objects.filter(kind=kind).exclude(status=Cluster.Status.DONE)
    }
    values = registry.REGISTRY.values(kind, sorted({pk for g in groups for pk in g}))
    best: dict[int, float] = {}
    member_of = {pk: i for i, g in enumerate(groups) for pk in g}
    for _, a, _, p in open_pairs:
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
    by_cluster: dict[int, list[int]] = {}
    for pk, a, _, _ in open_pairs:
        by_cluster.setdefault(cluster_of[a], []).append(pk)
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
