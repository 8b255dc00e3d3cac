"""Web pages of the customer master: thin views over ``selectors`` and ``services``.

Errors from services map to pages in one place (``rapport.core.web.web_view``); a form
that fails validation is rendered again with what the user typed and each message next
to its input.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.db.models import Model, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from rapport.core import panels
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers import export, forms, normalize, selectors, services, web_selectors
from rapport.customers.api.render import CONTACT_FIELDS, MEMBERSHIP_FIELDS
from rapport.customers.models import (
    Account,
    AccountMembership,
    Contact,
    ContactAddress,
    ContactEmail,
    ContactExternalId,
    ContactPhone,
    DataField,
    Lifecycle,
    Tag,
)
from rapport.customers.web_selectors import HistoryRow
from rapport.identity import check
from rapport.identity import selectors as identity_selectors
from rapport.users import permissions
from rapport.users.models import RecordKind, Role, User

CONFLICT = (
    "This {kind} was changed by someone else since you opened it. Nothing was saved. "
    "Your input is kept below: check the current record, then save again to apply it."
)
CONTACT_PARTS = ("emails", "phones", "addresses", "memberships")
ACCOUNT_PARTS = ("domains", "addresses")
CONTACT_COLUMNS = ("emails", "phones", "memberships", "owner", "lifecycle")
ACCOUNT_COLUMNS = ("domains", "industry", "country", "owner", "lifecycle")


def _version(request: HttpRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _can(request: HttpRequest, kind: str) -> dict[str, bool]:
    return {a: permissions.can(user_of(request), a, kind) for a in ("add", "change", "delete", "export")}


# --- search -----------------------------------------------------------------------------


@web_view
def search(request: HttpRequest) -> HttpResponse:
    if request.GET.get("kind") == "account":
        return _account_picker(request)
    q = request.GET.get("q", "").strip()
    results = selectors.search(actor=user_of(request), q=q, limit=20) if q else None
    context = {"q": q, "results": results}
    return render_page(request, "customers/search.html", context, fragment="customers/_search_results.html")


_PICKER_FIELD = re.compile(r"^[a-z_]{1,40}$")


def _account_picker(request: HttpRequest) -> HttpResponse:
    """The account type-ahead's options: up to 10 accounts the user may see, as radio buttons
    named ``field`` (``?kind=account&field=account&account_q=acme``; ``q`` works too)."""
    g = request.GET
    q = (g.get("q") or g.get(f"{g.get('field', 'account')}_q") or "").strip()
    field = g.get("field", "account")
    if not _PICKER_FIELD.match(field):
        raise ValidationFailed("Invalid field name.", errors={"field": ["Letters and _ only."]})
    options = web_selectors.account_matches(actor=user_of(request), q=q)
    context = {"options": options, "field": field, "q": q, "chosen": ""}
    return render_page(request, "customers/_account_picker.html", context)


# --- lists ------------------------------------------------------------------------------


def _filters(request: HttpRequest) -> selectors.ListFilters:
    g = request.GET
    owner = g.get("owner", "")
    return selectors.ListFilters(
        q=g.get("q", "").strip(),
        lifecycle=g.get("lifecycle", ""),
        owner=int(owner) if owner.isdigit() else None,
        tag=g.get("tag", "").strip(),
        sort=g.get("sort", "") or "name",
        cursor=g.get("cursor") or None,
        size=50,
    )


def _list_context(request: HttpRequest, kind: str, page: Any, filters: selectors.ListFilters, columns: tuple[str, ...]) -> dict[str, Any]:
    access = permissions.field_access(user_of(request), kind)
    return {
        "page": page,
        "filters": filters,
        "show": {c: access.can_view(c) for c in columns},
        "lifecycles": Lifecycle.choices,
        "owners": web_selectors.owner_choices(),
        "tags": web_selectors.tag_names(),
        "sorts": [("name", "Name A–Z"), ("-name", "Name Z–A"), ("newest", "Newest"), ("oldest", "Oldest"), ("updated", "Recently updated")],
        "can": _can(request, kind),
        "is_first_page": not filters.cursor,
    }


@web_view
def contact_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = selectors.contact_list(actor=user_of(request), filters=filters)
    context = _list_context(request, RecordKind.CONTACT, page, filters, CONTACT_COLUMNS)
    return render_page(request, "customers/contact_list.html", context, fragment="customers/_contact_results.html")


@web_view
def export_list(request: HttpRequest, kind: str, fmt: str) -> HttpResponseBase:
    """The list as filtered, every page, as CSV (streamed) or XLSX (built on disk)."""
    filters = _filters(request)
    filters.cursor = None
    headers, rows = export.export_rows(actor=actor_of(request), kind=kind, filters=filters)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    name = f"rapport-{kind}s-{stamp}.{fmt}"
    if fmt == "csv":
        response = StreamingHttpResponse(export.csv_chunks(headers, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    export.write_xlsx(headers, rows, spool)
    spool.seek(0)
    return FileResponse(
        spool,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@web_view
def account_list(request: HttpRequest) -> HttpResponse:
    filters = _filters(request)
    page = selectors.account_list(actor=user_of(request), filters=filters)
    context = _list_context(request, RecordKind.ACCOUNT, page, filters, ACCOUNT_COLUMNS)
    return render_page(request, "customers/account_list.html", context, fragment="customers/_account_results.html")


# --- duplicates: the check before create, the panel on a record, merges in its history ---

# The steward pages of rapport.identity (compare, merge): plain paths, so these pages do not
# depend on that app's URLs being installed.
COMPARE_PATH = "/duplicates/compare/?kind={kind}&ids={ids}"
MERGE_PATH = "/duplicates/merges/{pk}/"


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() else None


def _possible_duplicates(request: HttpRequest, kind: str, **create: Any) -> list[check.Match]:
    # The one duplicate check before a create (identity.selectors.likely_duplicates), given
    # what the create service will be given.
    return identity_selectors.likely_duplicates(actor=user_of(request), kind=kind, **create)


@dataclass
class DuplicateRow:
    """One likely duplicate as the pages show it: the match, and its evidence in words."""

    match: check.Match
    reasons: list[str]  # what makes them alike, strongest first
    doubts: list[str]  # what tells them apart
    compare: str = ""


def _rows(matches: list[check.Match], compare_with: int | None = None) -> list[DuplicateRow]:
    rows = []
    for m in matches:
        reasons = [e.words for e in m.evidence if e.weight > 0]
        if reasons:
            reasons[0] = reasons[0][:1].upper() + reasons[0][1:]
        doubts = [e.words for e in m.evidence if e.weight < 0]
        compare = COMPARE_PATH.format(kind=m.kind, ids=f"{compare_with},{m.record_id}")
        rows.append(DuplicateRow(m, reasons, doubts, compare if compare_with else ""))
    return rows


def _warning_context(request: HttpRequest, kind: str, matches: list[check.Match], *, blocking: bool) -> dict[str, Any]:
    """The panel saying "this looks like …": a hint while typing, or, after a submit that
    created nothing (``blocking``), the choice to open, merge or create anyway."""
    return {
        "matches": _rows(matches),
        "dup_kind": kind,
        "blocking": blocking,
        "can_merge": permissions.can(user_of(request), "change", RecordKind.DUPLICATE),
    }


def _duplicate_choice(request: HttpRequest) -> tuple[bool, int | None]:
    """What the user chose on the warning: (create anyway, the record to merge with after
    creating). Merging is for the roles that may merge duplicates."""
    merge_with = _int_or_none(request.POST.get("merge_with"))
    if merge_with is not None:
        permissions.require(user_of(request), "change", RecordKind.DUPLICATE)
    return request.POST.get("create_anyway") == "1" or merge_with is not None, merge_with


def _after_create(kind: str, pk: int, merge_with: int | None) -> HttpResponse:
    if merge_with is not None:
        return redirect(COMPARE_PATH.format(kind=kind, ids=f"{merge_with},{pk}"))
    return redirect(f"customers:{kind}-detail", pk=pk)


def _duplicates_panel(request: HttpRequest, kind: str, pk: int) -> dict[str, Any]:
    """The record's likely duplicates, scored now, and the merges it survived. The caller
    has checked that the user may see the record."""
    user = user_of(request)
    permissions.require(user, "view", RecordKind.DUPLICATE)
    candidates = identity_selectors.candidates_for(actor=user, kind=kind, pk=pk)
    return {
        "duplicates": _rows(candidates, compare_with=pk),
        "merges": [
            (m, MERGE_PATH.format(pk=m.pk))
            for m in identity_selectors.merges_of_record(actor=user, kind=kind, pk=pk)
        ],
        "record_kind": kind,
    }


@dataclass
class IdentityNote:
    """A merge or unmerge in the history, in words: ``before`` [links] ``after``."""

    before: str
    links: list[tuple[str, str]]  # (text, href) of the records named
    after: str = ""


@dataclass
class HistoryRowWithNote(HistoryRow):
    note: IdentityNote | None = None


IDENTITY_CHANGES = ("merged", "merged_into", "unmerged", "restored_from")


def _identity_note(entry: Any, kind: str, pk: int) -> IdentityNote | None:
    changes = entry.changes

    def links(ids: list[Any], capital: bool = False) -> list[tuple[str, str]]:
        label = kind.capitalize() if capital else kind
        detail = f"customers:{kind}-detail"
        return [(f"{label} {i}", reverse(detail, args=[i])) for i in ids if isinstance(i, int)]

    if "merged" in changes:
        return IdentityNote("Merged", links(changes["merged"][1] or []), "into this record")
    if "merged_into" in changes:
        if entry.entity_id != pk:  # a record merged into this one: its history shows here
            return IdentityNote("", links([entry.entity_id], capital=True), "was merged into this record")
        return IdentityNote("Merged into", links([changes["merged_into"][1]]))
    if "unmerged" in changes:
        return IdentityNote("Unmerged:", links(changes["unmerged"][1] or []), "restored")
    if "restored_from" in changes:
        return IdentityNote("Restored from", links([changes["restored_from"][0]]))
    return None


def _history(request: HttpRequest, kind: str, obj: Any) -> list[HistoryRowWithNote] | None:
    """The record's history rows; merges and unmerges say what happened in words."""
    rows = web_selectors.history_rows(actor=user_of(request), kind=kind, obj=obj)
    if rows is None:
        return None
    out = []
    for row in rows:
        note = _identity_note(row.entry, kind, obj.pk) if row.entry.action in ("merge", "unmerge") else None
        changes = [c for c in row.changes if c[0] not in IDENTITY_CHANGES] if note else row.changes
        out.append(HistoryRowWithNote(row.entry, changes, note))
    return out


