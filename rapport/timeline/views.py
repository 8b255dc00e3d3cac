"""Web pages of the timeline: a contact's or an account's 360° panel, and adding a note.

Thin views over ``selectors.timeline`` and ``services.note_add``, as in
``rapport.customers.views``: ``web_view`` turns PermissionDenied and NotFound into 403 and
404 pages. The panel is one page of entries, newest first, grouped by local day; "Show
older" asks for the next page by cursor and gets only the entries (appended by htmx). A
note that fails validation renders the panel again with the text kept and the message next
to it (422, which htmx swaps).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_POST

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers.models import Account, Contact
from rapport.timeline import events, selectors, services
from rapport.timeline.models import Channel, Department, Direction, Entry, EntryLink
from rapport.timeline.render import body_html
from rapport.users import permissions

PAGE_SIZE = 25
# A body longer than this (characters or lines) is folded under <details>.
FOLD_CHARS = 600
FOLD_LINES = 8
PREVIEW_CHARS = 240
CHANNEL_ICONS: dict[str, str] = {
    Channel.EMAIL: "✉",
    Channel.PHONE: "☎",
    Channel.MEETING: "◎",
    Channel.WEB: "⌂",
    Channel.SOCIAL: "＠",
    Channel.SMS: "✆",
    Channel.MAIL: "✉",
    Channel.IN_PERSON: "☺",
    Channel.OTHER: "•",
}
DIRECTION_ICONS: dict[str, str] = {
    Direction.INBOUND: "↙",
    Direction.OUTBOUND: "↗",
    Direction.INTERNAL: "",
}
# The GET parameters of the filter form, kept in the "Show older" link.
FILTER_PARAMS = ("kind", "channel", "department", "since", "until", "q")


@dataclass
class Row:
    """One entry as the panel shows it."""

    link: EntryLink
    entry: Entry
    kind_label: str
    channel_icon: str
    direction_icon: str
    body: SafeString | None
    folded: bool
    preview: str
    duration: str = ""  # a call's or meeting's length in words: "12 min"


@dataclass
class Day:
    label: str
    date: dt.date
    is_today: bool
    continued: bool = False  # the previous page ended on this day: no second heading
    rows: list[Row] = field(default_factory=list)


@dataclass
class FilterForm:
    """The filter form's values as typed, and what the selector gets."""

    values: dict[str, str]
    filters: selectors.Filters
    errors: dict[str, str]

    @property
    def active(self) -> bool:
        return any(self.values.values())


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _date(raw: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _filter_form(request: HttpRequest) -> FilterForm:
    g = request.GET
    values = {name: g.get(name, "").strip() for name in FILTER_PARAMS}
    errors: dict[str, str] = {}
    for name, choices in (
        ("kind", events.KINDS),
        ("channel", Channel.values),
        ("department", Department.values),
    ):
        if values[name] and values[name] not in choices:
            errors[name] = "Choose one of the list."
    since, until = _date(values["since"]), _date(values["until"])
    for name, parsed in (("since", since), ("until", until)):
        if values[name] and parsed is None:
            errors[name] = "A date like 2025-03-31."
    filters = selectors.Filters(
        kinds=[values["kind"]] if values["kind"] and "kind" not in errors else [],
        channels=[values["channel"]] if values["channel"] and "channel" not in errors else [],
        departments=(
            [values["department"]] if values["department"] and "department" not in errors else []
        ),
        since=_local_midnight(since) if since else None,
        # "to" includes the whole day.
        until=_local_midnight(until + dt.timedelta(days=1)) if until else None,
        q=values["q"][:200],
    )
    return FilterForm(values=values, filters=filters, errors=errors)


def duration_text(seconds: int | None) -> str:
    """'45 s', '12 min', '1 h 5 min'; nothing for no length (a call logged without one)."""
    if not seconds:
        return ""
    if seconds < 60:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def _row(link: EntryLink) -> Row:
    entry = link.entry
    info = events.KINDS.get(entry.kind)
    body = entry.body.strip()
    folded = len(body) > FOLD_CHARS or body.count("\n") >= FOLD_LINES
    preview = ""
    if folded:
        first = " ".join(body[: PREVIEW_CHARS + 1].split())
        preview = first[:PREVIEW_CHARS].rstrip() + "…"
    return Row(
        link=link,
        entry=entry,
        kind_label=info.label if info else entry.kind,
        channel_icon=CHANNEL_ICONS.get(entry.channel, "•"),
        direction_icon=DIRECTION_ICONS.get(entry.direction, ""),
        body=body_html(entry) if body else None,
        folded=folded,
        preview=preview,
        duration=duration_text(entry.duration_seconds),
    )


def _days(links: list[EntryLink], *, after: dt.date | None = None) -> list[Day]:
    """Rows grouped by local day, newest first; today's under "Earlier today". ``after`` is
    the day the previous page ended with: its heading is not repeated."""
    today = timezone.localdate()
    days: list[Day] = []
    for link in links:
        day = timezone.localtime(link.occurred_at).date()
        if not days or days[-1].date != day:
            if day == today:
                label = "Earlier today"
            elif day == today - dt.timedelta(days=1):
                label = "Yesterday"
            else:
                label = ""  # the template formats the date
            days.append(Day(label=label, date=day, is_today=day == today))
        days[-1].rows.append(_row(link))
    if days and after == days[0].date:
        days[0].continued = True
    return days


def _record_name(kind: str, pk: int) -> str:
    if kind == "contact":
        name = Contact.objects.filter(pk=pk).values_list("full_name", flat=True).first()
    else:
        name = Account.objects.filter(pk=pk).values_list("name", flat=True).first()
    return name or f"{kind.title()} {pk}"


def _panel_context(
    request: HttpRequest,
    kind: str,
    pk: int,
    *,
    form: FilterForm,
    cursor: str | None = None,
    note: str = "",
    note_errors: list[str] | None = None,
) -> dict[str, Any]:
    user = user_of(request)
    page = selectors.timeline(
        actor=user, kind=kind, pk=pk, filters=form.filters, cursor=cursor, size=PAGE_SIZE
    )
    panel_url = reverse(f"timeline:{kind}-panel", args=[pk])
    days = _days(page.items, after=_date(request.GET.get("after", "")) if cursor else None)
    more_url = ""
    if page.next_cursor:
        query = {k: v for k, v in form.values.items() if v}
        query["cursor"] = page.next_cursor
        query["after"] = days[-1].date.isoformat()
        more_url = f"{panel_url}?{urlencode(query)}"
    return {
        "kind": kind,
        "pk": pk,
        "panel_url": panel_url,
        "note_url": reverse(f"timeline:{kind}-note-add", args=[pk]),
        "record_url": reverse(f"customers:{kind}-detail", args=[pk]),
        "days": days,
        "page": page,
        "more_url": more_url,
        "form": form,
        "kinds": sorted((k, info.label) for k, info in events.KINDS.items()),
        "channels": Channel.choices,
        "departments": Department.choices,
        "can_note": permissions.can(user, "change", kind),
        "note": note,
        "note_errors": note_errors or [],
    }


@require_GET
@web_view
def panel(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """The record's timeline: the panel alone for htmx (loaded after the detail page, or
    reloaded by the filter form), only the next entries for "Show older", else a page."""
    form = _filter_form(request)
    cursor = request.GET.get("cursor") or None
    context = _panel_context(request, kind, pk, form=form, cursor=cursor)
    if getattr(request, "htmx", False) and cursor:
        return render_page(request, "timeline/_entries.html", context)
    context["record_name"] = _record_name(kind, pk)
    return render_page(request, "timeline/panel.html", context, fragment="timeline/_panel.html")


@require_POST
@web_view
def note_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    body = request.POST.get("body", "")
    empty = FilterForm(
        values=dict.fromkeys(FILTER_PARAMS, ""), filters=selectors.Filters(), errors={}
    )
    try:
        services.note_add(actor=actor_of(request), kind=kind, pk=pk, body=body)
    except ValidationFailed as exc:
        errors = exc.errors.get("body") or [exc.message]
        context = _panel_context(request, kind, pk, form=empty, note=body, note_errors=errors)
        context["record_name"] = _record_name(kind, pk)
        return render_page(
            request, "timeline/panel.html", context, fragment="timeline/_panel.html", status=422
        )
    if getattr(request, "htmx", False):
        context = _panel_context(request, kind, pk, form=empty)
        return render_page(request, "timeline/_panel.html", context)
    # Without JavaScript: the panel's own page, which shows the note first.
    return redirect(f"timeline:{kind}-panel", pk=pk)


# --- the agent's screen pop and the quick call log -------------------------------------------


@require_GET
@web_view
def lookup(request: HttpRequest) -> HttpResponse:
    """For contact-center agents: type a number (any format), an e-mail address or a name;
    the people found, their accounts and roles, and their latest touches, today's first."""
    phone_or_q = request.GET.get("q", "").strip()
    region = request.GET.get("region", "").strip().upper()
    context: dict[str, Any] = {
        "q": phone_or_q,
        "region": region,
        "found": None,
        "directions": Direction.choices,
    }
    if phone_or_q:
        looks_like_phone = sum(c.isdigit() for c in phone_or_q) >= 6 and "@" not in phone_or_q
        found = selectors.lookup(
            actor=user_of(request),
            phone=phone_or_q if looks_like_phone else "",
            q="" if looks_like_phone else phone_or_q,
            region=region,
        )
        context["found"] = found
        context["contacts"] = [
            {
                "record": f.record,
                "days": _days(f.entries),
                "open_items": f.open_items,
                "can_log": permissions.can(request.user, "change", "contact"),
            }
            for f in found.contacts
        ]
    return render_page(
        request, "timeline/lookup.html", context, fragment="timeline/_lookup_results.html"
    )


@require_POST
@web_view
def call_log(request: HttpRequest, pk: int) -> HttpResponse:
    """A call, logged in a few seconds: direction, duration in minutes, outcome, notes."""
    post = request.POST
    try:
        minutes = float(post.get("minutes") or 0)
    except ValueError:
        minutes = -1
    if minutes < 0 or minutes > 24 * 60:
        raise ValidationFailed(
            "The call has problems.", errors={"minutes": ["Give the duration in minutes."]}
        )
    outcome = post.get("outcome", "").strip()
    notes = post.get("notes", "").strip()
    direction = post.get("direction", Direction.INBOUND)
    services.entry_add(
        actor=actor_of(request),
        data={
            "kind": "call",
            "summary": f"{'Inbound' if direction == Direction.INBOUND else 'Outbound'} call"
            + (f": {outcome}" if outcome else ""),
            "contacts": [pk],
            "direction": direction,
            "duration_seconds": round(minutes * 60),
            "outcome": outcome[:100],
            "body": notes,
        },
    )
    target = (
        reverse("timeline:lookup")
        + "?"
        + urlencode({"q": post.get("q", ""), "region": post.get("region", "")})
    )
    return redirect(target if post.get("q") else reverse("customers:contact-detail", args=[pk]))


# Types a browser would render or run if it ever displayed the file: always served as bytes.
_ACTIVE_TYPES = ("html", "xml", "javascript", "ecmascript", "svg", "xhtml", "pdf")


def attachment_response(entry: Entry, att_id: int) -> FileResponse:
    """An e-mail attachment of ``entry`` as a download, never shown inline.

    ``Content-Disposition: attachment`` and ``nosniff`` stop the browser rendering a mail's
    HTML or SVG in Rapport's origin; active types are also sent as plain bytes.
    """
    found = next((a for a in entry.attachments.all() if a.pk == att_id), None)
    if found is None:
        raise NotFound("No such attachment.")
    content_type = (found.content_type or "application/octet-stream").lower()
    if "/" not in content_type or any(t in content_type for t in _ACTIVE_TYPES):
        content_type = "application/octet-stream"
    try:
        handle = found.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise NotFound("The attachment's file is missing.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=found.name or "attachment", content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@web_view
def attachment(request: HttpRequest, pk: int, att_id: int) -> HttpResponse:
    """An attachment, for whoever may see one of the records its entry is on (else 404)."""
    entry = selectors.entry_get(actor=user_of(request), pk=pk)
    return attachment_response(entry, att_id)  # type: ignore[return-value]
