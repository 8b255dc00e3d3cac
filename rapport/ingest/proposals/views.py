"""Web pages of proposals: the data steward's review queue of what e-mail suggests (new
facts about contacts, new contacts for unknown senders), one proposal with its evidence,
accept (with an edited value) and reject, inline with htmx from the queue, and the
admins' capture rules. Thin views over ``proposals.selectors`` and ``proposals.services``."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.errors import Conflict, ValidationFailed, VersionConflict
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.ingest.models import FactField, Proposal
from rapport.ingest.proposals import selectors, services
from rapport.ingest.proposals.forms import CaptureSettingsForm, DecisionForm
from rapport.users import permissions
from rapport.users.models import RecordKind

PAGE_SIZE = 25
STATES = [("pending", "Waiting"), ("applied", "Applied by a rule"), ("accepted", "Accepted"),
          ("rejected", "Rejected"), ("obsolete", "No longer needed")]  # fmt: skip
KINDS = [("", "All"), ("fact", "New facts"), ("new_contact", "New contacts")]


def _can_decide(request: HttpRequest) -> bool:
    return permissions.can(user_of(request), "change", RecordKind.PROPOSAL)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@require_GET
@web_view
def proposal_list(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    state = request.GET.get("state") or "pending"
    state = state if state in dict(STATES) else "pending"
    kind = request.GET.get("kind", "")
    kind = kind if kind in Proposal.Kind.values else ""
    field = request.GET.get("field", "")
    field = field if field in FactField.values else ""
    page = selectors.proposal_list(
        actor=user,
        state=state,
        kind=kind,
        field=field,
        cursor=request.GET.get("cursor") or None,
        size=PAGE_SIZE,
    )
    counts = selectors.proposal_counts(actor=user, state=state)
    context = {
        "page": page,
        "rows": selectors.rows(page.items),
        "state": state,
        "kind": kind,
        "field": field,
        "states": STATES,
        "kinds": [(v, label, counts.get(v or "all", 0)) for v, label in KINDS],
        "fields": [(v, label, counts.get(v, 0)) for v, label in FactField.choices],
        "count": counts["all"],
        "can_decide": _can_decide(request),
        "is_first_page": not request.GET.get("cursor"),
    }
    return render_page(request, "ingest/proposal_list.html", context)


def _detail_context(
    request: HttpRequest, proposal: Proposal, form: DecisionForm | None = None
) -> dict[str, Any]:
    evidence = proposal.evidence or {}
    contact_url = (
        reverse("customers:contact-detail", args=[proposal.contact_id])
        if proposal.contact_id
        else ""
    )
    sent_at = None
    if evidence.get("sent_at"):
        with contextlib.suppress(ValueError):
            sent_at = dt.datetime.fromisoformat(str(evidence["sent_at"]))
    return {
        "p": proposal,
        "sent_at": sent_at,
        "row": selectors.rows([proposal])[0],
        "evidence": evidence,
        "signature": [
            (line, bool(evidence.get("line")) and line in str(evidence.get("line")))
            for line in evidence.get("signature") or []
        ],
        "contact_url": contact_url,
        "form": form or DecisionForm(proposal=proposal),
        "can_decide": _can_decide(request) and proposal.state == Proposal.State.PENDING,
        "result_contact": (proposal.result or {}).get("contact"),
    }


@require_GET
@web_view
def proposal_detail(request: HttpRequest, pk: int) -> HttpResponse:
    proposal = selectors.proposal_get(actor=user_of(request), pk=pk)
    return render_page(request, "ingest/proposal_detail.html", _detail_context(request, proposal))


def _decided(
    request: HttpRequest, proposal: Proposal, notice: str = "", status: int = 200
) -> HttpResponse:
    """After a decision: the row again (htmx, from the queue) or the proposal's page."""
    if _is_htmx(request) and request.POST.get("from") == "list":
        row = selectors.rows([selectors.proposal_get(actor=user_of(request), pk=proposal.pk)])[0]
        context = {"r": row, "can_decide": _can_decide(request), "notice": notice}
        return render_page(request, "ingest/proposal_row.html", context, status=status)
    if notice:
        messages.error(request, notice)
    return redirect("ingest:proposal-detail", pk=proposal.pk)