# --- contact detail and its parts -------------------------------------------------------


def _custom_rows(request: HttpRequest, entity: str, obj: Any) -> list[tuple[DataField, Any]]:
    rows = []
    for df in selectors.datafields_for(actor=user_of(request), entity=entity):
        value = obj.custom.get(df.key)
        if df.type == DataField.Type.PHONE and value:
            value = normalize.format_phone(value)
        elif df.type == DataField.Type.BOOLEAN and value is not None:
            value = "Yes" if value else "No"
        elif isinstance(value, list):
            value = ", ".join(map(str, value))
        rows.append((df, value))
    return rows


def _contact_context(request: HttpRequest, contact: Contact, **extra: Any) -> dict[str, Any]:
    access = permissions.field_access(user_of(request), RecordKind.CONTACT)
    can = _can(request, RecordKind.CONTACT)
    context: dict[str, Any] = {
        "contact": contact,
        "show": {n: access.can_view(n) for n in ("owner", "lifecycle", "source", "tags", "emails", "phones", "addresses", "memberships", "external_ids", *services.CONTACT_FIELDS)},
        "edit_parts": {p: can["change"] and access.can_edit(p) for p in CONTACT_PARTS},
        "custom_rows": _custom_rows(request, RecordKind.CONTACT, contact),
        "history": _history(request, RecordKind.CONTACT, contact),
        "can": can,
        "kinds": forms.KIND_CHOICES,
        "buying_roles": forms.BUYING_ROLE_CHOICES,
        "part_errors": {},
        "part_values": {},
        "part_message": "",
        "open_part": "",  # the add form rendered open (no JavaScript), else loaded on click
        "account_candidates": [],
        "can_view_duplicates": permissions.can(user_of(request), "view", RecordKind.DUPLICATE),
        "duplicates": None,  # the panel loads after the page (htmx), or with ?panel=duplicates
        "panels": panels.panels_for(user=user_of(request), kind="contact", pk=contact.pk),
    }
    context.update(extra)
    return context


