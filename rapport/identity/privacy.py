"""What matching and merging hold about a person, for export and erasure (rapport.core.privacy).

A merge keeps the merged-away records' rows as they were, and the survivor's values before
and after, so that it can be undone: that is the person's data.

- A merge **into** the person (they are the survivor: every record in it was them) keeps
  only its tombstone: when, by whom, through which path, which record ids; its rows,
  values, choices and journal are emptied, and it can no longer be undone (there is
  nobody to bring back). Its aliases (old ids leading to the person) go.
- A merge the person was merged away in and that was undone since (they were not the
  other record's person after all) keeps the other record's data; the person's row is
  emptied and their values are replaced with ``[erased]`` in what remains.
- Duplicate candidates and "not a duplicate" decisions about the person go: ids and
  scores only, but about nobody now.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from rapport.core import privacy
from rapport.identity.models import Candidate, Kind, Merge, MergedId, NotDuplicate

TOMBSTONE = {"erased": True}


def _merges(contact_id: int) -> tuple[list[Merge], list[Merge]]:
    """(merges into the person, other merges naming them among the merged)."""
    into = list(Merge.objects.filter(kind=Kind.CONTACT, survivor_id=contact_id).order_by("id"))
    others = []
    for merge in (
        Merge.objects.filter(kind=Kind.CONTACT)
        .exclude(survivor_id=contact_id)
        .only("id", "merged_ids")
    ):
        if contact_id in {int(i) for i in merge.merged_ids or []}:
            others.append(merge)
    return into, others


def merged_ids_of(contact_id: int) -> list[int]:
    """Ids of records merged into the person (the same person under another id)."""
    return sorted(
        {int(i) for m in Merge.objects.filter(kind=Kind.CONTACT, survivor_id=contact_id)
         for i in m.merged_ids or []}
    )  # fmt: skip


def identity_export(*, contact_id: int) -> dict[str, Any]:
    into, others = _merges(contact_id)
    return {
        "merges_into_this_contact": [
            {"merge": m.pk, "at": m.at.isoformat(), "merged_ids": m.merged_ids,
             "records": m.records, "undone_at": m.undone_at.isoformat() if m.undone_at else None}
            for m in into
        ],
        "merged_away_in": [m.pk for m in others],
    }  # fmt: skip


def identity_erase(*, actor: Any, contact_id: int, values: list[str]) -> dict[str, int]:
    into, others = _merges(contact_id)
    ids = {contact_id} | {int(i) for m in into for i in m.merged_ids or []}
    for merge in into:
        merge.records = {str(pk): TOMBSTONE for pk in merge.merged_ids or []}
        merge.survivor_before, merge.survivor_after = {}, {}
        merge.choices, merge.journal = {}, []
        merge.conflicts = ["Erased on request: this merge cannot be undone."]
        merge.save(
            update_fields=["records", "survivor_before", "survivor_after", "choices", "journal",
                           "conflicts"]
        )  # fmt: skip
    for merge in Merge.objects.filter(pk__in=[m.pk for m in others]):
        records = dict(merge.records or {})
        if str(contact_id) in records:
            records[str(contact_id)] = TOMBSTONE
        merge.records = privacy.redact_data(records, values)
        merge.survivor_before = privacy.redact_data(merge.survivor_before, values)
        merge.survivor_after = privacy.redact_data(merge.survivor_after, values)
        merge.save(update_fields=["records", "survivor_before", "survivor_after"])
    aliases = MergedId.objects.filter(
        Q(survivor_id__in=ids) | Q(old_id__in=ids), kind=Kind.CONTACT
    ).delete()[0]
    pairs = Q(left_id__in=ids) | Q(right_id__in=ids)
    candidates = Candidate.objects.filter(pairs, kind=Kind.CONTACT).delete()[0]
    decisions = NotDuplicate.objects.filter(pairs, kind=Kind.CONTACT).delete()[0]
    return {
        "merges_emptied": len(into),
        "merges_redacted": len(others),
        "aliases": aliases,
        "candidates": candidates,
        "not_duplicate": decisions,
    }


def register_all() -> None:
    privacy.register("identity", export=identity_export, erase=identity_erase, wants_values=True)
    privacy.register_ids(merged_ids_of)
