"""Web pages of sales: the pipeline board, deals, leads, the caller screen's lead form and
the deal panels on contacts and accounts. Thin: parse, call one selector or service, render.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core.errors import ValidationFailed, VersionConflict
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers import selectors as customer_selectors
from rapport.customers.models import Account, Contact
from rapport.sales import selectors, services
from rapport.sales.models import Deal, DealRole, Lead, Stage
from rapport.users import permissions
from rapport.users.models import RecordKind, User

CONFLICT = (
    "This {kind} was changed by someone else since you opened it. Nothing was saved: "
    "check it and apply your change again."
)
DEAL_FORM = (
    "name",
    "amount",
    "currency",
    "expected_close",
    "forecast_category",
    "source",
    "description",
)
LEAD_FORM = ("name", "email", "phone", "company_name", "country", "source", "follow_up_on",
             "role", "need", "budget", "timing", "notes")  # fmt: skip
QUALIFY_FORM = ("role", "need", "budget", "timing")
LABELS = {
    "name": "Name", "amount": "Amount", "currency": "Currency", "expected_close": "Expected close",
    "forecast_category": "Forecast category", "source": "Source", "description": "Description",
    "email": "E-mail", "phone": "Phone", "company_name": "Company", "country": "Country",
    "follow_up_on": "Follow up on", "role": "Their role", "need": "Need", "budget": "Budget",
    "timing": "Timing", "notes": "Notes", "owner": "Owner", "account": "Account",
    "primary_contact": "Primary contact", "stage": "Stage",
}  # fmt: skip
WIDGETS = {
    "amount": "text", "expected_close": "date", "follow_up_on": "date", "email": "email",
    "phone": "tel", "description": "textarea", "need": "textarea", "notes": "textarea",
    "forecast_category": "select",
}  # fmt: skip


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _fields(
    names: tuple[str, ...], values: dict[str, Any], errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    out = []
    for name in names:
        widget = WIDGETS.get(name, "text")
        f = {
            "name": name, "id": f"f-{name}", "label": LABELS.get(name, name), "widget": widget,
            "value": "" if values.get(name) is None else values.get(name), "errors": errors.get(name, []),
            "editable": True, "required": name == "name",
        }  # fmt: skip
        if name == "forecast_category":
            f["choices"] = Deal.ForecastCategory.choices
        if name == "amount":
            f["help_text"] = "Digits and a decimal point, e.g. 12000 or 12000.50."
        out.append(f)
    return out


def _owners() -> list[User]:
    return list(User.objects.filter(is_active=True).order_by("username"))


def _month(value: str) -> str:
    return value if selectors.month_bounds(value) is not None else ""


# --- the board ------------------------------------------------------------------------------


@web_view
def home(request: HttpRequest) -> HttpResponse:
    """The pipeline board: a column per stage, a card per open deal. Drag a card to
    another column on a desktop; on a phone each card has a stage select."""
    user = user_of(request)
    pipeline = selectors.pipeline_get(_int(request.GET.get("pipeline")))
    owner = _int(request.GET.get("owner"))
    if request.GET.get("mine"):
        owner = user.pk
    columns = selectors.board(actor=user, pipeline=pipeline, owner=owner)
    # The card's links and amount made here, once a card: reverse() and the template's
    # number formatting were most of the page's time (bench/sales_board.py).
    detail = reverse("sales:deal-detail", args=[0]).replace("/0/", "/{}/")
    move = reverse("sales:deal-move", args=[0]).replace("/0/", "/{}/")
    for column in columns:
        for d in column.deals:
            d.detail_url, d.move_url = detail.format(d.pk), move.format(d.pk)  # type: ignore[attr-defined]
            d.amount_text = f"{d.amount:,.0f} {d.currency}"  # type: ignore[attr-defined]
    context = {
        "pipeline": pipeline,
        "pipelines": selectors.pipelines(),
        "columns": columns,
        "stages": [c.stage for c in columns],
        "next": request.get_full_path(),
        "lost_reasons": selectors.lost_reasons(),
        "owner": owner,
        "owners": _owners(),
        "can_change": permissions.can(user, "change", RecordKind.DEAL),
        "can_add": permissions.can(user, "add", RecordKind.DEAL),
        "limit": selectors.BOARD_LIMIT,
    }
    return render_page(request, "sales/board.html", context, fragment="sales/_board.html")


@require_POST
@web_view
def deal_move(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A card dropped on a stage, or a stage chosen in its select: ``deal_stage_change``.
    Losing asks for the reason first (the lost form)."""
    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=pk, for_action="change")
    stage = _int(request.POST.get("stage"))
    target = Stage.objects.filter(pk=stage or 0, pipeline_id=deal.pipeline_id).first()
    back = request.POST.get("next") or reverse("sales:home") + f"?pipeline={deal.pipeline_id}"
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("sales:home")
    if (
        target is not None
        and target.kind == Stage.Kind.LOST
        and not request.POST.get("lost_reason")
    ):
        context = {
            "deal": deal,
            "stage": target,
            "lost_reasons": selectors.lost_reasons(),
            "next": back,
            "errors": {},
        }
        return render_page(
            request, "sales/deal_lost.html", context, fragment="sales/_deal_lost.html"
        )
    try:
        services.deal_stage_change(
            actor=actor_of(request),
            deal=deal,
            stage=stage or 0,
            lost_reason=_int(request.POST.get("lost_reason")),
            lost_note=request.POST.get("lost_note", ""),
            expected_version=_version(request),
        )
    except VersionConflict:
        messages.error(request, CONFLICT.format(kind="deal"))
    except ValidationFailed as exc:
        if target is not None and target.kind == Stage.Kind.LOST:
            context = {"deal": deal, "stage": target, "lost_reasons": selectors.lost_reasons(),
                       "next": back, "errors": exc.errors}  # fmt: skip
            return render_page(request, "sales/deal_lost.html", context, status=422)
        messages.error(request, exc.message)
    if getattr(request, "htmx", None):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(back)


