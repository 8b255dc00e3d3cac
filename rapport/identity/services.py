"""Writes of identity resolution: merge, unmerge, the steward's decisions, settings.

A merge folds records into one survivor: the survivor's fields are chosen field by field
(survivorship rules, or the steward's choice), every registered relation moves onto the
survivor (``registry``), the merged-away records are deleted, and their ids keep
resolving to the survivor (``MergedId``). Everything an unmerge needs is kept in the
``Merge`` row, so any merge can be undone later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, Field, Q
from django.utils import timezone

from rapport.audit.models import AuditEntry
from rapport.audit.services import Actor, audit_record
from rapport.core.errors import Conflict, NotFound, ValidationFailed, VersionConflict
from rapport.customers import services as customer_services
from rapport.customers.models import Account, Contact
from rapport.identity.models import (
    Candidate,
    Cluster,
    Kind,
    MatchSettings,
    Merge,
    MergedId,
    NotDuplicate,
    Rule,
)
from rapport.identity.registry import REGISTRY, row_values, rows_restore
from rapport.identity.survivorship import field_value, merge_fields, settings_get, winners
from rapport.users import permissions
from rapport.users.models import RecordKind


def model_of(kind: str) -> type[Contact] | type[Account]:
    if kind == Kind.CONTACT:
        return Contact
    if kind == Kind.ACCOUNT:
        return Account
    raise NotFound(f"No such kind of record: {kind}.")


def require_steward(user: Any, action: str = "change") -> None:
    """Merging and deciding on duplicates is for roles with rights on duplicates
    (data stewards and admins by default)."""
    permissions.require(user, action, RecordKind.DUPLICATE)  # type: ignore[arg-type]


def _apply(obj: Contact | Account, name: str, value: Any) -> None:
    if name.startswith("custom."):
        custom = dict(obj.custom or {})
        if value is None:
            custom.pop(name[7:], None)
        else:
            custom[name[7:]] = value
        obj.custom = custom
    elif name in ("owner", "parent"):
        setattr(obj, f"{name}_id", value)
    else:
        setattr(obj, name, value)


def _derived(obj: Contact | Account) -> None:
    customer_services._normalize_record(obj)


# --- merge ------------------------------------------------------------------------------


def _lock_all(
    kind: str, ids: list[int], expected: dict[int, int] | None
) -> dict[int, Contact | Account]:
    model = model_of(kind)
    found = {
        o.pk: o
        for o in model._default_manager.select_for_update()
        .filter(pk__in=sorted(ids))
        .order_by("pk")
    }
    for pk in ids:
        if pk not in found:
            raise NotFound(f"No such {kind}: {pk} (it may have been merged or deleted).")
        want = (expected or {}).get(pk)
        if want is not None and found[pk].version != want:
            raise VersionConflict(
                f"{kind.title()} {pk} was changed by someone else (now version {found[pk].version}, "
                f"you had {want}). Review the records again before merging.",
                current_version=found[pk].version,
            )
    return found


def records_merge(
    *,
    actor: Actor,
    kind: str,
    survivor_id: int,
    merged_ids: Iterable[int],
    choices: dict[str, int] | None = None,
    expected_versions: dict[int, int] | None = None,
) -> Merge:
    """Merge ``merged_ids`` into ``survivor_id``.

    Rules enforced: only roles with rights on duplicates merge, and they must be able to
    change every record involved; a stale ``expected_versions`` entry changes nothing;
    each field takes the value its survivorship rule (or the steward's choice) picks, and a
    choice is refused on a field the steward's role may not edit (or see);
    every registered relation moves to the survivor and nothing is deleted that an
    unmerge could not put back.
    """
    require_steward(actor.user)
    merged = sorted({int(i) for i in merged_ids} - {int(survivor_id)})
    if not merged:
        raise ValidationFailed(
            "Choose at least one record to merge into the survivor.",
            errors={"merged_ids": ["No other record given."]},
        )
    if REGISTRY.unregistered():
        raise Conflict(
            "Some records point at customers without saying how they move on a merge: "
            + ", ".join(REGISTRY.unregistered())
        )
    model = model_of(kind)
    fields = merge_fields(kind)
    unknown = set(choices or {}) - set(fields)
    if unknown:
        raise ValidationFailed(
            "Some choices name unknown fields.",
            errors={k: ["Unknown field."] for k in sorted(unknown)},
        )
    # The customers app's field rule: a steward may pick only values of fields their role
    # may edit; the others follow the survivorship rules like any field left as suggested.
    access = permissions.field_access(actor.user, kind)
    refused = sorted(k for k in choices or {} if not access.can_edit(k))
    if refused:
        raise ValidationFailed(
            "Your role may not choose the value of some fields.",
            errors={
                k: ["Your role may not edit this field: its survivorship rule decides."]
                for k in refused
            },
        )
    conf = settings_get()
    rules = conf.contact_rules if kind == Kind.CONTACT else conf.account_rules
    with transaction.atomic():
        locked = _lock_all(kind, [survivor_id, *merged], expected_versions)
        for obj in locked.values():
            permissions.require_record(actor.user, "change", kind, obj)
        survivor = locked[survivor_id]
        others = [locked[pk] for pk in merged]
        records = [survivor, *others]
        snapshots = {str(o.pk): row_values(o) for o in others}
        before: dict[str, Any] = {}
        after: dict[str, Any] = {}
        for name, winner in winners(kind, records, rules, conf.source_ranking, choices).items():
            old, new = field_value(survivor, name), field_value(winner, name)
            if name == "parent" and new in merged:
                new = None  # an account cannot become its own parent
            if old != new:
                before[name], after[name] = old, new
                _apply(survivor, name, new)
        if isinstance(survivor, Account) and survivor.parent_id in merged:
            before.setdefault("parent", survivor.parent_id)
            after["parent"] = survivor.parent_id = None
        _derived(survivor)
        survivor.version += 1
        survivor.save()
        merge = Merge.objects.create(
            kind=kind,
            survivor_id=survivor_id,
            merged_ids=merged,
            actor=actor.user if getattr(actor.user, "pk", None) else None,
            actor_name=actor.name,
            via=actor.via,
            choices={k: int(v) for k, v in (choices or {}).items()},
            records=snapshots,
            survivor_before=_plain(before),
            survivor_after=_plain(after),
        )
        journal = [rel.move(survivor_id, pk) for rel in REGISTRY.for_kind(kind) for pk in merged]
        # Earlier merges into a record merged now resolve straight to the new survivor.
        repointed = list(
            MergedId.objects.filter(kind=kind, survivor_id__in=merged).values_list(
                "pk", "survivor_id"
            )
        )
        MergedId.objects.filter(pk__in=[pk for pk, _ in repointed]).update(survivor_id=survivor_id)
        journal.append({"relation": "aliases", "repointed": repointed})
        merge.journal = journal
        merge.save(update_fields=["journal"])
        MergedId.objects.bulk_create(
            [MergedId(kind=kind, old_id=pk, survivor_id=survivor_id, merge=merge) for pk in merged]
        )
        model._default_manager.filter(pk__in=merged).delete()
        REGISTRY.rebuild(kind, [survivor_id])
        _queue_after_merge(kind, survivor_id, merged)
        changes = {k: [before[k], after[k]] for k in before}
        changes["merged"] = [None, merged]
        audit_record(
            actor=actor,
            action=AuditEntry.Action.MERGE,
            entity_kind=kind,
            entity_id=survivor_id,
            obj=survivor,
            changes=_plain(changes),
        )
        for obj in others:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.MERGE,
                entity_kind=kind,
                entity_id=obj.pk,
                object_kind=kind,
                object_id=obj.pk,
                changes={"merged_into": [None, survivor_id]},
            )
    return merge


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in values.items():
        out[k] = v.isoformat() if isinstance(v, dt.date | dt.datetime) else v
    return out


def _queue_after_merge(kind: str, survivor_id: int, merged: list[int]) -> None:
    """Pairs inside the merge are settled; pairs of a merged record with a third one now
    concern the survivor (the next scan re-scores them), and clusters shrink."""
    gone = set(merged)
    inside = gone | {survivor_id}
    pairs = Candidate.objects.filter(kind=kind).filter(
        Q(left_id__in=gone)
        | Q(right_id__in=gone)
        | Q(left_id=survivor_id)
        | Q(right_id=survivor_id)
    )
    settled = [c.pk for c in pairs if c.left_id in inside and c.right_id in inside]
    Candidate.objects.filter(pk__in=settled).update(status=Candidate.Status.MERGED)
    Candidate.objects.filter(kind=kind, status=Candidate.Status.OPEN).filter(
        Q(left_id__in=gone) | Q(right_id__in=gone)
    ).delete()
    for cluster in Cluster.objects.filter(
        kind=kind, status__in=[Cluster.Status.OPEN, Cluster.Status.SKIPPED]
    ):
        ids = set(cluster.record_ids)
        if not ids & gone:
            continue
        remaining = sorted((ids - gone) | {survivor_id})
        cluster.record_ids, cluster.size = remaining, len(remaining)
        if len(remaining) < 2:
            cluster.status = Cluster.Status.DONE
        cluster.save(update_fields=["record_ids", "size", "status", "updated_at"])


# --- unmerge ----------------------------------------------------------------------------


def merge_undo(*, actor: Actor, merge: Merge, remember_not_duplicate: bool = True) -> Merge:
    """Undo a merge: each merged-away record comes back with its id and values, every
    moved row goes back to it, and the survivor's fields the merge changed return to
    their old values, unless someone changed them since: those keep today's value and
    are listed in ``merge.conflicts`` for the steward.
    """
    require_steward(actor.user)
    model = model_of(merge.kind)
    with transaction.atomic():
        merge = Merge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise Conflict(f"Merge {merge.pk} was already undone.")
        later = (
            MergedId.objects.filter(kind=merge.kind, old_id=merge.survivor_id)
            .select_related("merge")
            .first()
        )
        if later is not None:
            raise Conflict(
                f"The survivor {merge.survivor_id} was itself merged into {later.survivor_id} later "
                f"(merge {later.merge_id}): undo that merge first."
            )
        survivor = _lock_all(merge.kind, [merge.survivor_id], None)[merge.survivor_id]
        permissions.require_record(actor.user, "change", merge.kind, survivor)
        back = [int(pk) for pk in merge.merged_ids]
        if model._default_manager.filter(pk__in=back).exists():
            raise Conflict("A merged record's id is in use again; this merge cannot be undone.")
        conflicts: list[str] = []
        # The records first (rows point at them), then the relations in reverse.
        rows_restore(model, [merge.records[str(pk)] for pk in back])
        relations = {r.name: r for r in REGISTRY.for_kind(merge.kind)}
        for entry in reversed(merge.journal):
            if entry["relation"] == "aliases":
                for pk, old_survivor in entry["repointed"]:
                    MergedId.objects.filter(pk=pk).update(survivor_id=old_survivor)
                continue
            relation = relations.get(entry["relation"])
            if relation is None:
                conflicts.append(
                    f"{entry['relation']} is no longer registered: its rows stay on the survivor"
                )
                continue
            conflicts += relation.restore(merge.survivor_id, entry)
        MergedId.objects.filter(merge=merge).delete()
        before: dict[str, Any] = {}
        restored: dict[str, Any] = {}
        for name, new in merge.survivor_after.items():
            current = _plain({name: field_value(survivor, name)})[name]
            if current == new:
                before[name] = current
                restored[name] = merge.survivor_before.get(name)
                _apply(survivor, name, _typed(model, name, restored[name]))
            else:
                conflicts.append(
                    f"{name.replace('_', ' ')} was changed since the merge (now {current!r}): kept"
                )
        if restored:
            _derived(survivor)
        survivor.version += 1
        survivor.save()
        REGISTRY.rebuild(merge.kind, [merge.survivor_id, *back])
        merge.undone_at = timezone.now()
        merge.undone_by = actor.user if getattr(actor.user, "pk", None) else None
        merge.conflicts = conflicts
        merge.save(update_fields=["undone_at", "undone_by", "conflicts"])
        Candidate.objects.filter(
            kind=merge.kind,
            status=Candidate.Status.MERGED,
            left_id__in=[merge.survivor_id, *back],
            right_id__in=[merge.survivor_id, *back],
        ).update(
            status=Candidate.Status.DISMISSED if remember_not_duplicate else Candidate.Status.OPEN
        )
        if remember_not_duplicate:
            _remember(merge.kind, [(merge.survivor_id, pk) for pk in back], actor)
        changes = {k: [before[k], restored[k]] for k in restored}
        changes["unmerged"] = [None, back]
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UNMERGE,
            entity_kind=merge.kind,
            entity_id=merge.survivor_id,
            obj=survivor,
            changes=_plain(changes),
        )
        for pk in back:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UNMERGE,
                entity_kind=merge.kind,
                entity_id=pk,
                object_kind=merge.kind,
                object_id=pk,
                changes={"restored_from": [merge.survivor_id, None]},
            )
    return merge


def _typed(model: type[Contact] | type[Account], name: str, value: Any) -> Any:
    if name.startswith("custom.") or value is None:
        return value
    field = model._meta.get_field(name)
    return field.to_python(value) if isinstance(field, Field) else value


# --- decisions --------------------------------------------------------------------------


def _ordered(a: int, b: int) -> tuple[int, int]:
    return (a, b) if a < b else (b, a)


def _remember(kind: str, pairs: list[tuple[int, int]], actor: Actor) -> None:
    user = actor.user if getattr(actor.user, "pk", None) else None
    NotDuplicate.objects.bulk_create(
        [
            NotDuplicate(kind=kind, left_id=a, right_id=b, decided_by=user)
            for a, b in (_ordered(*p) for p in pairs)
        ],
        ignore_conflicts=True,
    )


def not_duplicate_mark(*, actor: Actor, kind: str, record_ids: list[int]) -> int:
    """The records are different customers: every pair among them is remembered and never
    proposed again; their open candidates and cluster are closed. Returns pairs marked."""
    require_steward(actor.user)
    ids = sorted({int(i) for i in record_ids})
    if len(ids) < 2:
        raise ValidationFailed(
            "Name at least two records.", errors={"record_ids": ["At least two records."]}
        )
    pairs = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1 :]]
    with transaction.atomic():
        _remember(kind, pairs, actor)
        for a, b in pairs:
            Candidate.objects.filter(kind=kind, left_id=a, right_id=b).update(
                status=Candidate.Status.DISMISSED
            )
        for cluster in (
            Cluster.objects.select_for_update()
            .filter(kind=kind)
            .exclude(status=Cluster.Status.DONE)
        ):
            if set(ids) <= set(cluster.record_ids):
                open_left = Candidate.objects.filter(
                    cluster=cluster, status=Candidate.Status.OPEN
                ).exists()
                if not open_left:
                    cluster.status = Cluster.Status.DONE
                    cluster.save(update_fields=["status", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UPDATE,
            entity_kind=kind,
            entity_id=ids[0],
            object_kind="not_duplicate",
            object_id=ids[0],
            changes={"not_duplicate_of": [None, ids[1:]]},
        )
    return len(pairs)


def cluster_skip(*, actor: Actor, cluster: Cluster) -> Cluster:
    """Put a cluster aside: it leaves the open queue until the next scan reopens it."""
    require_steward(actor.user)
    Cluster.objects.filter(pk=cluster.pk, status=Cluster.Status.OPEN).update(
        status=Cluster.Status.SKIPPED, updated_at=timezone.now()
    )
    cluster.refresh_from_db()
    return cluster


def cluster_assign(*, actor: Actor, cluster: Cluster, user: Any) -> Cluster:
    """Hand a cluster to a colleague who may merge (or take it back with ``user=None``)."""
    require_steward(actor.user)
    if user is not None and not permissions.can(user, "change", RecordKind.DUPLICATE):
        raise ValidationFailed(
            "That person may not review duplicates.", errors={"assignee": ["Not a data steward."]}
        )
    Cluster.objects.filter(pk=cluster.pk).update(assigned_to=user, updated_at=timezone.now())
    cluster.refresh_from_db()
    return cluster


def settings_update(
    *, actor: Actor, data: dict[str, Any], expected_version: int | None = None
) -> MatchSettings:
    """Thresholds, automatic merging, survivorship rules and the source ranking (admins)."""
    permissions.require(actor.user, "delete", RecordKind.DUPLICATE)  # type: ignore[arg-type]
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for name in ("upper", "lower"):
        if name in data:
            try:
                value = float(data[name])
            except (TypeError, ValueError):
                errors[name] = ["Give a probability between 0 and 1."]
                continue
            if not 0 < value <= 1:
                errors[name] = ["Give a probability between 0 and 1."]
            cleaned[name] = value
    if "auto_merge" in data:
        cleaned["auto_merge"] = bool(data["auto_merge"])
    for name, kind in (("contact_rules", Kind.CONTACT), ("account_rules", Kind.ACCOUNT)):
        if name in data:
            rules = data[name] or {}
            allowed = set(merge_fields(kind))
            bad = {f: v for f, v in rules.items() if f not in allowed or v not in Rule.values}
            if bad:
                errors[name] = [f"{f}: unknown field or rule {v!r}" for f, v in sorted(bad.items())]
            cleaned[name] = {f: v for f, v in rules.items() if v != Rule.SURVIVOR}
    if "source_ranking" in data:
        ranking = [str(s).strip() for s in data["source_ranking"] or [] if str(s).strip()]
        cleaned["source_ranking"] = list(dict.fromkeys(ranking))
    if "disabled_fields" in data:
        cleaned["disabled_fields"] = sorted({str(s) for s in data["disabled_fields"] or []})
    with transaction.atomic():
        conf = MatchSettings.objects.select_for_update().get(pk=settings_get().pk)
        if expected_version is not None and conf.version != expected_version:
            raise VersionConflict(
                "The settings were changed by someone else.", current_version=conf.version
            )
        low, high = cleaned.get("lower", conf.lower), cleaned.get("upper", conf.upper)
        if low >= high and "lower" not in errors and "upper" not in errors:
            errors["lower"] = ["The review threshold must be below the automatic one."]
        if errors:
            raise ValidationFailed("The settings have invalid values.", errors=errors)
        before = {k: getattr(conf, k) for k in cleaned}
        for k, v in cleaned.items():
            setattr(conf, k, v)
        conf.version = F("version") + 1
        conf.save()
        conf.refresh_from_db()
        changes = {k: [before[k], cleaned[k]] for k in cleaned if before[k] != cleaned[k]}
        if changes:
            audit_record(
                actor=actor,
                action=AuditEntry.Action.UPDATE,
                entity_kind="match_settings",
                entity_id=conf.pk,
                obj=conf,
                changes=changes,
            )
    return conf
