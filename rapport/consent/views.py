"""Consent pages: the consent home (purposes, recent changes, the send log), the contact
panel, and the person's own pages reached from a signed link without a login
(one-click unsubscribe, double opt-in confirmation, the preference centre), and the
bounce and complaint webhook."""

from __future__ import annotations

import hmac
import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from rapport.consent import selectors, services
from rapport.consent.models import Channel, LawfulBasis, Purpose, Source, Status
from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, web_view
from rapport.users import permissions
from rapport.users.models import RecordKind

# What staff may say a consent came from (the person's own pages set theirs).
STAFF_SOURCES = (
    Source.CALL,
    Source.EMAIL,
    Source.FORM,
    Source.IN_PERSON,
    Source.IMPORT,
    Source.OTHER,
)


@web_view
@require_http_methods(["GET"])
def home(request: HttpRequest) -> HttpResponse:
    actor = actor_of(request)
    context = {
        "purposes": Purpose.objects.all(),
        "recent": selectors.consent_recent(actor=actor),
        "messages_sent": selectors.outbound_list(actor=actor, limit=30),
        "can_change": permissions.can(request.user, "change", RecordKind.CONSENT),
        "bases": LawfulBasis.choices,
    }
    return render_page(request, "consent/home.html", context)


def _purpose_data(request: HttpRequest, *, creating: bool) -> dict:
    data: dict[str, str | bool] = {
        name: request.POST.get(name, "") for name in ("label", "description", "lawful_basis")
    }
    if creating:
        data["key"] = request.POST.get("key", "")
    for flag in ("double_opt_in", "is_marketing", "active"):
        data[flag] = request.POST.get(flag) == "on"
    return data


@web_view
@require_POST
def purpose_create(request: HttpRequest) -> HttpResponse:
    services.purpose_create(actor=actor_of(request), data=_purpose_data(request, creating=True))
    return redirect("consent:home")


@web_view
@require_POST
def purpose_update(request: HttpRequest, pk: int) -> HttpResponse:
    purpose = Purpose.objects.filter(pk=pk).first()
    if purpose is None:
        raise NotFound("No such purpose.")
    services.purpose_update(
        actor=actor_of(request), purpose=purpose, data=_purpose_data(request, creating=False)
    )
    return redirect("consent:home")


def _panel_context(request: HttpRequest, contact, errors=None) -> dict:
    return {
        "contact": contact,
        "grid": selectors.consent_grid(contact=contact),
        "history": selectors.consent_history(contact=contact, limit=50),
        "messages_sent": selectors.outbound_list(
            actor=actor_of(request), contact=contact, limit=20
        ),
        "can_add": permissions.can(request.user, "add", RecordKind.CONSENT),
        "purposes": Purpose.objects.filter(active=True),
        "channels": Channel.choices,
        "sources": [(s.value, s.label) for s in STAFF_SOURCES],
        "emails": contact.emails.all(),
        "errors": errors or {},
    }


