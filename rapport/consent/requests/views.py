"""Privacy request pages: the register with its deadlines, one request with its steps
(export download, erasure, closing), for stewards (managers read)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from rapport.consent.models import PrivacyRequest
from rapport.consent.requests import render, selectors, services
from rapport.core.errors import ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, web_view
from rapport.users import permissions
from rapport.users.models import RecordKind

FORMATS = {"json": "application/json", "html": "text/html; charset=utf-8"}


def _rights(request: HttpRequest) -> dict[str, bool]:
    user = request.user
    return {
        "can_add": permissions.can(user, "add", RecordKind.PRIVACY),
        "can_change": permissions.can(user, "change", RecordKind.PRIVACY),
        "can_export": permissions.can(user, "export", RecordKind.PRIVACY),
    }


def _list_context(request: HttpRequest, *, errors=None, form=None) -> dict:
    actor = actor_of(request)
    filters = selectors.RequestFilters(
        status=request.GET.get("status", "open"), kind=request.GET.get("kind", "")
    )
    now = timezone.now()
    rows = [
        (r, selectors.deadline(r, now))
        for r in selectors.privacy_request_list(actor=actor, filters=filters)[:500]
    ]
    return {
        "rows": rows,
        "counts": selectors.privacy_request_counts(actor=actor),
        "filters": filters,
        "statuses": PrivacyRequest.Status.choices,
        "kinds": PrivacyRequest.Kind.choices,
        "errors": errors or {},
        "form": form or {"contact": request.GET.get("contact", ""), "kind": "export"},
        **_rights(request),
    }


@web_view
@require_http_methods(["GET"])
def request_list(request: HttpRequest) -> HttpResponse:
    return render_page(request, "consent/privacy_requests.html", _list_context(request))


@web_view
@require_POST
def request_create(request: HttpRequest) -> HttpResponse:
    data = {k: request.POST.get(k, "") for k in ("kind", "contact", "received_at", "details")}
    try:
        created = services.privacy_request_create(actor=actor_of(request), data=data)
    except ValidationFailed as exc:
        context = _list_context(request, errors=exc.errors, form=data)
        return render_page(request, "consent/privacy_requests.html", context, status=422)
    return redirect("consent:privacy-request-detail", pk=created.pk)


def _detail_context(request: HttpRequest, found: PrivacyRequest, errors=None) -> dict:
    return {
        "req": found,
        "deadline": selectors.deadline(found),
        "statuses": [
            (v, label)
            for v, label in PrivacyRequest.Status.choices
            if not (v == "done" and found.kind == PrivacyRequest.Kind.ERASURE)
        ],
        "errors": errors or {},
        **_rights(request),
    }


@web_view
@require_http_methods(["GET"])
def request_detail(request: HttpRequest, pk: int) -> HttpResponse:
    found = selectors.privacy_request_get(actor=actor_of(request), pk=pk)
    return render_page(request, "consent/privacy_request.html", _detail_context(request, found))


@web_view
@require_POST
def request_update(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    found = selectors.privacy_request_get(actor=actor, pk=pk)
    data = {k: request.POST[k] for k in ("status", "outcome") if k in request.POST}
    try:
        services.privacy_request_update(actor=actor, request=found, data=data)
    except ValidationFailed as exc:
        context = _detail_context(request, found, exc.errors)
        return render_page(request, "consent/privacy_request.html", context, status=422)
    return redirect("consent:privacy-request-detail", pk=found.pk)


@web_view
@require_POST
def request_erase(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    found = selectors.privacy_request_get(actor=actor, pk=pk)
    if request.POST.get("confirm") != "erase":
        # Checked after the rights: a role that may not erase learns nothing here.
        permissions.require(request.user, "change", RecordKind.PRIVACY)
        errors = {"confirm": ["Type erase to confirm: it cannot be undone."]}
        context = _detail_context(request, found, errors)
        return render_page(request, "consent/privacy_request.html", context, status=422)
    services.privacy_request_erase(actor=actor, request=found)
    return redirect("consent:privacy-request-detail", pk=found.pk)


@web_view
@require_http_methods(["GET"])
def request_export(request: HttpRequest, pk: str, fmt: str) -> HttpResponse:
    actor = actor_of(request)
    found = selectors.privacy_request_get(actor=actor, pk=int(pk))
    package = services.privacy_request_export(actor=actor, request=found)
    if fmt == "json":
        response = HttpResponse(render.to_json(package), content_type=FORMATS["json"])
    else:
        response = HttpResponse(render.to_html(package), content_type=FORMATS["html"])
    if fmt == "json" or request.GET.get("download"):
        name = f"subject-access-{found.pk}.{fmt}"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response
