"""Web pages of imports: upload a file, map its columns, preview, start, follow the
progress, then read the results and undo if need be.

Thin views over ``selectors`` and ``services``, as in ``rapport.customers.views``:
``web_view`` turns PermissionDenied and NotFound into 403 and 404 pages (an import the user
may not see is a 404); a form the service refuses is rendered again with each message next
to its input (422); an action the job's state no longer allows says why (409).
"""

from __future__ import annotations

import datetime as dt
from typing import IO, Any, cast

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.errors import Conflict, PermissionDenied, ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.pagination import keyset_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers.datadict import active_fields
from rapport.ingest.imports import forms, kinds, selectors, services
from rapport.ingest.imports.readers import FileProblem
from rapport.ingest.models import ImportJob
from rapport.users import permissions

State = ImportJob.State
FINISHED = (State.DONE, State.CANCELLED, State.FAILED, State.UNDONE)
UNDOABLE = (State.DONE, State.CANCELLED, State.FAILED)
SHOWN = 50  # rejections and records listed on the page (the CSV has every rejected row)
# Earlier imports of the same file that make a new one change nothing.
DUPLICATE_STATES = (State.QUEUED, State.RUNNING, State.DONE, State.CANCELLED, State.FAILED)
# Preview columns that are not mapping targets (``selectors.preview`` joins some values).
PREVIEW_LABELS = {
    "emails": "E-mails",
    "phones": "Phones",
    "address": "Address",
    "account": "Account",
    "external_ids": "External ids",
    "tags": "Tags",
}


def _kinds(request: HttpRequest) -> list[tuple[str, str]]:
    """The kinds of file the user may import: those whose records their role may add."""
    user = user_of(request)
    return [
        (kind.name, kind.label)
        for kind in kinds.all_kinds()
        if permissions.can(user, "add", kind.record_kind)
    ]


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _is_stale(job: ImportJob) -> bool:
    """A worker that has not reported for ``IMPORT_STALE_SECONDS`` has presumably stopped."""
    stale = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    if job.state in (State.RUNNING, State.UNDOING):
        return job.heartbeat_at is None or job.heartbeat_at < stale
    if job.state == State.QUEUED:
        return job.updated_at < stale and (job.heartbeat_at is None or job.heartbeat_at < stale)
    return False


# --- list and upload --------------------------------------------------------------------


