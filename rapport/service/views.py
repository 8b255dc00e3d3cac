"""Web pages of service: the agent's queue, a case's page and its actions, the case form,
the cases panels of a contact and an account, and the public web form.

Thin views over ``selectors`` and ``services``, as elsewhere: ``web_view`` turns
PermissionDenied and NotFound into 403 and 404 pages; a form that fails validation is
shown again with its values and the messages next to them (422).
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import urlencode
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.errors import ValidationFailed, VersionConflict
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers.models import Account, Contact
from rapport.service import selectors, services, webforms
from rapport.service.models import Case, WebForm
from rapport.service.selectors import THREAD_LATEST as THREAD
from rapport.service.sla import web as goals
from rapport.users import permissions
from rapport.users.models import RecordKind, Team, User

PAGE_SIZE = 50
KIND = RecordKind.CASE
SORT_LABELS = [
    ("priority", "Priority, then oldest"),
    ("oldest", "Oldest first"),
    ("newest", "Newest first"),
    ("updated", "Recently changed"),
]
# What a queue row shows (and the cursor reads): not the whole case, contact and owner.
QUEUE_FIELDS = (
    "id", "subject", "priority", "status", "important", "created_at", "updated_at",
    "contact_id", "kind_id", "owner_id", "team_id", "contact__full_name", "kind__name",
    "owner__username", "owner__first_name", "owner__last_name", "team__name",
    "next_due_at", "sla_state", "escalation_level",
)  # fmt: skip
ORDERS = {
    "priority": ["priority", "created_at", "id"],
    "oldest": ["created_at", "id"],
    "newest": ["-created_at", "-id"],
    "updated": ["-updated_at", "-id"],
}


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _filters(request: HttpRequest) -> tuple[selectors.Filters, dict[str, str]]:
    g = request.GET
    values = {
        k: g.get(k, "").strip()[:100]
        for k in ("status", "priority", "kind", "owner", "team", "q", "sort", "scope", "important")
    }
    if values["sort"] not in ORDERS:
        values["sort"] = "priority"
    filters = selectors.Filters(
        status=values["status"] if values["status"] in (*Case.Status.values, "all") else "open",
        priority=int(values["priority"]) if values["priority"].isdigit() else None,
        kind=values["kind"],
        owner=values["owner"],
        team=int(values["team"]) if values["team"].isdigit() else None,
        q=values["q"],
        sort=values["sort"],
        important=values["important"] == "1",
        mine_and_team=values["scope"] != "all",
    )
    return filters, values


@require_GET
@web_view
def home(request: HttpRequest) -> HttpResponse:
    """The agent's queue: the open cases of their team (and their own), most urgent and
    oldest first; "All cases I may see" widens it. Filters and sort are in the address, so
    a queue can be bookmarked; the list pages by cursor."""
    user = user_of(request)
    filters, values = _filters(request)
    page = selectors.queue_page(
        actor=user,
        filters=filters,
        order=ORDERS[filters.sort],
        cursor=request.GET.get("cursor") or None,
        size=PAGE_SIZE,
        only=QUEUE_FIELDS,
    )
    next_url = ""
    if page.next_cursor:
        query = {k: v for k, v in values.items() if v}
        query["cursor"] = page.next_cursor
        next_url = f"{request.path}?{urlencode(query)}"
    context = {
        "page": page,
        "values": values,
        "next_url": next_url,
        "statuses": Case.Status.choices,
        "priorities": Case.Priority.choices,
        "kinds": list(selectors.kinds().values_list("key", "name")),
        "teams": list(Team.objects.values_list("id", "name")),
        "sorts": SORT_LABELS,
        "can_add": permissions.can(user, "add", KIND),
        **goals.queue_context(request, list(page.items)),
    }
    return render_page(request, "service/home.html", context, fragment="service/_queue.html")


def _case_context(request: HttpRequest, pk: int, **extra: Any) -> dict[str, Any]:
    user = user_of(request)
    # ?all=1: the whole history (the "Show earlier" link without JavaScript).
    everything = request.GET.get("all") == "1"
    detail = selectors.case_detail(actor=user, pk=pk, latest=None if everything else THREAD)
    case = detail.case
    can_change = permissions.can(user, "change", KIND)
    return {
        "case": case,
        "thread": detail.thread,
        "earlier_before": detail.earlier_before,
        "followups": services.open_followups(case) if can_change else [],
        "can_change": can_change,
        "can_delete": permissions.can(user, "delete", KIND),
        "statuses": Case.Status.choices,
        "recipient": services.recipient_of(case) if can_change else "",
        "users": list(User.objects.filter(is_active=True).order_by("username"))
        if can_change
        else [],
        "teams": list(Team.objects.all()) if can_change else [],
        "errors": {},
        "values": {},
        **goals.case_goals_context(user, case),
        **extra,
    }


@require_GET
@web_view
def case_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return render_page(request, "service/case_detail.html", _case_context(request, pk))


@require_GET
@web_view
def case_history(request: HttpRequest, pk: int) -> HttpResponse:
    """The history before a message of the case (``?before=<message id>``), as the items
    of its list: what "Show earlier history" puts in place of itself."""
    before = request.GET.get("before", "")
    if not before.isdigit():
        raise Http404("No such message.")
    detail = selectors.case_history_before(actor=user_of(request), pk=pk, before=int(before))
    context = {
        "case": detail.case,
        "thread": detail.thread,
        "earlier_before": detail.earlier_before,
    }
    return render_page(request, "service/_thread.html", context)


def _action_failed(request: HttpRequest, pk: int, exc: ValidationFailed, form: str) -> HttpResponse:
    errors = {k: v for k, v in exc.errors.items()} or {"general": [exc.message]}
    context = _case_context(request, pk, errors=errors, values=request.POST, form=form)
    status = 412 if isinstance(exc, VersionConflict) else 422
    return render_page(request, "service/case_detail.html", context, status=status)


def _after(pk: int) -> HttpResponse:
    return redirect("service:case-detail", pk=pk)


@require_POST
@web_view
def case_status(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=user_of(request), pk=pk, action="change")
    try:
        services.case_status_change(
            actor=actor_of(request),
            case=case,
            status=request.POST.get("status", ""),
            reason=request.POST.get("reason", ""),
            expected_version=_version(request),
        )
    except ValidationFailed as exc:
        return _action_failed(request, pk, exc, "status")
    except VersionConflict as exc:
        return _conflict(request, pk, exc)
    return _after(pk)


def _conflict(request: HttpRequest, pk: int, exc: VersionConflict) -> HttpResponse:
    context = _case_context(request, pk, errors={"general": [exc.message]}, values=request.POST)
    return render_page(request, "service/case_detail.html", context, status=409)


@require_POST
@web_view
def case_reply(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=user_of(request), pk=pk, action="change")
    try:
        services.case_reply(
            actor=actor_of(request),
            case=case,
            body=request.POST.get("body", ""),
            status=request.POST.get("then", ""),
            expected_version=_version(request),
        )
    except VersionConflict as exc:
        return _conflict(request, pk, exc)
    except ValidationFailed as exc:
        return _action_failed(request, pk, exc, "reply")
    return _after(pk)


@require_POST
@web_view
def case_note(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=user_of(request), pk=pk, action="change")
    try:
        services.case_note_add(
            actor=actor_of(request), case=case, body=request.POST.get("body", "")
        )
    except ValidationFailed as exc:
        return _action_failed(request, pk, exc, "note")
    return _after(pk)


@require_POST
@web_view
def case_call(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=user_of(request), pk=pk, action="change")
    try:
        minutes = float(request.POST.get("minutes") or 0)
    except ValueError:
        minutes = -1
    try:
        services.case_call_log(
            actor=actor_of(request),
            case=case,
            inbound=request.POST.get("direction", "in") == "in",
            minutes=minutes,
            body=request.POST.get("body", ""),
        )
    except ValidationFailed as exc:
        return _action_failed(request, pk, exc, "call")
    return _after(pk)


@require_POST
@web_view
def case_assign(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_get(actor=user_of(request), pk=pk, action="change")
    try:
        services.case_assign(
            actor=actor_of(request),
            case=case,
            owner=request.POST.get("owner") or None,
            team=request.POST.get("team") or None,
            expected_version=_version(request),
        )
    except VersionConflict as exc:
        return _conflict(request, pk, exc)
    except ValidationFailed as exc:
        return _action_failed(request, pk, exc, "assign")
    return _after(pk)


FORM_FIELDS = ("contact", "subject", "description", "topic", "kind", "priority", "channel")


def _form_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {
        "kinds": list(selectors.kinds().values_list("key", "name")),
        "priorities": Case.Priority.choices,
        "channels": Case.Channel.choices,
        "errors": {},
        **extra,
    }


@require_http_methods(["GET", "POST"])
@web_view
def case_create(request: HttpRequest) -> HttpResponse:
    """The case form. From the caller screen it comes with the contact and the phone
    channel filled in and a subject proposed, so "Create case" is the second click."""
    user = user_of(request)
    permissions.require(user, "add", KIND)
    source = request.POST if request.method == "POST" else request.GET
    contact = None
    if source.get("contact", "").isdigit():
        contact = Contact.objects.filter(pk=int(source["contact"])).first()
        if contact is not None and not permissions.can_see_record(user, "contact", contact):
            contact = None
    if request.method == "POST":
        data: dict[str, Any] = {k: request.POST.get(k, "") for k in FORM_FIELDS}
        data["important"] = request.POST.get("important") == "1"
        try:
            case = services.case_create(actor=actor_of(request), data=data)
        except ValidationFailed as exc:
            context = _form_context(
                request, values=request.POST, errors=exc.errors, contact=contact
            )
            return render(request, "service/case_form.html", context, status=422)
        return redirect("service:case-detail", pk=case.pk)
    values = {
        "subject": source.get("subject", "")
        or (
            f"Call from {contact.full_name}" if contact and source.get("channel") == "phone" else ""
        ),
        "channel": source.get("channel", "phone"),
        "kind": source.get("kind", "inquiry"),
        "priority": str(Case.Priority.NORMAL),
    }
    return render(
        request, "service/case_form.html", _form_context(request, values=values, contact=contact)
    )


@require_http_methods(["GET", "POST"])
@web_view
def case_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    case = selectors.case_get(actor=user, pk=pk, action="change")
    if request.method == "POST":
        data: dict[str, Any] = {
            k: request.POST.get(k, "")
            for k in ("subject", "description", "topic", "kind", "priority", "channel")
        }
        data["important"] = request.POST.get("important") == "1"
        try:
            services.case_update(
                actor=actor_of(request), case=case, data=data, expected_version=_version(request)
            )
        except VersionConflict as exc:
            context = _form_context(request, case=case, values=request.POST, conflict=exc.message)
            return render(request, "service/case_form.html", context, status=409)
        except ValidationFailed as exc:
            context = _form_context(request, case=case, values=request.POST, errors=exc.errors)
            return render(request, "service/case_form.html", context, status=422)
        return redirect("service:case-detail", pk=pk)
    values = {
        "subject": case.subject,
        "description": case.description,
        "topic": case.topic,
        "kind": case.kind.key,
        "priority": str(case.priority),
        "channel": case.channel,
        "important": "1" if case.important else "",
        "version": str(case.version),
    }
    return render(
        request,
        "service/case_form.html",
        _form_context(request, case=case, values=values, contact=case.contact),
    )


def _panel(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    user = user_of(request)
    model = Contact if kind == "contact" else Account
    record = model.objects.filter(pk=pk).first()
    if record is None or not permissions.can_see_record(user, kind, record):
        raise Http404
    filters = selectors.Filters(status="all", sort="newest")
    if kind == "contact":
        filters.contact = pk
    else:
        filters.account = pk
    cases = list(selectors.case_list(actor=user, filters=filters)[:100])
    # Open cases first, then the rest, newest first within each.
    cases.sort(key=lambda c: (not c.is_open, c.priority if c.is_open else 0))
    context = {
        "cases": cases[:20],
        "more": len(cases) > 20,
        "kind": kind,
        "record": record,
        "can_add": kind == "contact" and permissions.can(user, "add", KIND),
    }
    return render_page(request, "service/panel.html", context, fragment="service/_panel.html")


@require_GET
@web_view
def contact_cases(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, "contact", pk)


@require_GET
@web_view
def account_cases(request: HttpRequest, pk: int) -> HttpResponse:
    return _panel(request, "account", pk)


# --- the public web form ------------------------------------------------------------------------

RATE_LIMIT = 5  # submissions per address and form
RATE_WINDOW = 10 * 60  # seconds


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")


@csrf_exempt  # a page embedded on the company's own site; the token and the honeypot guard it
@require_http_methods(["GET", "POST"])
def web_form(request: HttpRequest, token: str) -> HttpResponse:
    """A form anyone may send (no login): name, e-mail, subject, message. Whatever happens
    the answer is the same thank-you page (no existence oracle: it never says whether the
    address is known); a filled honeypot field or too many sends from one address in ten
    minutes store nothing, silently."""
    form = WebForm.objects.filter(token=token, active=True).select_related("kind").first()
    if form is None:
        raise Http404
    context: dict[str, Any] = {"form": form, "values": {}, "errors": {}}
    if request.method == "GET":
        return render(request, "service/web_form.html", context)
    key = f"service-form:{form.pk}:{_client_ip(request)}"
    cache.add(key, 0, RATE_WINDOW)
    try:
        count = cache.incr(key)
    except ValueError:
        count = 1
    data = {k: request.POST.get(k, "") for k in ("name", "email", "subject", "message")}
    if request.POST.get("website") or count > RATE_LIMIT:
        return render(request, "service/web_form_thanks.html", context)
    try:
        webforms.web_form_submit(form=form, data=data)
    except ValidationFailed as exc:
        context.update(values=data, errors=exc.errors)
        return render(request, "service/web_form.html", context, status=422)
    return render(request, "service/web_form_thanks.html", context)