def _cached(model: type[Model], objs: list[Any]) -> QuerySet[Any]:
    """A queryset that is already evaluated: what a prefetch leaves on a related manager."""
    qs: QuerySet[Any] = QuerySet(model=model)
    qs._result_cache = objs
    qs._prefetch_done = True  # type: ignore[attr-defined]
    return qs


def _contact_of(values: dict[str, Any], user: Any) -> Contact:
    """The contact of ``selectors.contact_detail`` as the instance ``contact_get`` returns
    (owner, parts, memberships with their accounts, tags), built without a query, so the
    detail templates read it the same way."""
    contact = Contact(id=values["id"], **{f: values[f] for f in CONTACT_FIELDS})
    if values["owner_user"] is not None:
        contact.owner = User(id=values["owner_id"], **values["owner_user"])
    cache: dict[str, QuerySet[Any]] = {
        name: _cached(model, [model(contact_id=contact.pk, **p) for p in values[name]])
        for name, model in (
            ("emails", ContactEmail),
            ("phones", ContactPhone),
            ("addresses", ContactAddress),
            ("external_ids", ContactExternalId),
        )
    }
    memberships = []
    for m in values["memberships"]:
        membership = AccountMembership(contact_id=contact.pk, **{f: m[f] for f in MEMBERSHIP_FIELDS})
        account = Account(id=m["account_id"], name=m["account_name"], owner_id=m["account_owner_id"])
        if not permissions.can_see_record(user, RecordKind.ACCOUNT, account):
            account.name = "An account you cannot see"  # as the API does: no name leaks
        membership.account = account
        memberships.append(membership)
    cache["memberships"] = _cached(AccountMembership, memberships)
    cache["tags"] = _cached(Tag, [Tag(name=n) for n in sorted(values["tags"])])
    contact._prefetched_objects_cache = cache  # type: ignore[attr-defined]
    return contact