# --- deals ----------------------------------------------------------------------------------


def _deal_filters(request: HttpRequest) -> selectors.DealFilters:
    g = request.GET
    return selectors.DealFilters(
        q=g.get("q", "").strip(), status=g.get("status", ""), stage=_int(g.get("stage")),
        owner=_int(g.get("owner")), closing=_month(g.get("closing", "")),
        contact=_int(g.get("contact")), role=g.get("role", ""), account=_int(g.get("account")),
        cursor=g.get("cursor") or None, size=50,
    )  # fmt: skip


@web_view
def deal_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    filters = _deal_filters(request)
    page = selectors.deal_list(actor=user, filters=filters)
    person = None
    if filters.contact:
        person = Contact.objects.filter(pk=filters.contact).first()
        if person is not None and not permissions.can_see_record(user, RecordKind.CONTACT, person):
            person = None
    context = {
        "page": page, "filters": filters, "person": person, "owners": _owners(),
        "stages": Stage.objects.select_related("pipeline").filter(is_active=True),
        "statuses": Deal.Status.choices, "roles": DealRole.Role.choices,
        "can_add": permissions.can(user, "add", RecordKind.DEAL),
        "query": request.GET.copy(),
    }  # fmt: skip
    return render_page(
        request, "sales/deal_list.html", context, fragment="sales/_deal_results.html"
    )


@web_view
def deal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=pk)
    context = {
        "deal": deal,
        "roles": selectors.deal_roles(deal=deal),
        "history": selectors.stage_history(deal=deal),
        "cycle": selectors.sales_cycle(deal),
        "stages": list(deal.pipeline.stages.filter(is_active=True)),
        "lost_reasons": selectors.lost_reasons(),
        "role_choices": DealRole.Role.choices,
        "people": customer_selectors.account_people(actor=user, account=deal.account)
        if permissions.can(user, "view", RecordKind.CONTACT)
        else [],
        "can_change": permissions.can(user, "change", RecordKind.DEAL),
        "tasks": _tasks_for(deal),
        "task_kinds": TASK_KINDS,
        "can_add_task": permissions.can(user, "add", RecordKind.TASK),
    }
    return render_page(request, "sales/deal_detail.html", context)


