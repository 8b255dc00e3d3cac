"""What the channels hold about a person, for export and erasure (rapport.core.privacy).

- **Proposals**: facts about the contact read from their mail, the proposal of them as a
  new contact when they were an unknown sender (keyed by their address) and the copies of
  their messages kept with it (text and attachments in the media folder): exported, then
  deleted with their files.
- **Imports**: the rows of the person in the import files still stored (the file is
  rewritten with the person's rows left empty, so the row numbers a run resumes by stay
  right), the rejected rows that hold their values (deleted), what undo kept of their old
  values (``ImportRecord.before``, emptied: undo then leaves the record alone, which is
  what it does for any record changed since), and problems reported with their values.
- **Mail files** read already: the outcomes listed on the upload's page are redacted.

A row or file cell "holds the person" when it has one of their e-mail addresses, phone
numbers (by digits), or their whole name, in one cell or as given and family name in two.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db.models import Q

from rapport.audit.services import plain
from rapport.core import privacy
from rapport.core.transactions import after_commit
from rapport.customers.models import Contact, ContactEmail, ContactPhone
from rapport.ingest.imports.readers import FileProblem
from rapport.ingest.imports.storage import open_table
from rapport.ingest.models import ImportJob, ImportRecord, ImportRejection, MailUpload, Proposal

PROPOSAL_FIELDS = (
    "id", "kind", "state", "field", "value", "evidence", "sightings", "decided_at", "result",
    "created_at",
)  # fmt: skip


class Person:
    """How to tell the person's row in a file: addresses, phone digits, name parts."""

    def __init__(self, contact_id: int, values: list[str]) -> None:
        self.emails = {
            e.lower()
            for e in ContactEmail.objects.filter(contact_id=contact_id).values_list(
                "email", flat=True
            )
        }
        self.phones = {
            _digits(p)[-9:]
            for p in ContactPhone.objects.filter(contact_id=contact_id).values_list(
                "e164", flat=True
            )
            if len(_digits(p)) >= 9
        }
        contact = Contact.objects.filter(pk=contact_id).first()
        self.given = (contact.given_name if contact else "").strip().lower()
        self.family = (contact.family_name if contact else "").strip().lower()
        self.values = values

    @property
    def known(self) -> bool:
        return bool(self.emails or self.phones or self.values)

    def in_cells(self, cells: list[Any]) -> bool:
        texts = [str(c or "").strip() for c in cells]
        lowered = {t.lower() for t in texts}
        if lowered & self.emails:
            return True
        if self.given and self.family and {self.given, self.family} <= lowered:
            return True
        for text in texts:
            digits = _digits(text)
            if len(digits) >= 9 and digits[-9:] in self.phones:
                return True
        return privacy.holds_any(" | ".join(texts), self.values)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def _proposals(contact_id: int, person: Person) -> Any:
    q = Q(contact_id=contact_id) | Q(result__contact=contact_id)
    if person.emails:
        q |= Q(kind=Proposal.Kind.NEW_CONTACT, key__in=sorted(person.emails))
    return Proposal.objects.filter(q)


def ingest_export(*, contact_id: int) -> dict[str, Any]:
    person = Person(contact_id, [])
    proposals = [
        {k: plain(v) for k, v in row.items()}
        for row in _proposals(contact_id, person).order_by("id").values(*PROPOSAL_FIELDS)
    ]
    imported = [
        {k: plain(v) for k, v in row.items()}
        for row in ImportRecord.objects.filter(entity_kind="contact", object_id=contact_id)
        .order_by("id")
        .values("job_id", "job__file_name", "job__created_at", "row", "action")
    ]
    return {"proposals": proposals, "imported_from": imported}