@web_view
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The contact's page; ``?panel=duplicates`` its possible duplicates (the panel alone
    for htmx, which loads it after the page, since scoring takes a moment)."""
    if request.GET.get("panel") == "duplicates":
        contact = selectors.contact_get(actor=user_of(request), pk=pk)
        panel = _duplicates_panel(request, RecordKind.CONTACT, contact.pk)
        if getattr(request, "htmx", False):
            return render_page(request, "customers/_duplicates_panel.html", panel)
        return render_page(request, "customers/contact_detail.html", _contact_context(request, contact, **panel))
    contact = _contact_of(selectors.contact_detail(actor=user_of(request), pk=pk), user_of(request))
    return render_page(request, "customers/contact_detail.html", _contact_context(request, contact))


def _membership_account(request: HttpRequest, data: dict[str, Any]) -> list[tuple[int, str]]:
    """The account of a new membership, from the type-ahead: the chosen id, or else the one
    visible account matching the typed text (so the form works without JavaScript).

    Returns the candidates when the text matches several accounts, for the user to choose.
    """
    q = request.POST.get("account_q", "").strip()
    if data["account"] or not q:
        return []
    matches = web_selectors.account_matches(actor=user_of(request), q=q)
    exact = [m for m in matches if normalize.fold(m[1]) == normalize.fold(q)]
    if len(matches) == 1 or len(exact) == 1:
        data["account"] = (exact or matches)[0][0]
        return []
    if not matches:
        raise ValidationFailed("No such account.", errors={"account": [f"No account you can see matches “{q}”."]})
    return matches


def _part_change(request: HttpRequest, *, kind: str, pk: int, part: str, part_pk: int | None) -> HttpResponse:
    """Add (part_pk None) or remove one e-mail, phone, address, domain or membership.

    A GET of the add URL answers the add form alone (htmx, loaded on click so the detail page
    does not carry every form), or the detail page with that form open (no JavaScript)."""
    allowed = CONTACT_PARTS if kind == RecordKind.CONTACT else ACCOUNT_PARTS
    if part not in allowed:
        raise NotFound("No such part.")

    def load() -> Any:
        if kind == RecordKind.CONTACT:
            return selectors.contact_get(actor=user_of(request), pk=pk)
        return selectors.account_get(actor=user_of(request), pk=pk)

    def page(record: Any, status: int = 200, **extra: Any) -> HttpResponse:
        if kind == RecordKind.CONTACT:
            context = _contact_context(request, record, **extra)
            return render_page(request, "customers/contact_detail.html", context, fragment="customers/_contact_parts.html", status=status)
        context = _account_context(request, record, **extra)
        return render_page(request, "customers/account_detail.html", context, fragment="customers/_account_parts.html", status=status)

    record = load()
    if request.method == "GET":
        if part_pk is not None:
            raise NotFound("No such page.")
        permissions.require(user_of(request), "change", kind)  # type: ignore[arg-type]
        if not permissions.field_access(user_of(request), kind).can_edit(part):
            raise PermissionDenied(f"Your role may not change the {part} of this {kind}.")
        form = "customers/_contact_part_form.html" if kind == RecordKind.CONTACT else "customers/_account_part_form.html"
        template = "customers/contact_detail.html" if kind == RecordKind.CONTACT else "customers/account_detail.html"
        build = _contact_context if kind == RecordKind.CONTACT else _account_context
        return render_page(request, template, build(request, record, open_part=part, part=part), fragment=form)
    actor = actor_of(request)
    candidates: list[tuple[int, str]] = []
    try:
        if part_pk is None:
            data = forms.part_data(part, request.POST)
            if part == "memberships":
                candidates = _membership_account(request, data)
                if candidates:
                    raise ValidationFailed("Choose an account.", errors={"account": ["Several accounts match: choose one."]})
            services.part_add(actor=actor, parent=record, part=part, data=data, expected_version=_version(request))
        else:
            obj = services.part_get(parent=record, part=part, pk=part_pk)
            services.part_delete(actor=actor, parent=record, part=part, obj=obj, expected_version=_version(request))
    except ValidationFailed as exc:
        return page(load(), 422, part_errors={part: exc.errors}, part_values={part: request.POST}, account_candidates=candidates)
    except VersionConflict:
        message = CONFLICT.format(kind=kind).replace("Your input is kept below: check the current record, then save again to apply it.", "The latest version is shown; please try again.")
        return page(load(), 409, part_message=message, part_values={part: request.POST})
    if not getattr(request, "htmx", False):
        return redirect(f"customers:{kind}-detail", pk=pk)
    return page(load())


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def contact_part_add(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    return _part_change(request, kind=RecordKind.CONTACT, pk=pk, part=part, part_pk=None)


@require_POST
@web_view
def contact_part_delete(request: HttpRequest, pk: int, part: str, part_pk: int) -> HttpResponse:
    return _part_change(request, kind=RecordKind.CONTACT, pk=pk, part=part, part_pk=part_pk)


# --- contact create / edit / delete ------------------------------------------------------


def _contact_form_page(request: HttpRequest, *, contact: Contact | None, form: forms.Form, status: int = 200, conflict: str = "", version: int | None = None, **extra: Any) -> HttpResponse:
    context = {"contact": contact, "form": form, "conflict": conflict, "version": version, **extra}
    return render_page(request, "customers/contact_form.html", context, status=status)


@web_view
def contact_create(request: HttpRequest) -> HttpResponse:
    """The new-contact form. A submit that looks like a contact already there creates
    nothing and shows the likely matches, until the user chooses to create anyway (or to
    create and merge). ``GET ?check=duplicates&…`` answers the same panel as a hint while
    the user types."""
    user = user_of(request)
    permissions.require(user, "add", RecordKind.CONTACT)
    access = permissions.field_access(user, RecordKind.CONTACT)
    datafields = selectors.datafields_for(actor=user, entity=RecordKind.CONTACT)
    if request.method == "GET" and request.GET.get("check") == "duplicates":
        data, parts = forms.contact_data(post=request.GET, access=access, datafields=datafields)
        matches = _possible_duplicates(request, RecordKind.CONTACT, data=data, parts=parts)
        context = _warning_context(request, RecordKind.CONTACT, matches, blocking=False)
        return render_page(request, "customers/_duplicate_warning.html", context)
    errors: dict[str, list[str]] = {}
    warning: dict[str, Any] = {}
    create_anyway = False
    if request.method == "POST":
        data, parts = forms.contact_data(post=request.POST, access=access, datafields=datafields)
        create_anyway, merge_with = _duplicate_choice(request)
        try:
            # Wrong values first: a duplicate warning would hide their errors.
            services.contact_validate(actor=actor_of(request), data=data, parts=parts)
        except ValidationFailed as exc:
            errors = exc.errors
        matches = [] if create_anyway or errors else _possible_duplicates(request, RecordKind.CONTACT, data=data, parts=parts)
        if matches:
            warning = _warning_context(request, RecordKind.CONTACT, matches, blocking=True)
        elif not errors:
            try:
                contact = services.contact_create(actor=actor_of(request), data=data, parts=parts)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                messages.success(request, f"Created {contact}.")
                return _after_create(RecordKind.CONTACT, contact.pk, merge_with)
    form = forms.contact_form(
        access=access,
        datafields=datafields,
        owners=web_selectors.owner_choices(),
        accounts=web_selectors.account_choices(actor=user),
        post=request.POST if request.method == "POST" else None,
        errors=errors,
        default_owner=user.pk,
    )
    status = 422 if errors else 409 if warning else 200
    return _contact_form_page(request, contact=None, form=form, status=status, create_anyway=create_anyway, **warning)


@web_view
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    contact = selectors.contact_get(actor=user, pk=pk, for_action="change")
    access = permissions.field_access(user, RecordKind.CONTACT)
    datafields = selectors.datafields_for(actor=user, entity=RecordKind.CONTACT)
    errors: dict[str, list[str]] = {}
    conflict, status = "", 200
    version: int | None = contact.version
    if request.method == "POST":
        data, _ = forms.contact_data(post=request.POST, access=access, datafields=datafields, contact=contact)
        try:
            services.contact_update(actor=actor_of(request), contact=contact, data=data, expected_version=_version(request))
        except ValidationFailed as exc:
            errors, status, version = exc.errors, 422, _version(request)
        except VersionConflict as exc:
            conflict, status, version = CONFLICT.format(kind="contact"), 409, exc.current_version
        else:
            messages.success(request, "Saved.")
            return redirect("customers:contact-detail", pk=contact.pk)
    form = forms.contact_form(
        access=access,
        datafields=datafields,
        owners=web_selectors.owner_choices(),
        contact=contact,
        post=request.POST if request.method == "POST" else None,
        errors=errors,
    )
    return _contact_form_page(request, contact=contact, form=form, status=status, conflict=conflict, version=version)


@web_view
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = selectors.contact_get(actor=user_of(request), pk=pk, for_action="delete")
    conflict = ""
    if request.method == "POST":
        try:
            services.contact_delete(actor=actor_of(request), contact=contact, expected_version=_version(request))
        except VersionConflict:
            conflict = CONFLICT.format(kind="contact").split(" Your input")[0]
            contact = selectors.contact_get(actor=user_of(request), pk=pk, for_action="delete")
        else:
            messages.success(request, f"Deleted {contact}.")
            return redirect("customers:contact-list")
    context = {"record": contact, "kind": "contact", "conflict": conflict, "cancel": reverse("customers:contact-detail", args=[pk])}
    return render_page(request, "customers/confirm_delete.html", context, status=409 if conflict else 200)


# --- accounts ---------------------------------------------------------------------------


def _account_context(request: HttpRequest, account: Account, **extra: Any) -> dict[str, Any]:
    access = permissions.field_access(user_of(request), RecordKind.ACCOUNT)
    can = _can(request, RecordKind.ACCOUNT)
    context: dict[str, Any] = {
        "account": account,
        "show": {n: access.can_view(n) for n in ("domains", "addresses", "external_ids", *services.ACCOUNT_FIELDS)},
        "edit_parts": {p: can["change"] and access.can_edit(p) for p in ACCOUNT_PARTS},
        "custom_rows": _custom_rows(request, RecordKind.ACCOUNT, account),
        "people": selectors.account_people(actor=user_of(request), account=account),
        "children": web_selectors.account_children(actor=user_of(request), account=account),
        "parent_visible": account.parent is not None and permissions.can_see_record(user_of(request), RecordKind.ACCOUNT, account.parent),
        "history": _history(request, RecordKind.ACCOUNT, account),
        "can": can,
        "kinds": forms.KIND_CHOICES,
        "part_errors": {},
        "part_values": {},
        "part_message": "",
        "open_part": "",
        "can_view_duplicates": permissions.can(user_of(request), "view", RecordKind.DUPLICATE),
        "duplicates": None,
        "panels": panels.panels_for(user=user_of(request), kind="account", pk=account.pk),
    }
    context.update(extra)
    return context


@web_view
def account_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The account's page; ``?panel=duplicates`` its possible duplicates, as for contacts."""
    account = selectors.account_get(actor=user_of(request), pk=pk)
    if request.GET.get("panel") == "duplicates":
        panel = _duplicates_panel(request, RecordKind.ACCOUNT, account.pk)
        if getattr(request, "htmx", False):
            return render_page(request, "customers/_duplicates_panel.html", panel)
        return render_page(request, "customers/account_detail.html", _account_context(request, account, **panel))
    return render_page(request, "customers/account_detail.html", _account_context(request, account))


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def account_part_add(request: HttpRequest, pk: int, part: str) -> HttpResponse:
    return _part_change(request, kind=RecordKind.ACCOUNT, pk=pk, part=part, part_pk=None)