TASK_KINDS = (
    ("call", "Call back"),
    ("email", "E-mail"),
    ("quote", "Send a quote"),
    ("follow_up", "Follow up"),
)


@require_POST
@web_view
def deal_task_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    """A follow-up on the deal (call back, send a quote…), due on a day: the followups
    app's one Task, following up this deal, on its primary contact and account when the
    user may see them."""
    from rapport.followups import services as followups

    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=pk)
    kind = request.POST.get("kind", "follow_up")
    data: dict[str, Any] = {
        "kind": kind if kind in dict(TASK_KINDS) else "follow_up",
        "title": request.POST.get("title", "").strip() or dict(TASK_KINDS).get(kind, "Follow up"),
        "subject_kind": "deal",
        "subject_id": deal.pk,
    }
    due = request.POST.get("due", "")
    if due:
        data["due_at"] = f"{due}T09:00"
    if deal.primary_contact and permissions.can_see_record(
        user, RecordKind.CONTACT, deal.primary_contact
    ):
        data["contact"] = deal.primary_contact_id
    if permissions.can_see_record(user, RecordKind.ACCOUNT, deal.account):
        data["account"] = deal.account_id
    try:
        followups.task_create(actor=actor_of(request), data=data)
    except ValidationFailed as exc:
        messages.error(
            request, " ".join(m for ms in exc.errors.values() for m in ms) or exc.message
        )
    else:
        messages.success(request, "Follow-up added.")
    return redirect("sales:deal-detail", pk=deal.pk)


def _tasks_for(deal: Deal) -> list[Any]:
    """The deal's open follow-ups, once the followups app provides them."""
    try:
        from rapport.followups import selectors as followups
    except ImportError:
        return []
    finder = getattr(followups, "open_tasks_for", None)
    return list(finder(subject_kind="deal", subject_id=deal.pk)[:20]) if finder else []


def _deal_form_context(
    request: HttpRequest, deal: Deal | None, values: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    user = user_of(request)
    return {
        "deal": deal,
        "fields": _fields(DEAL_FORM, values, errors),
        "accounts": _account_choices(user, values.get("account")) if deal is None else [],
        "values": values,
        "errors": errors,
        "pipelines": selectors.pipelines(),
        "stages": Stage.objects.filter(kind=Stage.Kind.OPEN, is_active=True).select_related(
            "pipeline"
        ),
        "owners": _owners(),
        "can_set_owner": permissions.field_access(user, RecordKind.DEAL).can_edit("owner"),
    }


def _account_choices(user: User, chosen: Any) -> list[Any]:
    """The first 200 accounts the user may see, and the one the form came with (from an
    account's page) if it is further down."""
    accounts = list(
        customer_selectors.account_list(
            actor=user, filters=customer_selectors.ListFilters(size=200)
        ).items
    )
    pk = _int(str(chosen or ""))
    if pk and pk not in {a.pk for a in accounts}:
        found = Account.objects.filter(pk=pk).first()
        if found is not None and permissions.can_see_record(user, RecordKind.ACCOUNT, found):
            accounts.insert(0, found)
    return accounts


@require_http_methods(["GET", "POST"])
@web_view
def deal_create(request: HttpRequest) -> HttpResponseBase:
    user = user_of(request)
    permissions.require(user, "add", RecordKind.DEAL)
    values: dict[str, Any] = {"account": request.GET.get("account", ""), "currency": ""}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        p = request.POST
        values = {k: p.get(k, "") for k in (*DEAL_FORM, "account", "pipeline", "stage", "owner")}
        data = {k: v for k, v in values.items() if v != ""}
        if not permissions.field_access(user, RecordKind.DEAL).can_edit("owner"):
            data.pop("owner", None)
        try:
            deal = services.deal_create(actor=actor_of(request), data=data)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Deal {deal.name} created.")
            return redirect("sales:deal-detail", pk=deal.pk)
    context = _deal_form_context(request, None, values, errors)
    return render_page(request, "sales/deal_form.html", context, status=422 if errors else 200)


@require_http_methods(["GET", "POST"])
@web_view
def deal_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = user_of(request)
    deal = selectors.deal_get(actor=user, pk=pk, for_action="change")
    values: dict[str, Any] = {k: getattr(deal, k) for k in DEAL_FORM}
    values["owner"] = deal.owner_id or ""
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        p = request.POST
        values = {k: p.get(k, "") for k in (*DEAL_FORM, "owner")}
        data = dict(values)
        if not permissions.field_access(user, RecordKind.DEAL).can_edit("owner") or data[
            "owner"
        ] == str(deal.owner_id or ""):
            data.pop("owner")
        try:
            services.deal_update(
                actor=actor_of(request), deal=deal, data=data, expected_version=_version(request)
            )
        except VersionConflict:
            errors = {"form": [CONFLICT.format(kind="deal")]}
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, "Deal saved.")
            return redirect("sales:deal-detail", pk=deal.pk)
    context = _deal_form_context(request, deal, values, errors)
    return render_page(request, "sales/deal_form.html", context, status=422 if errors else 200)


