"""Pages of tasks and "my day", the quick log, and the installable app's shell (manifest,
service worker, offline page). Thin: parse, call one service or selector, render."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.followups import forms, selectors, services
from rapport.followups.models import Task
from rapport.users import permissions
from rapport.users.models import RecordKind

CONFLICT = "Someone else changed this task while you were editing it. Check it, then save again."


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _can(request: HttpRequest) -> dict[str, bool]:
    user = user_of(request)
    return {a: permissions.can(user, a, RecordKind.TASK) for a in ("add", "change", "delete")}


def _log_context(task: Task | None = None) -> dict[str, Any]:
    kind = "meeting" if task is not None and task.kind == Task.Kind.MEETING else "call"
    return {"log_kind": kind, "outcomes": services.OUTCOMES[kind]}


@require_GET
@web_view
def my_day(request: HttpRequest) -> HttpResponse:
    day = selectors.my_day(actor=user_of(request))
    context = {
        "day": day,
        "now": timezone.now(),
        "can": _can(request),
        "call_outcomes": services.OUTCOMES["call"],
        "meeting_outcomes": services.OUTCOMES["meeting"],
    }
    return render_page(request, "followups/my_day.html", context)


def _filters(request: HttpRequest) -> selectors.TaskFilters:
    g = request.GET
    return selectors.TaskFilters(
        status=g.get("status", "open"),
        kind=g.get("kind", ""),
        assignee=_int(g.get("assignee")),
        mine=g.get("mine") == "1",
        due=g.get("due", ""),
        contact=_int(g.get("contact")),
        account=_int(g.get("account")),
        subject_kind=g.get("subject_kind", "")[:20],
        subject_id=_int(g.get("subject_id")),
        q=g.get("q", "").strip()[:100],
        sort=g.get("sort", "due"),
        cursor=g.get("cursor") or None,
    )


@require_GET
@web_view
def task_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = selectors.task_list(actor=user_of(request), filters=filters)
    context = {
        "page": page,
        "filters": filters,
        "statuses": Task.Status.choices,
        "kinds": Task.Kind.choices,
        "dues": [("overdue", "Overdue"), ("today", "Today"), ("week", "Next 7 days"),
                 ("later", "Later"), ("none", "No due date")],
        "sorts": [("due", "Due soonest"), ("newest", "Newest")],
        "can": _can(request),
        "today_start": selectors.day_bounds(timezone.localdate())[0],
        "is_first_page": not filters.cursor,
    }  # fmt: skip
    return render_page(
        request, "followups/task_list.html", context, fragment="followups/_task_results.html"
    )


def _form_page(
    request: HttpRequest, form: forms.TaskForm, *, task: Task | None, contact: Any = None,
    status: int = 200, conflict: str = "", version: int | None = None,
) -> HttpResponse:  # fmt: skip
    context = {
        "form": form,
        "task": task,
        "contact": contact,
        "conflict": conflict,
        "version": version,
    }
    return render(request, "followups/task_form.html", context, status=status)


def _apply_errors(form: forms.TaskForm, errors: dict[str, list[str]]) -> None:
    for name, reasons in errors.items():
        for reason in reasons:
            form.add_error(name if name in form.fields else None, reason)


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def task_create(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    permissions.require(user, "add", RecordKind.TASK)
    choices = selectors.assignee_choices(actor=user)
    contact_id = _int(request.POST.get("contact") or request.GET.get("contact"))
    contact = None
    if contact_id:
        from rapport.timeline.selectors import visible_record

        visible_record(user, "contact", contact_id)  # 404 for a contact out of sight
        from rapport.customers.models import Contact

        contact = Contact.objects.only("id", "full_name").get(pk=contact_id)
    if request.method != "POST":
        initial = {
            "assignee": user.pk,
            "contact": contact_id,
            "kind": request.GET.get("kind") or "call",
        }
        return _form_page(
            request, forms.TaskForm(initial=initial, assignees=choices), task=None, contact=contact
        )
    form = forms.TaskForm(request.POST, assignees=choices)
    if form.is_valid():
        try:
            task = services.task_create(actor=actor_of(request), data=form.data_for_service())
        except ValidationFailed as exc:
            _apply_errors(form, exc.errors)
        else:
            messages.success(request, "Task added.")
            return redirect("followups:task-detail", pk=task.pk)
    return _form_page(request, form, task=None, contact=contact, status=422)


@require_GET
@web_view
def task_detail(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get(actor=user_of(request), pk=pk)
    context = {"task": task, "can": _can(request), **_log_context(task)}
    return render_page(request, "followups/task_detail.html", context)


def _version(request: HttpRequest) -> int | None:
    return _int(request.POST.get("version"))


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def task_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    task = selectors.task_get(actor=user, pk=pk, for_action="change")
    choices = selectors.assignee_choices(actor=user)
    if task.assignee_id not in {c[0] for c in choices}:
        choices.append((task.assignee_id, str(task.assignee)))
    if request.method != "POST":
        initial = {
            f: getattr(task, f)
            for f in ("kind", "title", "notes", "due_at", "starts_at", "ends_at", "reminder_at")
        }
        initial |= {"assignee": task.assignee_id, "contact": task.contact_id}
        form = forms.TaskForm(initial=initial, assignees=choices)
        return _form_page(request, form, task=task, contact=task.contact, version=task.version)
    form = forms.TaskForm(request.POST, assignees=choices)
    status, conflict, version = 422, "", _version(request)
    if form.is_valid():
        try:
            services.task_update(
                actor=actor_of(request),
                task=task,
                data=form.data_for_service(),
                expected_version=version,
            )
        except ValidationFailed as exc:
            _apply_errors(form, exc.errors)
        except VersionConflict as exc:
            status, conflict, version = 409, CONFLICT, exc.current_version
        except Conflict as exc:
            status, conflict = 409, exc.message
        else:
            messages.success(request, "Saved.")
            return redirect("followups:task-detail", pk=task.pk)
    return _form_page(
        request,
        form,
        task=task,
        contact=task.contact,
        status=status,
        conflict=conflict,
        version=version,
    )


def _after_close(request: HttpRequest, task: Task, message: str) -> HttpResponse:
    messages.success(request, message)
    target = request.POST.get("next", "")
    if target not in (reverse("followups:my-day"), reverse("followups:task-list")):
        target = reverse("followups:task-detail", args=[task.pk])
    return redirect(target)


@require_POST
@web_view
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get(actor=user_of(request), pk=pk, for_action="change")
    try:
        services.task_complete(
            actor=actor_of(request), task=task, note=request.POST.get("note", "")
        )
    except Conflict as exc:
        messages.error(request, exc.message)
    return _after_close(request, task, "Done.")


@require_POST
@web_view
def task_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    task = selectors.task_get(actor=user_of(request), pk=pk, for_action="change")
    try:
        services.task_cancel(
            actor=actor_of(request), task=task, reason=request.POST.get("reason", "")
        )
    except (Conflict, ValidationFailed) as exc:
        messages.error(request, exc.message)
        return redirect("followups:task-detail", pk=task.pk)
    return _after_close(request, task, "Cancelled.")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
@web_view
def activity_log(request: HttpRequest) -> HttpResponse:
    """The quick log (a call, meeting or note after the fact, and the task it closes). The
    page's script posts it, at once or replayed from the device's queue after being
    offline, with the key the device made; a form without script gets a key here."""
    p = request.POST
    task_id = _int(p.get("task"))
    try:
        task = (
            selectors.task_get(actor=user_of(request), pk=task_id, for_action="change")
            if task_id
            else None
        )
        entry = services.activity_log(
            actor=actor_of(request),
            kind=p.get("kind", ""),
            outcome=p.get("outcome", ""),
            note=p.get("note", ""),
            key=p.get("key") or f"web-{uuid.uuid4()}",
            contact_id=_int(p.get("contact")),
            task=task,
        )
    except (ValidationFailed, PermissionDenied, NotFound) as exc:
        if _wants_json(request):
            # A refusal the device must not send again: said in JSON, unlike a failed CSRF
            # check or a logged-out session, after which the device keeps the log.
            return JsonResponse({"title": exc.message, "errors": exc.errors}, status=exc.status)
        if not isinstance(exc, ValidationFailed):
            raise
        messages.error(
            request, exc.message + " " + "; ".join(" ".join(v) for v in exc.errors.values())
        )
        return redirect("followups:my-day")
    if _wants_json(request):
        return JsonResponse({"entry": entry.pk, "summary": entry.summary, "task": task_id})
    messages.success(request, f"Logged: {entry.summary}")
    return redirect("followups:my-day")


@require_GET
@web_view
def contact_tasks(request: HttpRequest, pk: int) -> HttpResponse:
    """The tasks panel on a contact's page: their open tasks you may see, and "+ Task"."""
    from rapport.timeline.selectors import visible_record

    user = user_of(request)
    visible_record(user, "contact", pk)  # 404 for a contact out of sight
    filters = selectors.TaskFilters(contact=pk, size=10)
    page = selectors.task_list(actor=user, filters=filters)
    context = {"page": page, "contact_id": pk, "can": _can(request)}
    return render_page(request, "followups/_contact_panel.html", context)