@require_POST
@web_view
def account_part_delete(request: HttpRequest, pk: int, part: str, part_pk: int) -> HttpResponse:
    return _part_change(request, kind=RecordKind.ACCOUNT, pk=pk, part=part, part_pk=part_pk)


def _account_form_page(request: HttpRequest, *, account: Account | None, form: forms.Form, status: int = 200, conflict: str = "", version: int | None = None, **extra: Any) -> HttpResponse:
    context = {"account": account, "form": form, "conflict": conflict, "version": version, **extra}
    return render_page(request, "customers/account_form.html", context, status=status)


@web_view
def account_create(request: HttpRequest) -> HttpResponse:
    """The new-account form, with the same duplicate check as the contact form."""
    user = user_of(request)
    permissions.require(user, "add", RecordKind.ACCOUNT)
    access = permissions.field_access(user, RecordKind.ACCOUNT)
    datafields = selectors.datafields_for(actor=user, entity=RecordKind.ACCOUNT)
    if request.method == "GET" and request.GET.get("check") == "duplicates":
        data, domains = forms.account_data(post=request.GET, access=access, datafields=datafields)
        domains = domains if access.can_edit("domains") else []
        matches = _possible_duplicates(request, RecordKind.ACCOUNT, data=data, domains=domains)
        context = _warning_context(request, RecordKind.ACCOUNT, matches, blocking=False)
        return render_page(request, "customers/_duplicate_warning.html", context)
    errors: dict[str, list[str]] = {}
    warning: dict[str, Any] = {}
    create_anyway = False
    if request.method == "POST":
        data, domains = forms.account_data(post=request.POST, access=access, datafields=datafields)
        domains = domains if access.can_edit("domains") else []
        create_anyway, merge_with = _duplicate_choice(request)
        matches = [] if create_anyway else _possible_duplicates(request, RecordKind.ACCOUNT, data=data, domains=domains)
        if matches:
            warning = _warning_context(request, RecordKind.ACCOUNT, matches, blocking=True)
        else:
            try:
                account = services.account_create(actor=actor_of(request), data=data, domains=domains)
            except ValidationFailed as exc:
                errors = exc.errors
            else:
                messages.success(request, f"Created {account}.")
                return _after_create(RecordKind.ACCOUNT, account.pk, merge_with)
    form = forms.account_form(
        access=access,
        datafields=datafields,
        owners=web_selectors.owner_choices(),
        parents=web_selectors.account_choices(actor=user),
        post=request.POST if request.method == "POST" else None,
        errors=errors,
        default_owner=user.pk,
    )
    status = 422 if errors else 409 if warning else 200
    return _account_form_page(request, account=None, form=form, status=status, create_anyway=create_anyway, **warning)