@require_POST
@web_view
def deal_role_add(request: HttpRequest, pk: int) -> HttpResponseBase:
    deal = selectors.deal_get(actor=user_of(request), pk=pk, for_action="change")
    try:
        services.deal_role_add(
            actor=actor_of(request), deal=deal, contact=_int(request.POST.get("contact")) or 0,
            role=request.POST.get("role", ""), is_primary=bool(request.POST.get("is_primary")),
        )  # fmt: skip
    except ValidationFailed as exc:
        messages.error(
            request, " ".join(m for ms in exc.errors.values() for m in ms) or exc.message
        )
    return redirect("sales:deal-detail", pk=deal.pk)


@require_POST
@web_view
def deal_role_remove(request: HttpRequest, pk: int, role_pk: int) -> HttpResponseBase:
    deal = selectors.deal_get(actor=user_of(request), pk=pk, for_action="change")
    services.deal_role_remove(
        actor=actor_of(request),
        role=selectors.role_get(actor=user_of(request), deal=deal, pk=role_pk),
    )
    return redirect("sales:deal-detail", pk=deal.pk)


# --- leads ----------------------------------------------------------------------------------


@web_view
def lead_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    g = request.GET
    filters = selectors.LeadFilters(
        q=g.get("q", "").strip(), status=g.get("status", ""), owner=_int(g.get("owner")),
        cursor=g.get("cursor") or None,
    )  # fmt: skip
    context = {
        "page": selectors.lead_list(actor=user, filters=filters), "filters": filters,
        "statuses": Lead.Status.choices, "owners": _owners(),
        "can_add": permissions.can(user, "add", RecordKind.LEAD), "query": g.copy(),
    }  # fmt: skip
    return render_page(
        request, "sales/lead_list.html", context, fragment="sales/_lead_results.html"
    )


@web_view
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    lead = selectors.lead_get(actor=user, pk=pk)
    can_change = permissions.can(user, "change", RecordKind.LEAD) and (
        permissions.can_see_record(user, RecordKind.LEAD, lead)
    )
    context = {
        "lead": lead,
        "can_change": can_change,
        "can_convert": can_change
        and permissions.can(user, "add", RecordKind.DEAL)
        and not lead.converted_deal_id
        and lead.status != Lead.Status.DISQUALIFIED,
        "role_choices": DealRole.Role.choices,
        "candidates": _candidates(user, lead) if can_change and lead.contact_id is None else [],
    }
    return render_page(request, "sales/lead_detail.html", context)