def _decide(request: HttpRequest, pk: int, accept: bool) -> HttpResponse:
    user = user_of(request)
    proposal = selectors.proposal_get(actor=user, pk=pk)
    services.require_decider(user)
    form = DecisionForm(request.POST, proposal=proposal)
    if not form.is_valid():
        context = _detail_context(request, proposal, form)
        return render_page(request, "ingest/proposal_detail.html", context, status=422)
    version = form.cleaned_data.get("version")
    try:
        if accept:
            services.proposal_accept(
                actor=actor_of(request),
                proposal=proposal,
                value=form.edited(),
                expected_version=version,
            )
        else:
            services.proposal_reject(
                actor=actor_of(request), proposal=proposal, expected_version=version
            )
    except (VersionConflict, Conflict) as exc:
        proposal.refresh_from_db()
        return _decided(request, proposal, f"Nothing was done: {exc.message}", status=409)
    except ValidationFailed as exc:
        if _is_htmx(request) and request.POST.get("from") == "list":
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            return _decided(request, proposal, f"{exc.message} {details}".strip(), status=422)
        for name, problems in exc.errors.items():
            target = f"v_{name.removeprefix('value.')}"
            form.add_error(target if target in form.fields else None, " ".join(problems))
        if not exc.errors:
            form.add_error(None, exc.message)
        context = _detail_context(request, proposal, form)
        return render_page(request, "ingest/proposal_detail.html", context, status=422)
    proposal.refresh_from_db()
    if not (_is_htmx(request) and request.POST.get("from") == "list"):
        word = {
            "accepted": "Accepted",
            "rejected": "Rejected",
            "obsolete": "Nothing to do: the record has it already",
        }
        messages.success(request, f"{word.get(proposal.state, 'Done')}.")
    return _decided(request, proposal)


@require_POST
@web_view
def proposal_accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, accept=True)


@require_POST
@web_view
def proposal_reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, accept=False)


@require_http_methods(["GET", "POST"])
@web_view
def capture_settings(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    conf = selectors.capture_settings_read(actor=user)
    services.require_admin(user)
    rules = {f: services.rule_for(conf, f) for f in FactField.values}
    notice = ""
    status = 200
    if request.method == "POST":
        form = CaptureSettingsForm(request.POST, conf=conf, rules=rules)
        if form.is_valid():
            try:
                services.capture_settings_update(
                    actor=actor_of(request),
                    rules=form.rules(),
                    unknown_senders=form.cleaned_data["unknown_senders"],
                    expected_version=form.cleaned_data.get("version"),
                )
            except VersionConflict as exc:
                notice, status = f"Nothing was saved: {exc.message}", 409
            else:
                messages.success(request, "Capture settings saved.")
                return redirect("ingest:capture-settings")
        else:
            status = 422
        if status == 409:
            conf = selectors.capture_settings_read(actor=user)
            rules = {f: services.rule_for(conf, f) for f in FactField.values}
            form = CaptureSettingsForm(conf=conf, rules=rules)
    else:
        form = CaptureSettingsForm(conf=conf, rules=rules)
    context = {"form": form, "conf": conf, "notice": notice}
    return render_page(request, "ingest/proposal_settings.html", context, status=status)


urlpatterns: list[URLPattern] = [
    path("proposals/", proposal_list, name="proposal-list"),
    path("proposals/settings/", capture_settings, name="capture-settings"),
    path("proposals/<int:pk>/", proposal_detail, name="proposal-detail"),
    path("proposals/<int:pk>/accept/", proposal_accept, name="proposal-accept"),
    path("proposals/<int:pk>/reject/", proposal_reject, name="proposal-reject"),
]