@web_view
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    account = web_selectors.account_get_for(actor=user, pk=pk, action="change")
    access = permissions.field_access(user, RecordKind.ACCOUNT)
    datafields = selectors.datafields_for(actor=user, entity=RecordKind.ACCOUNT)
    errors: dict[str, list[str]] = {}
    conflict, status = "", 200
    version: int | None = account.version
    if request.method == "POST":
        data, _ = forms.account_data(post=request.POST, access=access, datafields=datafields, account=account)
        try:
            services.account_update(actor=actor_of(request), account=account, data=data, expected_version=_version(request))
        except ValidationFailed as exc:
            errors, status, version = exc.errors, 422, _version(request)
        except VersionConflict as exc:
            conflict, status, version = CONFLICT.format(kind="account"), 409, exc.current_version
        else:
            messages.success(request, "Saved.")
            return redirect("customers:account-detail", pk=account.pk)
    form = forms.account_form(
        access=access,
        datafields=datafields,
        owners=web_selectors.owner_choices(),
        parents=web_selectors.account_choices(actor=user, exclude=account.pk),
        account=account,
        post=request.POST if request.method == "POST" else None,
        errors=errors,
    )
    return _account_form_page(request, account=account, form=form, status=status, conflict=conflict, version=version)


@web_view
def account_delete(request: HttpRequest, pk: int) -> HttpResponse:
    account = web_selectors.account_get_for(actor=user_of(request), pk=pk, action="delete")
    conflict = ""
    if request.method == "POST":
        try:
            services.account_delete(actor=actor_of(request), account=account, expected_version=_version(request))
        except VersionConflict:
            conflict = CONFLICT.format(kind="account").split(" Your input")[0]
            account = web_selectors.account_get_for(actor=user_of(request), pk=pk, action="delete")
        else:
            messages.success(request, f"Deleted {account}.")
            return redirect("customers:account-list")
    context = {"record": account, "kind": "account", "conflict": conflict, "cancel": reverse("customers:account-detail", args=[pk])}
    return render_page(request, "customers/confirm_delete.html", context, status=409 if conflict else 200)