# --- the installable app's shell ----------------------------------------------------------
# Public and without data: the browser fetches the manifest and the worker on its own, and
# the offline page is what the worker shows when a page cannot be reached. The worker lives
# at the site's root so that its scope is the whole app.

SHELL = (
    "css/app.css", "css/followups.css", "js/app.js", "js/pwa.js", "vendor/htmx.min.js",
    "favicon.svg", "icons/icon-192.png", "icons/icon-512.png", "icons/icon.svg",
    "icons/apple-touch-icon.png",
)  # fmt: skip


@require_GET
@cache_control(max_age=3600)
def manifest(request: HttpRequest) -> HttpResponse:
    body = {
        "name": "Rapport",
        "short_name": "Rapport",
        "description": "Your customers, your day, on your phone.",
        "id": "/",
        "start_url": reverse("followups:my-day"),
        "scope": "/",
        "display": "standalone",
        "background_color": "#f4f6f9",
        "theme_color": "#2f5bd3",
        "icons": [
            {"src": static("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {"src": static("icons/icon-maskable-512.png"), "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": static("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml"},
        ],
    }  # fmt: skip
    return HttpResponse(json.dumps(body, indent=2), content_type="application/manifest+json")


@require_GET
@cache_control(no_cache=True)
def service_worker(request: HttpRequest) -> HttpResponse:
    shell = [static(p) for p in SHELL] + [reverse("followups:offline")]
    # A new deploy (new hashed file names) is a new cache: the old one is dropped.
    version = hashlib.sha256("\n".join(shell).encode()).hexdigest()[:12]
    response = render(
        request,
        "followups/sw.js",
        {
            "shell_json": json.dumps(shell),
            "version": version,
            "offline_url": reverse("followups:offline"),
        },
        content_type="text/javascript",
    )
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(max_age=3600)
def offline(request: HttpRequest) -> HttpResponse:
    return render(request, "followups/offline.html", {})