@require_GET
@web_view
def import_list(request: HttpRequest) -> HttpResponse:
    cursor = request.GET.get("cursor") or None
    page = keyset_page(
        selectors.import_list(user=user_of(request)), order=["-id"], cursor=cursor, size=50
    )
    context = {"page": page, "is_first_page": not cursor, "can_upload": bool(_kinds(request))}
    return render_page(request, "ingest/import_list.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def import_create(request: HttpRequest) -> HttpResponse:
    kinds = _kinds(request)
    if not kinds:
        raise PermissionDenied(
            "Your role may add none of the records a file can be imported into (contacts, accounts, deals, leads)."
        )
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None or not upload.size:
            errors = {"file": ["Choose a CSV or XLSX file that is not empty."]}
        else:
            try:
                job = services.import_create(
                    actor=actor_of(request),
                    stream=cast(IO[bytes], upload),
                    filename=upload.name or "",
                    kind=request.POST.get("kind", ""),
                )
            except ValidationFailed as exc:
                errors = exc.errors or {"file": [exc.message]}
            else:
                return redirect("ingest:import-detail", pk=job.pk)
    post = request.POST if request.method == "POST" else None
    context = {
        "form": forms.upload_form(kinds=kinds, post=post, errors=errors),
        "file_errors": errors.get("file", []),
        "accept": forms.ACCEPT,
    }
    return render_page(request, "ingest/import_upload.html", context, status=422 if errors else 200)


# --- one import -------------------------------------------------------------------------


def _mapping_context(
    request: HttpRequest,
    job: ImportJob,
    *,
    post: Any = None,
    errors: dict[str, list[str]] | None = None,
) -> dict[str, Any]:
    datafields = active_fields(services.ENTITY[job.kind])
    choices = forms.target_choices(job.kind, datafields)
    saved = list(selectors.mappings_for(user=user_of(request), kind=job.kind))
    errors = errors or {}
    earlier = [e for e in selectors.earlier_imports_of(job)[:10] if e.state in DUPLICATE_STATES]
    return {
        "rows": forms.mapping_rows(job, choices, post),
        "settings_form": forms.settings_form(job=job, post=post, errors=errors),
        "saved_mappings": saved,
        "chosen_mapping": (post.get("mapping_name", "") if post is not None else "")
        or job.mapping_name,
        "mapping_errors": _mapping_errors(errors, dict(choices)),
        "mapping_name_errors": errors.get("mapping_name", []),
        "earlier": earlier[:3],
        "target_labels": dict(choices),
    }


def _mapping_errors(errors: dict[str, list[str]], labels: dict[str, str]) -> list[str]:
    """Errors on the mapping, and on fields it writes that the role may not set."""
    out = list(errors.get("mapping", []))
    for key, messages_ in errors.items():
        if key not in forms.SETTINGS_FIELDS and key not in ("mapping", "mapping_name"):
            out += [f"{labels.get(key) or forms.target_label(key)}: {m}" for m in messages_]
    return out


def _preview_context(job: ImportJob, labels: dict[str, str]) -> dict[str, Any]:
    rows = selectors.preview(job=job)
    columns = list(dict.fromkeys(key for r in rows for key in r.values))
    headings = [PREVIEW_LABELS.get(c) or labels.get(c) or forms.target_label(c) for c in columns]
    return {
        "show_preview": True,
        "preview_headings": headings,
        "preview_rows": [
            {
                "row": r.row,
                "match": r.match,
                "problems": r.problems,
                "cells": [(h, r.values.get(c, "")) for h, c in zip(headings, columns, strict=True)],
            }
            for r in rows
        ],
    }


def _status_context(request: HttpRequest, job: ImportJob) -> dict[str, Any]:
    user = user_of(request)
    entity = services.ENTITY[job.kind]
    stale = _is_stale(job)
    context: dict[str, Any] = {
        "job": job,
        "stale": stale,
        "can_resume": stale or job.state == State.FAILED,
        "can_undo": job.state in UNDOABLE
        and permissions.can(user, "delete", entity)
        and permissions.can(user, "change", entity),
        "time_left": _duration(job.seconds_left),
        "finished": job.state in FINISHED,
    }
    if job.state in FINISHED:
        context["rejections"] = list(job.rejections.order_by("row")[:SHOWN])
        context["records"] = list(job.records.order_by("row", "id")[:SHOWN])
        context["refused"] = list(
            job.records.filter(undo_status="refused").order_by("row", "id")[:SHOWN]
        )
    return context


def _job_page(
    request: HttpRequest,
    job: ImportJob,
    *,
    status: int = 200,
    notice: str = "",
    fragment: str | None = None,
    **extra: Any,
) -> HttpResponse:
    context = _status_context(request, job)
    if job.state == State.NEW and "rows" not in extra:
        context.update(_mapping_context(request, job))
    context.update(extra, notice=notice)
    return render_page(
        request, "ingest/import_detail.html", context, fragment=fragment, status=status
    )


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = selectors.import_get(user=user_of(request), pk=pk)
    if request.method == "POST":
        return _configure(request, job)
    return _job_page(request, job)


def _configure(request: HttpRequest, job: ImportJob) -> HttpResponse:
    """The mapping form: apply a saved mapping, or save the mapping and preview or start."""
    actor = actor_of(request)
    post: QueryDict = request.POST
    action = post.get("action", "preview")
    try:
        if action == "apply":
            name = post.get("mapping_name", "")
            saved = next((m for m in selectors.mappings_for(user=user_of(request), kind=job.kind) if m.name == name), None)
            if saved is None:
                raise ValidationFailed(
                    errors={"mapping_name": ["Choose one of the saved mappings."]}
                )
            mapping = {h: saved.columns.get(h, "") for h in job.headers}
            # Its own small form posts only the name; the rows then show the saved mapping,
            # even if the service refuses it, next to the settings as they are.
            post = QueryDict(mutable=True)
            shown = {f"col-{i}": mapping[h] for i, h in enumerate(job.headers)}
            shown |= {
                "mapping_name": name,
                "on_match": job.on_match,
                "region": job.region,
                "source": job.source,
            }
            post.update(shown | ({"create_accounts": "on"} if job.create_accounts else {}))
            job = services.import_configure(
                actor=actor, job=job, mapping=mapping, mapping_name=name
            )
            messages.success(
                request, f"Applied the mapping “{name}”. Check it, then preview or start."
            )
            return redirect("ingest:import-detail", pk=job.pk)
        mapping = forms.mapping_from_post(job, post)
        # A saved mapping applied and left as it was keeps its name on the job.
        unchanged = {h: t for h, t in mapping.items() if t} == {
            h: t for h, t in job.mapping.items() if t
        }
        kept = job.mapping_name if unchanged and not post.get("save_as", "").strip() else ""
        job = services.import_configure(
            actor=actor,
            job=job,
            mapping=mapping,
            mapping_name=kept,
            **forms.settings_data(job, post),
        )
        if action == "start":
            services.import_start(actor=actor, job=job)
            messages.success(request, "The import has started.")
            return redirect("ingest:import-detail", pk=job.pk)
        mapping_context = _mapping_context(request, job)
        return _job_page(
            request,
            job,
            **mapping_context,
            **_preview_context(job, mapping_context["target_labels"]),
        )
    except ValidationFailed as exc:
        return _job_page(
            request,
            job,
            status=422,
            notice=exc.message if exc.message != exc.title else "",
            **_mapping_context(request, job, post=post, errors=exc.errors),
        )
    except PermissionDenied as exc:  # the mapping writes a field the role may not change
        return _job_page(
            request,
            job,
            status=403,
            **_mapping_context(request, job, post=post, errors={"mapping": [exc.message]}),
        )
    except FileProblem as exc:  # the preview could not read the file
        return _job_page(
            request,
            job,
            status=422,
            **_mapping_context(request, job, post=post, errors={"mapping": [str(exc)]}),
        )
    except Conflict as exc:  # started meanwhile (another tab, another person)
        job = selectors.import_get(user=user_of(request), pk=job.pk)
        return _job_page(request, job, status=409, notice=exc.message)


@require_GET
@web_view
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx while the job works. When the job is no
    longer active the panel comes without its polling trigger, and htmx is told to load
    the job page again to show the results."""
    job = selectors.import_get(user=user_of(request), pk=pk)
    response = _job_page(request, job, fragment="ingest/_progress.html")
    if getattr(request, "htmx", False) and not job.is_active:
        response["HX-Redirect"] = reverse("ingest:import-detail", args=[job.pk])
    return response


def _act(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    job = selectors.import_get(user=user_of(request), pk=pk)
    try:
        action(actor=actor_of(request), job=job)
    except Conflict as exc:
        job = selectors.import_get(user=user_of(request), pk=pk)
        return _job_page(request, job, status=409, notice=exc.message)
    messages.success(request, done)
    return redirect("ingest:import-detail", pk=pk)


@require_POST
@web_view
def import_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        services.import_cancel,
        "Cancelled. Rows already imported stay until you undo the import.",
    )


@require_POST
@web_view
def import_resume(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(
        request,
        pk,
        services.import_resume,
        "Resumed: the import continues after its last saved row.",
    )


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST undoes (in the background)."""
    if request.method == "POST":
        return _act(
            request,
            pk,
            services.import_undo,
            "Undoing the import: records it created are deleted and the fields it changed are put back.",
        )
    job = selectors.import_get(user=user_of(request), pk=pk)
    if job.state not in UNDOABLE:
        return _job_page(
            request,
            job,
            status=409,
            notice=f"An import that is {job.get_state_display().lower()} cannot be undone.",
        )
    return render_page(request, "ingest/import_undo.html", {"job": job})


@require_GET
@web_view
def import_rejected_csv(request: HttpRequest, pk: int) -> HttpResponseBase:
    """The rejected rows in the file's own columns plus ``error``: fix them, import again."""
    job = selectors.import_get(user=user_of(request), pk=pk)
    response = StreamingHttpResponse(
        selectors.rejected_rows_csv(job=job), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-rejected.csv"'
    return response