@web_view
@require_http_methods(["GET"])
def contact_panel(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_for_consent(actor=actor_of(request), pk=pk)
    return render_page(
        request, "consent/contact_panel.html", _panel_context(request, contact),
        fragment="consent/_panel.html",
    )  # fmt: skip


@web_view
@require_POST
def contact_record(request: HttpRequest, pk: int) -> HttpResponse:
    actor = actor_of(request)
    contact = selectors.contact_for_consent(actor=actor, pk=pk, action="add")
    source = request.POST.get("source", Source.CALL)
    try:
        if source not in [s.value for s in STAFF_SOURCES]:
            raise ValidationFailed(
                "Invalid input.", errors={"source": ["Choose where it came from."]}
            )
        services.consent_record(
            actor=actor,
            contact=contact,
            channel=request.POST.get("channel", ""),
            purpose=request.POST.get("purpose", ""),
            status=request.POST.get("status", ""),
            source=source,
            address=request.POST.get("address", ""),
            evidence_text=request.POST.get("evidence_text", "")[:2000],
            evidence_version=request.POST.get("evidence_version", ""),
            note=request.POST.get("note", ""),
        )
    except ValidationFailed as exc:
        return render_page(
            request, "consent/contact_panel.html", _panel_context(request, contact, exc.errors),
            fragment="consent/_panel.html", status=422,
        )  # fmt: skip
    if getattr(request, "htmx", None):
        return render_page(
            request, "consent/contact_panel.html", _panel_context(request, contact),
            fragment="consent/_panel.html",
        )  # fmt: skip
    return redirect("consent:contact-panel", pk=contact.pk)


# --- The person's own pages: a signed link, no login ----------------------------------


def _public_error(request: HttpRequest, exc: NotFound) -> HttpResponse:
    return render_page(
        request,
        "consent/public_message.html",
        {"title": "Link not valid", "message": exc.message},
        status=404,
    )


@csrf_exempt  # RFC 8058: the one-click POST comes from the mail client, with no session
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a page whose button POSTs (link scanners follow GETs: a GET never
    unsubscribes); a POST (``List-Unsubscribe=One-Click`` or the button) withdraws at once."""
    try:
        message = services.unsubscribe_message(token)
        if request.method == "POST":
            services.consent_unsubscribe(token=token)
            return render_page(
                request, "consent/public_message.html",
                {"title": "You are unsubscribed", "message": f"You will get no more {message.purpose.label.lower()} from us by e-mail."},
            )  # fmt: skip
    except NotFound as exc:
        return _public_error(request, exc)
    return render_page(request, "consent/unsubscribe.html", {"message": message, "token": token})


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Double opt-in: the link shows a button; the POST confirms (a scanner's GET does not)."""
    try:
        if request.method == "POST":
            event = services.consent_confirm(token=token)
            return render_page(
                request, "consent/public_message.html",
                {"title": "Thank you", "message": f"Your subscription to {event.purpose.label.lower()} is confirmed."},
            )  # fmt: skip
        services.consent_confirm_check(token=token)
    except NotFound as exc:
        return _public_error(request, exc)
    return render_page(request, "consent/confirm.html", {"token": token})


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        contact = services.preferences_contact(token)
        saved = False
        if request.method == "POST":
            choices = {}
            for purpose in Purpose.objects.filter(active=True):
                for channel in Channel.values:
                    value = request.POST.get(f"c-{channel}-{purpose.key}", "")
                    if value in (Status.GRANTED, Status.WITHDRAWN):
                        choices[(channel, purpose.key)] = value
            services.preferences_apply(token=token, choices=choices)
            saved = True
    except NotFound as exc:
        return _public_error(request, exc)
    context = {
        "grid": selectors.consent_grid(
            contact=contact,
            purposes=list(Purpose.objects.filter(active=True).exclude(key="service")),
        ),
        "channels": Channel.choices,
        "saved": saved,
        "first_name": contact.given_name,
    }
    return render_page(request, "consent/preferences.html", context)


@csrf_exempt  # called by the mail provider, authenticated by the shared secret
@require_POST
def bounce_webhook(request: HttpRequest) -> HttpResponse:
    """Bounces and complaints from the mail provider: ``{"events": [{"type": "bounce" |
    "complaint", "address": ..., "message_id": ...}]}`` with the shared secret in
    ``X-Rapport-Webhook-Secret`` (``CONSENT_WEBHOOK_SECRET``; unset: the endpoint is off)."""
    secret = getattr(settings, "CONSENT_WEBHOOK_SECRET", "")
    given = request.headers.get("X-Rapport-Webhook-Secret", "")
    if not secret or not hmac.compare_digest(secret.encode(), given.encode()):
        return JsonResponse({"detail": "Not allowed."}, status=403)
    try:
        payload = json.loads(request.body or b"{}")
        items = payload.get("events", [])
        assert isinstance(items, list)
    except (ValueError, AssertionError, AttributeError):
        return JsonResponse({"detail": 'Expected {"events": [...]}.'}, status=400)
    done = 0
    for item in items[:1000]:
        if not isinstance(item, dict) or item.get("type") not in ("bounce", "complaint"):
            continue
        address = str(item.get("address", ""))[:254]
        if "@" not in address:
            continue
        services.address_bounced(
            address=address, kind=item["type"], message_id=str(item.get("message_id", ""))[:250]
        )
        done += 1
    return JsonResponse({"processed": done})