# --- data dictionary --------------------------------------------------------------------


@web_view
def datadict(request: HttpRequest) -> HttpResponse:
    fields = list(selectors.datafield_list(actor=user_of(request)))
    role_labels = dict(Role.choices)
    entities = []
    for entity, label in DataField.Entity.choices:
        extra = [f for f in fields if f.entity == entity]
        entities.append({"key": entity, "label": label, "builtin": web_selectors.BUILTIN_FIELDS[entity], "extra": extra})
    context = {
        "entities": entities,
        "role_labels": role_labels,
        "can_add": permissions.can(user_of(request), "add", RecordKind.DATAFIELD),
        "can_change": permissions.can(user_of(request), "change", RecordKind.DATAFIELD),
        "lifecycles": Lifecycle.choices,
        "buying_roles": AccountMembership.BuyingRole.choices,
    }
    return render_page(request, "customers/datadict.html", context)


@web_view
def datafield_create(request: HttpRequest) -> HttpResponse:
    permissions.require(user_of(request), "add", RecordKind.DATAFIELD)
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            df = services.datafield_create(actor=actor_of(request), data=forms.datafield_data(request.POST, creating=True))
        except ValidationFailed as exc:
            errors = exc.errors
        else:
            messages.success(request, f"Added the field “{df.label}”.")
            return redirect("customers:datadict")
    form = forms.datafield_form(post=request.POST if request.method == "POST" else None, errors=errors)
    context = {"form": form, "field": None, "conflict": ""}
    return render_page(request, "customers/datafield_form.html", context, status=422 if errors else 200)