def _candidates(user: User, lead: Lead) -> list[Any]:
    """Contacts the reader may see that may be the lead's person, for a reviewer to pick
    (below the automatic threshold the lead was not linked on its own)."""
    from rapport.customers.services import ContactParts
    from rapport.identity import selectors as identity_selectors

    if not permissions.can(user, "view", RecordKind.CONTACT):
        return []
    parts = ContactParts(emails=[{"email": lead.email}] if lead.email else [],
                         phones=[{"number": lead.phone}] if lead.phone else [])  # fmt: skip
    return identity_selectors.likely_duplicates(
        actor=user, kind="contact", data={"full_name": lead.name} if lead.name else {}, parts=parts,
        organisation=lead.company_name, limit=3,
    )  # fmt: skip


def _lead_values(request: HttpRequest) -> dict[str, str]:
    return {k: request.POST.get(k, "") for k in LEAD_FORM}


@require_http_methods(["GET", "POST"])
@web_view
def lead_create(request: HttpRequest) -> HttpResponseBase:
    user = user_of(request)
    permissions.require(user, "add", RecordKind.LEAD)
    values: dict[str, Any] = {"source": "Entered by hand"}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _lead_values(request)
        try:
            lead = services.lead_create(
                actor=actor_of(request), data={k: v for k, v in values.items() if v}
            )
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            if lead.contact_id:
                messages.success(
                    request, "This person is known already: the lead is on their contact."
                )
            return redirect("sales:lead-detail", pk=lead.pk)
    context = {"lead": None, "fields": _fields(LEAD_FORM, values, errors), "errors": errors}
    return render_page(request, "sales/lead_form.html", context, status=422 if errors else 200)


@require_http_methods(["GET", "POST"])
@web_view
def lead_edit(request: HttpRequest, pk: int) -> HttpResponseBase:
    lead = selectors.lead_get(actor=user_of(request), pk=pk, for_action="change")
    values: dict[str, Any] = {k: getattr(lead, k) for k in LEAD_FORM}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = _lead_values(request)
        if request.POST.get("contact"):
            values["contact"] = request.POST["contact"]
        try:
            services.lead_update(
                actor=actor_of(request), lead=lead, data=values, expected_version=_version(request)
            )
        except VersionConflict:
            errors = {"form": [CONFLICT.format(kind="lead")]}
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            return redirect("sales:lead-detail", pk=lead.pk)
    context = {"lead": lead, "fields": _fields(LEAD_FORM, values, errors), "errors": errors}
    return render_page(request, "sales/lead_form.html", context, status=422 if errors else 200)


@require_POST
@web_view
def lead_status(request: HttpRequest, pk: int) -> HttpResponseBase:
    """Work, qualify, disqualify (with a reason), link to a contact, assign by the rules."""
    lead = selectors.lead_get(actor=user_of(request), pk=pk, for_action="change")
    actor, version, action = actor_of(request), _version(request), request.POST.get("action", "")
    try:
        if action == "work":
            services.lead_work(actor=actor, lead=lead, expected_version=version)
        elif action == "qualify":
            data = {k: request.POST[k] for k in QUALIFY_FORM if k in request.POST}
            services.lead_qualify(actor=actor, lead=lead, data=data, expected_version=version)
        elif action == "disqualify":
            services.lead_disqualify(
                actor=actor,
                lead=lead,
                reason=request.POST.get("reason", ""),
                expected_version=version,
            )
        elif action == "link":
            services.lead_update(
                actor=actor,
                lead=lead,
                data={"contact": request.POST.get("contact")},
                expected_version=version,
            )
        elif action == "assign":
            services.lead_assign(actor=actor, lead=lead, expected_version=version)
        else:
            raise ValidationFailed("Unknown action.", errors={"action": ["Unknown."]})
    except VersionConflict:
        messages.error(request, CONFLICT.format(kind="lead"))
    except ValidationFailed as exc:
        messages.error(
            request, " ".join(m for ms in exc.errors.values() for m in ms) or exc.message
        )
    return redirect("sales:lead-detail", pk=lead.pk)


