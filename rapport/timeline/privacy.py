"""What the timeline holds about a person, for export and erasure (rapport.core.privacy).

Export: every entry on the contact's timeline (what happened, when, through which
channel, its text, its data and its attachments' names and sizes), with the person's role
in it.

Erasure:

- an entry on which the person is the only contact (their notes, calls, e-mails, the send
  log of messages to them, stage changes of their deals) is deleted with its body and its
  attachments, on whichever timelines it shows (their accounts' too: it was about them);
  the attachments' files leave the media folder once the erasure is committed;
- an entry shared with another contact (an e-mail to two people) stays for the other: the
  person's link goes and their values (name, addresses, numbers) are replaced with
  ``[erased]`` in its summary, body and data. Its attachments stay: they are the other
  person's as much.
"""

from __future__ import annotations

import contextlib
from typing import Any

from django.core.files.storage import default_storage
from django.db.models import Subquery

from rapport.audit.services import plain
from rapport.core import privacy
from rapport.core.transactions import after_commit
from rapport.timeline.models import Attachment, Entry, EntryLink

ENTRY_FIELDS = (
    "kind", "occurred_at", "channel", "direction", "department", "summary", "body",
    "duration_seconds", "outcome", "source", "data",
)  # fmt: skip
CHUNK = 500


def timeline_export(*, contact_id: int) -> list[dict[str, Any]]:
    links = (
        EntryLink.objects.filter(contact_id=contact_id)
        .select_related("entry")
        .order_by("occurred_at", "entry_id")
    )
    files: dict[int, list[dict[str, Any]]] = {}
    entries = EntryLink.objects.filter(contact_id=contact_id).values("entry_id")
    for att in Attachment.objects.filter(entry_id__in=Subquery(entries)).order_by("id"):
        files.setdefault(att.entry_id, []).append(
            {"name": att.name, "content_type": att.content_type, "size": att.size}
        )
    out = []
    for link in links.iterator(chunk_size=2000):
        row = {k: plain(getattr(link.entry, k)) for k in ENTRY_FIELDS}
        row["entry"] = link.entry_id
        row["role"] = link.role
        row["attachments"] = files.get(link.entry_id, [])
        out.append(row)
    return out


def _delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):  # gone already
            default_storage.delete(name)


def timeline_erase(*, actor: Any, contact_id: int, values: list[str]) -> dict[str, int]:
    on_them = EntryLink.objects.filter(contact_id=contact_id).values("entry_id")
    shared_ids = set(
        EntryLink.objects.filter(entry_id__in=Subquery(on_them), contact__isnull=False)
        .exclude(contact_id=contact_id)
        .values_list("entry_id", flat=True)
    )
    only_ids = sorted(
        set(EntryLink.objects.filter(contact_id=contact_id).values_list("entry_id", flat=True))
        - shared_ids
    )
    files: list[str] = []
    deleted = 0
    for i in range(0, len(only_ids), CHUNK):
        chunk = only_ids[i : i + CHUNK]
        files += [
            f
            for f in Attachment.objects.filter(entry_id__in=chunk).values_list("file", flat=True)
            if f
        ]
        Attachment.objects.filter(entry_id__in=chunk).delete()
        EntryLink.objects.filter(entry_id__in=chunk).delete()
        deleted += Entry.objects.filter(pk__in=chunk).delete()[0]
    if files:
        after_commit(_delete_files, files)
    unlinked = EntryLink.objects.filter(contact_id=contact_id).delete()[0]
    redacted = 0
    for entry in Entry.objects.filter(pk__in=sorted(shared_ids)):
        summary = privacy.redact(entry.summary, values)
        body = privacy.redact(entry.body, values)
        data = privacy.redact_data(entry.data, values)
        if (summary, body, data) != (entry.summary, entry.body, entry.data):
            entry.summary, entry.body, entry.data = summary, body, data
            entry.save(update_fields=["summary", "body", "data", "updated_at"])
            redacted += 1
    return {
        "entries_deleted": deleted,
        "files_deleted": len(files),
        "shared_entries_unlinked": len(shared_ids),
        "shared_entries_redacted": redacted,
        "links_removed": unlinked,
    }


def register_all() -> None:
    privacy.register(
        "timeline",
        export=timeline_export,
        erase=timeline_erase,
        models=("timeline.EntryLink",),
        wants_values=True,
    )