@web_view
def datafield_edit(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(user_of(request), "change", RecordKind.DATAFIELD)
    df = selectors.datafield_get(actor=user_of(request), pk=pk)
    errors: dict[str, list[str]] = {}
    conflict, status = "", 200
    version: int | None = df.version
    if request.method == "POST":
        try:
            services.datafield_update(actor=actor_of(request), field=df, data=forms.datafield_data(request.POST, creating=False), expected_version=_version(request))
        except ValidationFailed as exc:
            errors, status, version = exc.errors, 422, _version(request)
        except VersionConflict as exc:
            conflict, status, version = CONFLICT.format(kind="field"), 409, exc.current_version
        else:
            messages.success(request, "Saved.")
            return redirect("customers:datadict")
    form = forms.datafield_form(field_=df, post=request.POST if request.method == "POST" else None, errors=errors)
    context = {"form": form, "field": df, "conflict": conflict, "version": version}
    return render_page(request, "customers/datafield_form.html", context, status=status)


@require_POST
@web_view
def datafield_retire(request: HttpRequest, pk: int) -> HttpResponse:
    df = selectors.datafield_get(actor=user_of(request), pk=pk)
    services.datafield_delete(actor=actor_of(request), field=df)
    messages.success(request, f"Retired the field “{df.label}”. Stored values are kept.")
    return redirect("customers:datadict")