@require_http_methods(["GET", "POST"])
@web_view
def lead_convert(request: HttpRequest, pk: int) -> HttpResponseBase:
    user = user_of(request)
    lead = selectors.lead_get(actor=user, pk=pk, for_action="change")
    permissions.require(user, "add", RecordKind.DEAL)
    if lead.converted_deal_id:
        return redirect("sales:deal-detail", pk=lead.converted_deal_id)
    values: dict[str, Any] = {
        "name": "",
        "amount": "",
        "expected_close": "",
        "contact_role": "decision_maker",
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        values = {
            k: request.POST.get(k, "")
            for k in ("name", "amount", "currency", "expected_close", "contact_role")
        }
        deal = {k: v for k, v in values.items() if v and k != "contact_role"}
        try:
            _, made = services.lead_convert(
                actor=actor_of(request), lead=lead, deal=deal, contact_role=values["contact_role"],
                expected_version=_version(request),
            )  # fmt: skip
        except VersionConflict:
            errors = {"form": [CONFLICT.format(kind="lead")]}
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(
                request, "Converted: the contact, the account and the deal are linked."
            )
            return redirect("sales:deal-detail", pk=made.pk)
    context = {
        "lead": lead,
        "values": values,
        "errors": errors,
        "role_choices": DealRole.Role.choices,
    }
    return render_page(request, "sales/lead_convert.html", context, status=422 if errors else 200)


@require_http_methods(["GET", "POST"])
@web_view
def lead_from_caller(request: HttpRequest, pk: int) -> HttpResponseBase:
    """ "Qualify as sales lead" from the caller screen: the caller's role, need, budget and
    timing in a short form; the lead is on the caller's contact and goes to sales by the
    assignment rules."""
    user = user_of(request)
    permissions.require(user, "add", RecordKind.LEAD)
    contact = customer_selectors.contact_get(actor=user, pk=pk)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    back = request.POST.get("back") or request.GET.get("back") or ""
    if not back.startswith("/") or back.startswith("//"):
        back = reverse("timeline:lookup")
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in (*QUALIFY_FORM, "follow_up_on")}
        data = {k: v for k, v in values.items() if v}
        data.update(contact=contact.pk, source="Contact center")
        try:
            services.lead_create(actor=actor_of(request), data=data, assign=True)
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, f"{contact.full_name} is passed to sales as a lead.")
            return redirect(back)
    fields = _fields((*QUALIFY_FORM, "follow_up_on"), values, errors)
    context = {"contact": contact, "fields": fields, "errors": errors, "back": back}
    return render_page(
        request, "sales/lead_from_caller.html", context, status=422 if errors else 200
    )


# --- panels on contacts and accounts -------------------------------------------------------


@web_view
def contact_deals(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    contact = customer_selectors.contact_get(actor=user, pk=pk)
    rows = selectors.deals_for_contact(actor=user, contact_id=contact.pk)
    context = {"rows": rows, "contact": contact, "today": timezone.localdate()}
    return render_page(request, "sales/_contact_panel.html", context)


@web_view
def account_deals(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    account = customer_selectors.account_get(actor=user, pk=pk)
    deals = selectors.deals_for_account(actor=user, account_id=account.pk)
    context = {
        "deals": deals,
        "account": account,
        "can_add": permissions.can(user, "add", RecordKind.DEAL),
    }
    return render_page(request, "sales/_account_panel.html", context)


def closing_this_month(actor: Any, day: dt.date) -> list[Any]:
    """The "My day" section: the actor's open deals expected to close this month, with
    the primary contact to call."""
    from rapport.followups.myday import Item

    return [
        Item(
            title=f"{d.name} · {d.account.name}",
            detail=f"{d.stage.name} · {d.amount:,.0f} {d.currency} · closes {d.expected_close:%d %b}",
            url=reverse("sales:deal-detail", args=[d.pk]),
            due=d.expected_close,
            contact_id=d.primary_contact_id,
            contact_name=d.primary_contact.full_name if d.primary_contact else "",
        )
        for d in selectors.deals_closing(actor=actor, day=day)
    ]
