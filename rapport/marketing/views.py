"""Web pages of marketing: campaigns, their variants and results, the segment builder
(htmx: add a rule, the count follows), "which messages work" with its CSV, events and the
people met there, and the two public addresses a message carries (the open pixel and the
signed click redirect). Thin views over ``selectors`` and ``services``."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.consent.models import Purpose
from rapport.core.charts import Chart, Series
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers.export import csv_chunks
from rapport.customers.models import Contact
from rapport.marketing import forms, rules, selectors, services
from rapport.marketing.models import Campaign
from rapport.users import permissions
from rapport.users.models import RecordKind

KIND = RecordKind.CAMPAIGN
# A transparent 1×1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _can(request: HttpRequest, action: str) -> bool:
    return permissions.can(user_of(request), action, KIND)


# --- Campaigns ------------------------------------------------------------------------


@require_GET
@web_view
def home(request: HttpRequest) -> HttpResponse:
    campaigns = selectors.campaign_list(actor=user_of(request)).order_by("-id")[:100]
    return render_page(
        request, "marketing/home.html", {"campaigns": campaigns, "can_add": _can(request, "add")}
    )


def _campaign_data(request: HttpRequest) -> dict[str, Any]:
    post = request.POST
    data: dict[str, Any] = {
        k: post.get(k, "") for k in ("name", "goal", "purpose", "budget", "cost", "scheduled_at")
    }
    data["segment"] = post.get("segment") or None
    days = post.get("attribution_days", "").strip()
    if days:
        data["attribution_days"] = days
    if not data["scheduled_at"]:
        data["scheduled_at"] = None
    return data


def _campaign_form_context(
    request: HttpRequest, values: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, Any]:
    return {
        "values": values,
        "errors": errors,
        "segments": selectors.segment_list(actor=user_of(request)),
        "purposes": Purpose.objects.filter(active=True, is_marketing=True).order_by(
            "position", "key"
        ),
    }


@require_http_methods(["GET", "POST"])
@web_view
def campaign_create(request: HttpRequest) -> HttpResponse:
    permissions.require(user_of(request), "add", KIND)
    if request.method == "POST":
        data = _campaign_data(request)
        try:
            campaign = services.campaign_create(actor=actor_of(request), data=data)
        except ValidationFailed as exc:
            return render_page(
                request,
                "marketing/campaign_form.html",
                _campaign_form_context(request, request.POST.dict(), exc.errors),
                status=422,
            )
        return redirect("marketing:campaign-detail", campaign.pk)
    return render_page(
        request,
        "marketing/campaign_form.html",
        _campaign_form_context(request, {"attribution_days": 30, "purpose": "newsletter"}, {}),
    )


def _detail_context(request: HttpRequest, campaign: Campaign, **extra: Any) -> dict[str, Any]:
    user = user_of(request)
    report = selectors.campaign_report(actor=user, campaign=campaign)
    chart = Chart(
        key=f"campaign-{campaign.pk}-rates",
        title="Rates per variant",
        labels=[o.label for o in report.variants],
        series=[
            Series("Opens", [round(100 * o.rate("opens"), 2) for o in report.variants]),
            Series("Clicks", [round(100 * o.rate("clicks"), 2) for o in report.variants]),
            Series("Replies", [round(100 * o.rate("replies"), 2) for o in report.variants]),
        ],
        unit="%",
        note="Share of delivered messages. Opens are an estimate: see the note below.",
    )
    return {
        "campaign": campaign,
        "report": report,
        "chart": chart,
        "can_change": permissions.can(user, "change", KIND),
        "editable": campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED),
        "variant_errors": {},
        "variant_values": {},
        **extra,
    }


@require_GET
@web_view
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=user_of(request), pk=pk)
    return render_page(
        request, "marketing/campaign_detail.html", _detail_context(request, campaign)
    )


@require_POST
@web_view
def variant_add(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=user_of(request), pk=pk)
    data: dict[str, Any] = {k: request.POST.get(k, "") for k in ("label", "subject", "body")}
    weight = request.POST.get("weight", "").strip()
    if weight:
        data["weight"] = int(weight) if weight.isdigit() else weight
    try:
        services.variant_create(actor=actor_of(request), campaign=campaign, data=data)
    except ValidationFailed as exc:
        context = _detail_context(request, campaign, variant_errors=exc.errors, variant_values=data)
        return render_page(request, "marketing/campaign_detail.html", context, status=422)
    return redirect("marketing:campaign-detail", campaign.pk)


@require_POST
@web_view
def variant_delete(request: HttpRequest, pk: int, variant: int) -> HttpResponse:
    campaign = selectors.campaign_get(actor=user_of(request), pk=pk)
    found = selectors.variant_get(actor=user_of(request), campaign=campaign, pk=variant)
    services.variant_delete(actor=actor_of(request), variant=found)
    return redirect("marketing:campaign-detail", campaign.pk)


def _campaign_action(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    campaign = selectors.campaign_get(actor=user_of(request), pk=pk)
    try:
        action(campaign)
    except ValidationFailed as exc:
        context = _detail_context(request, campaign, action_errors=exc.errors)
        return render_page(request, "marketing/campaign_detail.html", context, status=422)
    return redirect("marketing:campaign-detail", campaign.pk)


@require_POST
@web_view
def campaign_send(request: HttpRequest, pk: int) -> HttpResponse:
    when = request.POST.get("at", "").strip()

    def send(campaign: Campaign) -> None:
        try:
            at = services._when(when) if when else None
        except ValueError:
            raise ValidationFailed(
                "Not a time.", errors={"at": ["A date and time as YYYY-MM-DDTHH:MM."]}
            ) from None
        services.campaign_schedule(actor=actor_of(request), campaign=campaign, at=at)

    return _campaign_action(request, pk, send)


@require_POST
@web_view
def campaign_winner(request: HttpRequest, pk: int) -> HttpResponse:
    return _campaign_action(
        request, pk, lambda c: services.campaign_choose_winner(actor=actor_of(request), campaign=c)
    )


# --- Which messages work --------------------------------------------------------------


REPORT_HEADERS = [
    "campaign", "variant", "subject", "recipients", "delivered", "skipped_no_consent",
    "opens", "open_rate", "open_low", "open_high", "clicks", "click_rate", "click_low",
    "click_high", "replies", "reply_rate", "unsubscribes", "unsubscribe_rate",
    "influenced_revenue", "won_revenue", "currency", "winner",
]  # fmt: skip


def _report_rows(reports: list[selectors.CampaignReport]) -> list[list[Any]]:
    rows = []
    for report in reports:
        for o in report.variants:
            rows.append([
                report.campaign.name, o.label, o.subject, o.recipients, o.delivered, o.skipped,
                o.opens, round(o.rate("opens"), 4), *(round(x, 4) for x in o.intervals["opens"]),
                o.clicks, round(o.rate("clicks"), 4), *(round(x, 4) for x in o.intervals["clicks"]),
                o.replies, round(o.rate("replies"), 4), o.unsubscribes, round(o.rate("unsubscribes"), 4),
                o.influenced, o.won, report.campaign.currency,
                "yes" if report.campaign.winner_id == o.variant.pk else "",
            ])  # fmt: skip
    return rows


@require_GET
@web_view
def report(request: HttpRequest) -> HttpResponse:
    reports = selectors.which_messages_work(actor=user_of(request))
    labels = [f"{r.campaign.name} · {o.label}" for r in reports for o in r.variants]
    chart = Chart(
        key="which-messages-work",
        title="Click rate per variant",
        labels=labels,
        series=[
            Series(
                "Click rate",
                [round(100 * o.rate("clicks"), 2) for r in reports for o in r.variants],
            )
        ],
        unit="%",
        horizontal=True,
        note="Clicks per delivered message; the table gives the 95 % interval of each.",
    )
    return render_page(
        request,
        "marketing/report.html",
        {"reports": reports, "chart": chart, "can_export": _can(request, "export")},
    )


@require_GET
@web_view
def report_csv(request: HttpRequest) -> StreamingHttpResponse:
    permissions.require(user_of(request), "export", KIND)
    reports = selectors.which_messages_work(actor=user_of(request), limit=500)
    response = StreamingHttpResponse(
        csv_chunks(REPORT_HEADERS, _report_rows(reports)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="which-messages-work.csv"'
    return response


# --- Segments -------------------------------------------------------------------------


@require_GET
@web_view
def segments(request: HttpRequest) -> HttpResponse:
    items = selectors.segment_list(actor=user_of(request))
    return render_page(
        request,
        "marketing/segments.html",
        {"segments": items, "can_add": _can(request, "add"), "describe": rules.describe},
    )


def _builder_context(
    request: HttpRequest, match: str, rows: list[forms.Row], *, preview: bool = True, **extra: Any
) -> dict[str, Any]:
    user = user_of(request)
    context: dict[str, Any] = {
        "match": match,
        "rows": rows,
        "fields": rules.available_fields(user),
        "preview": None,
        "preview_errors": {},
        **extra,
    }
    if preview:
        try:
            context["preview"] = selectors.segment_preview(
                actor=user, rules_data=forms.rules_of("or" if match == "any" else "and", rows)
            )
        except ValidationFailed as exc:
            context["preview_errors"] = exc.errors
    return context


def _rules_from_post(request: HttpRequest) -> tuple[str, list[forms.Row], Any]:
    match, rows = forms.rows_of(request.POST)
    raw = request.POST.get("rules_json", "").strip()
    data = forms.json_rules(raw) if raw else forms.rules_of(match, rows)
    return match, rows, data


@require_POST
@web_view
def segment_builder(request: HttpRequest) -> HttpResponse:
    """The builder's rows again (htmx): a row added or removed, a field changed (its
    operators follow), and the count and sample for the rules as they stand."""
    permissions.require(user_of(request), "view", KIND)
    match, rows = forms.rows_of(request.POST)
    action = request.POST.get("action", "")
    if action == "add" and len(rows) < forms.MAX_ROWS:
        rows.append(forms.Row())
    elif action.startswith("remove-") and action[7:].isdigit() and int(action[7:]) < len(rows):
        rows.pop(int(action[7:]))
    return render_page(request, "marketing/_builder.html", _builder_context(request, match, rows))


@require_http_methods(["GET", "POST"])
@web_view
def segment_create(request: HttpRequest) -> HttpResponse:
    permissions.require(user_of(request), "add", KIND)
    if request.method == "POST":
        match, rows = forms.rows_of(request.POST)
        values = {k: request.POST.get(k, "") for k in ("name", "description", "kind", "rules_json")}
        try:
            _, _, data = _rules_from_post(request)
            segment = services.segment_create(
                actor=actor_of(request),
                data={
                    "name": values["name"],
                    "description": values["description"],
                    "kind": values["kind"] or "dynamic",
                    "rules": data,
                },
            )
        except ValidationFailed as exc:
            context = _builder_context(
                request, match, rows, values=values, errors=exc.errors, preview=False
            )
            return render_page(request, "marketing/segment_form.html", context, status=422)
        return redirect("marketing:segment-detail", segment.pk)
    rows = [forms.Row(field="contact.lifecycle", op="eq", value="customer")]
    return render_page(
        request,
        "marketing/segment_form.html",
        _builder_context(request, "all", rows, values={"kind": "dynamic"}, errors={}),
    )


@require_http_methods(["GET", "POST"])
@web_view
def segment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    segment = selectors.segment_get(actor=user, pk=pk)
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in ("name", "description")}
        try:
            data: dict[str, Any] = dict(values)
            if not segment.frozen_at:
                data["rules"] = _rules_from_post(request)[2]
            services.segment_update(actor=actor_of(request), segment=segment, data=data)
            return redirect("marketing:segment-detail", segment.pk)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    match, rows, fits = forms.rows_from_rules(segment.rules or {})
    preview = selectors.segment_preview(actor=user, segment=segment)
    services.segment_counted(segment=segment, count=preview.count)
    context = _builder_context(
        request,
        match,
        rows,
        preview=False,
        segment=segment,
        errors=errors,
        fits=fits,
        values={"name": segment.name, "description": segment.description},
    )
    context["preview"] = preview
    context["can_change"] = permissions.can(user, "change", KIND)
    context["rules_json"] = json.dumps(segment.rules, indent=1)
    return render_page(request, "marketing/segment_detail.html", context, status=status)


@require_POST
@web_view
def segment_freeze(request: HttpRequest, pk: int) -> HttpResponse:
    segment = selectors.segment_get(actor=user_of(request), pk=pk)
    services.segment_freeze(actor=actor_of(request), segment=segment)
    return redirect("marketing:segment-detail", segment.pk)


@require_POST
@web_view
def segment_delete(request: HttpRequest, pk: int) -> HttpResponse:
    segment = selectors.segment_get(actor=user_of(request), pk=pk)
    services.segment_delete(actor=actor_of(request), segment=segment)
    return redirect("marketing:segments")


# --- Events ---------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@web_view
def events(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    errors: dict[str, list[str]] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = {
            k: request.POST.get(k, "")
            for k in ("name", "starts_on", "ends_on", "place", "purpose", "consent_text")
        }
        try:
            event = services.event_create(actor=actor_of(request), data=values)
            return redirect("marketing:event-detail", event.pk)
        except ValidationFailed as exc:
            errors, status = exc.errors, 422
    context = {
        "events": selectors.event_list(actor=user),
        "can_add": _can(request, "add"),
        "purposes": Purpose.objects.filter(active=True).order_by("position", "key"),
        "values": values,
        "errors": errors,
    }
    return render_page(request, "marketing/events.html", context, status=status)


def _event_context(request: HttpRequest, event: Any, **extra: Any) -> dict[str, Any]:
    user = user_of(request)
    return {
        "event": event,
        "people": selectors.event_people(actor=user, event=event),
        "can_change": permissions.can(user, "change", KIND),
        "errors": {},
        **extra,
    }


@require_GET
@web_view
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(actor=user_of(request), pk=pk)
    return render_page(request, "marketing/event_detail.html", _event_context(request, event))


@require_POST
@web_view
def event_person_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    event = selectors.event_get(actor=user, pk=pk)
    raw = request.POST.get("contact", "").strip()
    contact = (
        Contact.objects.filter(pk=int(raw)).first() if raw.isdigit() and len(raw) < 19 else None
    )
    try:
        if contact is None:
            raise ValidationFailed("No such contact.", errors={"contact": [f"No contact {raw!r}."]})
        services.event_person_add(
            actor=actor_of(request), event=event, contact=contact,
            consent=request.POST.get("consent") == "on", note=request.POST.get("note", "").strip(),
        )  # fmt: skip
    except ValidationFailed as exc:
        return render_page(
            request,
            "marketing/event_detail.html",
            _event_context(request, event, errors=exc.errors),
            status=422,
        )
    return redirect("marketing:event-detail", event.pk)


@require_POST
@web_view
def event_cards(request: HttpRequest, pk: int) -> HttpResponse:
    event = selectors.event_get(actor=user_of(request), pk=pk)
    permissions.require_record(user_of(request), "change", KIND, event)
    services.event_people_from_cards(actor=actor_of(request), event=event)
    return redirect("marketing:event-detail", event.pk)


@require_GET
@web_view
def contact_campaigns(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    contact = Contact.objects.filter(pk=pk).first()
    if contact is None:
        raise NotFound("No such contact.")
    rows = selectors.contact_campaigns(actor=user, contact=contact)[:50]
    return render_page(
        request,
        "marketing/contact_panel.html",
        {"contact": contact, "rows": rows},
        fragment="marketing/_contact_panel.html",
    )


# --- Public: what a message carries ---------------------------------------------------


@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """The open pixel (no login): counts a load, answers a transparent GIF that no cache
    keeps, and the same GIF for a bad token (a mail client shows nothing either way)."""
    with contextlib.suppress(NotFound):
        services.record_open(token=token)
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response


@require_GET
def click(request: HttpRequest, token: str) -> HttpResponse:
    """A tracked link (no login): the signed token names a recipient and the index of a
    link in their variant; anything else is a 404, never a redirect elsewhere."""
    try:
        url = services.record_click(token=token)
    except NotFound:
        raise Http404("This link is not valid.") from None
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    return response
