"""Imports over the API: upload a file, map its columns, start, follow, cancel, resume, undo,
and fetch what was rejected. The same services as the web pages and `rapport import`."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from ninja import File, Form, Query, Router, Schema, Status, UploadedFile
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import problems, user_of
from rapport.core.errors import ValidationFailed
from rapport.core.pagination import keyset_page
from rapport.ingest.imports import kinds, selectors, services, storage
from rapport.ingest.models import ImportJob, OnDuplicate, OnMatch, SavedMapping

router = Router(tags=["imports"])

if TYPE_CHECKING:
    OnMatchT: TypeAlias = str
    OnDuplicateT: TypeAlias = str
    ImportKindT: TypeAlias = str
else:
    OnMatchT = Literal[tuple(OnMatch.values)]
    OnDuplicateT = Literal[tuple(OnDuplicate.values)]
    # The engine's kinds and those the apps registered in ready() (before the API is built).
    ImportKindT = Literal[tuple(kinds.names())]

MAX_PAGE_SIZE = 200


# --- shapes ----------------------------------------------------------------------------------


class ImportLinks(Schema):
    self: str
    preview: str
    rejections: str
    rejected: str = Field(description="The rejected rows as CSV, with an `error` column")
    records: str


class RowFieldProblem(Schema):
    row: int
    field: str
    reason: str


class ImportOut(Schema):
    id: int
    kind: str
    state: str = Field(
        description="new (waiting for a mapping), queued, running, done, failed, cancelled, "
        "undoing, undone"
    )
    file_name: str
    checksum: str = Field(description="SHA-256 of the file")
    file_size: int
    headers: list[str]
    mapping: dict[str, str] = Field(description="{column: target}; '' leaves a column out")
    mapping_name: str
    region: str
    source: str
    on_match: str
    on_duplicate: str = Field(description="review (create, queue likely duplicates) or match (update a near-certain one)")
    create_accounts: bool
    total_rows: int | None
    rows_seen: int
    rows_done: int = Field(description="The last file row whose effects are committed (1 = header)")
    created: int
    updated: int
    unchanged: int
    skipped: int
    rejected: int
    accounts_created: int
    field_problems: int = Field(description="Imported rows with a field left empty because its value could not be read (a date)")
    field_problem_rows: list[RowFieldProblem] = Field(description="The first of them (up to 1,000)")
    undone: int
    undo_refused: int = Field(description="Records undo left alone: changed since the import")
    cancel_requested: bool
    rows_per_second: float
    seconds_left: float | None
    percent: int
    error: str
    created_by: str | None = Field(description="Username of who uploaded the file")
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    links: ImportLinks


class ImportPage(Schema):
    items: list[ImportOut]
    next_cursor: str | None


class ImportSettings(Schema):
    """What PATCH and the upload form may set; services.import_configure checks the values."""

    model_config = ConfigDict(extra="forbid")

    mapping: dict[str, str] | None = Field(
        None, description="{column: target}, e.g. {\"E-mail\": \"email\"}; '' or 'ignore' skips"
    )
    mapping_name: str | None = Field(None, description="Use this saved mapping")
    region: str | None = Field(None, description="Phone numbers without +code are read here")
    source: str | None = Field(None, description="The system the file's external ids belong to")
    on_match: OnMatchT | None = None
    on_duplicate: OnDuplicateT | None = None
    create_accounts: bool | None = None
    save_as: str | None = Field(None, description="Also save the mapping under this name")


class ImportUpload(Schema):
    kind: ImportKindT
    mapping: str | None = Field(None, description="A JSON object {column: target}")
    mapping_name: str | None = None
    region: str | None = None
    source: str | None = None
    on_match: OnMatchT | None = None
    on_duplicate: OnDuplicateT | None = None
    create_accounts: bool | None = None
    save_as: str | None = None
    start: bool = Field(True, description="Start at once; false to check the preview first")


class RowProblem(Schema):
    field: str
    reason: str


class PreviewRowOut(Schema):
    row: int = Field(description="Row number as a spreadsheet shows it (1 is the header)")
    values: dict[str, Any] = Field(description="{target: value as it will be stored}")
    problems: list[RowProblem]
    field_problems: list[RowProblem] = Field(description="Fields left empty, the row imported all the same (a date that cannot be read)")
    match: str = Field(description="What the row would do: new contact (deal, lead), updates, rejected")


class RejectionOut(Schema):
    row: int
    field: str
    reason: str
    cells: list[str] = Field(description="The row's cells as read")


class RejectionPage(Schema):
    items: list[RejectionOut]
    next_cursor: str | None


class ImportRecordOut(Schema):
    entity_kind: str = Field(description="contact, account, deal or lead")
    object_id: int
    action: str = Field(description="created or updated")
    row: int
    undo_status: str = Field(description="'', undone or refused")
    undo_reason: str


class ImportRecordPage(Schema):
    items: list[ImportRecordOut]
    next_cursor: str | None


class PageQuery(Schema):
    cursor: str | None = None
    size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


class MappingIn(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: ImportKindT
    name: str
    columns: dict[str, str] = Field(description="{column: target}")


class MappingOut(Schema):
    id: int
    kind: str
    name: str
    columns: dict[str, str]
    updated_at: dt.datetime


# --- rendering -------------------------------------------------------------------------------

JOB_FIELDS = (
    "id", "kind", "state", "file_name", "checksum", "file_size", "headers", "mapping",
    "mapping_name", "region", "source", "on_match", "on_duplicate", "create_accounts", "total_rows", "rows_seen",
    "rows_done", "created", "updated", "unchanged", "skipped", "rejected", "accounts_created",
    "undone", "undo_refused", "cancel_requested", "rows_per_second", "seconds_left", "percent",
    "error", "created_at", "started_at", "finished_at",
)  # fmt: skip


def _url(name: str, job: ImportJob) -> str:
    return reverse(f"api:{name}", kwargs={"import_id": job.pk})


def _job(job: ImportJob) -> dict[str, Any]:
    """Reads only the job and its ``created_by`` (the selectors fetch it)."""
    body = {name: getattr(job, name) for name in JOB_FIELDS}
    body["created_by"] = job.created_by.username if job.created_by else None
    body["field_problems"] = job.field_problems
    body["field_problem_rows"] = [{"row": n, "field": f, "reason": r} for n, f, r in job.field_problem_rows]
    body["links"] = {
        "self": _url("import-detail", job),
        "preview": _url("import-preview", job),
        "rejections": _url("import-rejections", job),
        "rejected": _url("import-rejected-csv", job),
        "records": _url("import-records", job),
    }
    return body


def _get(request: HttpRequest, import_id: int) -> ImportJob:
    return selectors.import_get(user=user_of(request), pk=import_id)


def _settings(values: dict[str, Any], *, blank_is_unset: bool = False) -> dict[str, Any]:
    # None means "not given": the service keeps the job's current value. An HTML form sends
    # the fields left empty as "", which means the same there.
    return {k: v for k, v in values.items() if v is not None and not (blank_is_unset and v == "")}


def _mapping_json(raw: str | None) -> dict[str, str] | None:
    if raw is None or not raw.strip():
        return None
    try:
        mapping = json.loads(raw)
    except json.JSONDecodeError:
        mapping = None
    if not isinstance(mapping, dict) or not all(
        isinstance(t, str | None) for t in mapping.values()
    ):
        raise ValidationFailed(
            "The mapping is not a JSON object.",
            errors={"mapping": ['Send a JSON object of column to target: {"E-mail": "email"}.']},
        )
    return mapping


def _refuse_unknown_fields(request: HttpRequest) -> None:
    # Ninja reads only the form fields it knows; a misspelt setting must not pass unnoticed.
    unknown = set(request.POST) - set(ImportUpload.model_fields) - {"csrfmiddlewaretoken"}
    unknown |= set(request.FILES) - {"file"}
    if unknown:
        raise ValidationFailed(
            "The request has invalid values.",
            errors={k: ["Unknown field."] for k in sorted(unknown)},
        )


def _accepted(job: ImportJob, response: HttpResponse, request: HttpRequest) -> Status:
    response["Location"] = _url("import-detail", job)
    return Status(202, _job(_get(request, job.pk)))


# --- imports ---------------------------------------------------------------------------------


@router.post(
    "/imports",
    response={202: ImportOut, **problems(403)},
    url_name="import-create",
    openapi_extra={"requestBody": {"description": "multipart/form-data: `file` and the settings"}},
)
def import_create(
    request: HttpRequest,
    response: HttpResponse,
    file: File[UploadedFile],
    form: Form[ImportUpload],
):
    """Upload a CSV or XLSX file. The columns are mapped from their headers unless you send
    `mapping` (JSON) or `mapping_name`; the import starts at once unless `start` is false.
    Answers 202 with the job; follow `Location` until `state` is `done`. Nothing is kept when
    the file or the settings are refused."""
    _refuse_unknown_fields(request)
    actor = actor_of(request)
    mapping = _mapping_json(form.mapping)
    values = _settings(form.model_dump(exclude={"kind", "mapping", "start"}), blank_is_unset=True)
    job: ImportJob | None = None
    try:
        # One transaction: a refused mapping leaves no half-made job behind.
        with transaction.atomic():
            job = services.import_create(
                actor=actor, stream=file, filename=file.name or "", kind=form.kind
            )
            services.import_configure(actor=actor, job=job, mapping=mapping, **values)
            if form.start:
                job = services.import_start(actor=actor, job=job)
    except Exception:
        if job is not None:
            storage.delete(job)  # the row was rolled back; its file must go too
        raise
    return _accepted(job, response, request)


@router.get(
    "/imports",
    response={200: ImportPage, **problems()},
    url_name="import-list",
)
def import_list(request: HttpRequest, query: Query[PageQuery]):
    """Your imports, newest first (admins, managers and data stewards see everyone's)."""
    qs = selectors.import_list(user=user_of(request))
    page = keyset_page(qs, order=["-id"], cursor=query.cursor, size=query.size)
    return {"items": [_job(job) for job in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/imports/{import_id}",
    response={200: ImportOut, **problems(404)},
    url_name="import-detail",
)
def import_read(request: HttpRequest, import_id: int):
    """The import's state and counts; poll it while `state` is queued, running or undoing."""
    return _job(_get(request, import_id))


@router.patch(
    "/imports/{import_id}",
    response={200: ImportOut, **problems(403, 404, 409)},
    url_name="import-update",
)
def import_update(request: HttpRequest, import_id: int, payload: ImportSettings):
    """Change how the file is read, before the import starts (409 after)."""
    job = services.import_configure(
        actor=actor_of(request),
        job=_get(request, import_id),
        **_settings(payload.model_dump(exclude_unset=True)),
    )
    return _job(_get(request, job.pk))


@router.post(
    "/imports/{import_id}/start",
    response={202: ImportOut, **problems(403, 404, 409)},
    url_name="import-start",
)
def import_start(request: HttpRequest, import_id: int, response: HttpResponse):
    """Queue an import that waits for its mapping (`state` new)."""
    job = services.import_start(actor=actor_of(request), job=_get(request, import_id))
    return _accepted(job, response, request)


@router.post(
    "/imports/{import_id}/cancel",
    response={202: ImportOut, **problems(403, 404, 409)},
    url_name="import-cancel",
)
def import_cancel(request: HttpRequest, import_id: int, response: HttpResponse):
    """Stop the import: at once if it has not begun, else after the batch in progress
    (`cancel_requested`). What it wrote stays; undo removes it."""
    job = services.import_cancel(actor=actor_of(request), job=_get(request, import_id))
    return _accepted(job, response, request)


@router.post(
    "/imports/{import_id}/resume",
    response={202: ImportOut, **problems(403, 404, 409)},
    url_name="import-resume",
)
def import_resume(request: HttpRequest, import_id: int, response: HttpResponse):
    """Queue a failed import, or one whose worker stopped, again; it continues after the last
    committed row, so no row is applied twice."""
    job = services.import_resume(actor=actor_of(request), job=_get(request, import_id))
    return _accepted(job, response, request)


@router.post(
    "/imports/{import_id}/undo",
    response={202: ImportOut, **problems(403, 404, 409)},
    url_name="import-undo",
)
def import_undo(request: HttpRequest, import_id: int, response: HttpResponse):
    """Revert a finished, cancelled or failed import: records it created are deleted, records it
    updated get their old values back. Records changed since are left (`undo_refused`)."""
    job = services.import_undo(actor=actor_of(request), job=_get(request, import_id))
    return _accepted(job, response, request)


@router.get(
    "/imports/{import_id}/preview",
    response={200: list[PreviewRowOut], **problems(404)},
    url_name="import-preview",
)
def import_preview(request: HttpRequest, import_id: int, limit: int = Query(20, ge=1, le=100)):  # noqa: B008 - ninja's way to bound a parameter
    """The first rows as they will be stored under the current mapping, with their problems
    and what each would do. Writes nothing."""
    rows = selectors.preview(job=_get(request, import_id), limit=limit)
    return [
        {
            "row": r.row,
            "values": r.values,
            "problems": [{"field": f, "reason": reason} for f, reason in r.problems],
            "field_problems": [{"field": f, "reason": reason} for f, reason in r.field_problems],
            "match": r.match,
        }
        for r in rows
    ]


@router.get(
    "/imports/{import_id}/rejections",
    response={200: RejectionPage, **problems(404)},
    url_name="import-rejections",
)
def import_rejections(request: HttpRequest, import_id: int, query: Query[PageQuery]):
    """The rows that were not imported, in file order: the field to blame and why."""
    job = _get(request, import_id)
    page = keyset_page(job.rejections.all(), order=["row"], cursor=query.cursor, size=query.size)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/imports/{import_id}/rejected.csv",
    response={200: None, **problems(404)},
    url_name="import-rejected-csv",
    openapi_extra={
        "responses": {200: {"description": "CSV (streamed)", "content": {"text/csv": {}}}}
    },
)
def import_rejected_csv(request: HttpRequest, import_id: int) -> StreamingHttpResponse:
    """The rejected rows in the file's own columns plus `error`: fix them and import the file."""
    job = _get(request, import_id)
    response = StreamingHttpResponse(
        selectors.rejected_rows_csv(job=job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response


@router.get(
    "/imports/{import_id}/records",
    response={200: ImportRecordPage, **problems(404)},
    url_name="import-records",
)
def import_records(request: HttpRequest, import_id: int, query: Query[PageQuery]):
    """The records the import created or changed, in the order it wrote them, and what undo
    did to each."""
    job = _get(request, import_id)
    page = keyset_page(job.records.all(), order=["id"], cursor=query.cursor, size=query.size)
    return {"items": page.items, "next_cursor": page.next_cursor}


# --- saved mappings --------------------------------------------------------------------------


@router.get(
    "/import-mappings",
    response={200: list[MappingOut], **problems()},
    url_name="import-mapping-list",
)
def mapping_list(request: HttpRequest, kind: ImportKindT):
    """Saved column mappings for files of this kind, by name."""
    return list(selectors.mappings_for(user=user_of(request), kind=kind))


@router.post(
    "/import-mappings",
    response={201: MappingOut, **problems(403)},
    url_name="import-mapping-save",
)
def mapping_save(request: HttpRequest, payload: MappingIn) -> Status:
    """Save a mapping under a name; saving under a name in use replaces its columns."""
    saved: SavedMapping = services.mapping_save(
        actor=actor_of(request), kind=payload.kind, name=payload.name, columns=payload.columns
    )
    return Status(201, saved)