def _rewrite(job: ImportJob, person: Person) -> bytes | None:
    """The job's file without the person's rows (their cells emptied), or None when the
    file holds no row of theirs (or is gone, or cannot be read)."""
    if not job.file_path or not default_storage.exists(job.file_path):
        return None
    found = False
    rows: list[tuple[int, list[str]]] = []
    try:
        with open_table(job) as table:
            headers = list(table.headers)
            fmt, encoding, delimiter = table.format, table.encoding, table.delimiter
            for row in table.rows:
                cells = list(row.raw)
                if person.in_cells(cells):
                    found = True
                    cells = [""] * len(cells)
                rows.append((row.number, cells))
    except (FileProblem, OSError, ValueError):
        return None
    if not found:
        return None
    numbered = [(1, headers), *rows]
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet()
        last = 0
        for number, cells in numbered:
            for _ in range(number - last - 1):
                sheet.append([])
            sheet.append(cells)
            last = number
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    text = io.StringIO(newline="")
    writer = csv.writer(text, delimiter=delimiter or ",")
    last = 0
    for number, cells in numbered:
        for _ in range(number - last - 1):
            writer.writerow([])
        writer.writerow(cells)
        last = number
    return text.getvalue().encode(encoding or "utf-8", errors="replace")


def _replace_file(name: str, content: bytes) -> None:
    with contextlib.suppress(OSError):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(content))


def _delete_files(names: list[str]) -> None:
    for name in names:
        with contextlib.suppress(OSError):
            default_storage.delete(name)


def _kept_files(proposal: Proposal) -> list[str]:
    return [
        att["file"]
        for m in (proposal.evidence or {}).get("messages") or []
        for att in m.get("attachments") or []
        if isinstance(att, dict) and att.get("file")
    ]


def ingest_erase(*, actor: Any, contact_id: int, values: list[str]) -> dict[str, int]:
    person = Person(contact_id, values)
    out = {"proposals": 0, "import_files_rewritten": 0, "rejected_rows": 0, "import_records": 0,
           "mail_uploads": 0}  # fmt: skip
    files: list[str] = []
    proposals = list(_proposals(contact_id, person))
    for proposal in proposals:
        files += _kept_files(proposal)
    out["proposals"] = Proposal.objects.filter(pk__in=[p.pk for p in proposals]).delete()[0]
    if files:
        after_commit(_delete_files, files)
    out["import_records"] = ImportRecord.objects.filter(
        entity_kind="contact", object_id=contact_id
    ).update(before=None, key="")
    if not person.known:
        return out
    rejected: set[int] = set()
    q = privacy.value_q(("cells", "reason"), sorted(person.emails | set(values)))
    if person.given and person.family:
        q |= Q(cells__icontains=person.given) & Q(cells__icontains=person.family)
    for rej in ImportRejection.objects.filter(q).only("id", "job_id", "cells", "reason"):
        if person.in_cells(list(rej.cells or [])) or privacy.holds_any(rej.reason, values):
            rejected.add(rej.pk)
    out["rejected_rows"] = ImportRejection.objects.filter(pk__in=sorted(rejected)).delete()[0]
    for job in ImportJob.objects.filter(~Q(file_path="")).order_by("id"):
        content = _rewrite(job, person)
        if content is not None:
            job.checksum = hashlib.sha256(content).hexdigest()
            job.file_size = len(content)
            job.save(update_fields=["checksum", "file_size", "updated_at"])
            after_commit(_replace_file, job.file_path, content)
            out["import_files_rewritten"] += 1
    for job in ImportJob.objects.filter(privacy.value_q(("field_problem_rows", "error"), values)):
        job.field_problem_rows = privacy.redact_data(job.field_problem_rows, values)
        job.error = privacy.redact(job.error, values)
        job.save(update_fields=["field_problem_rows", "error", "updated_at"])
    uploads = MailUpload.objects.filter(
        privacy.value_q(("outcomes", "error"), sorted(person.emails | set(values)))
    )
    for upload in uploads:
        upload.outcomes = privacy.redact_data(upload.outcomes, sorted(person.emails | set(values)))
        upload.error = privacy.redact(upload.error, values)
        upload.save(update_fields=["outcomes", "error", "updated_at"])
        out["mail_uploads"] += 1
    return out


def register_all() -> None:
    privacy.register(
        "ingest",
        export=ingest_export,
        erase=ingest_erase,
        models=("ingest.Proposal",),
        wants_values=True,
    )
