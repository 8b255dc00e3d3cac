"""Web pages of identity resolution: the steward's review queue, the merge screen (for a
cluster or for any records), merges and their undo, scans, and the match settings.

Thin views over ``selectors`` and ``services``, as in ``rapport.customers.views``:
``web_view`` turns PermissionDenied and NotFound into 403 and 404 pages. A merge refused
because a record changed since the page was shown (VersionConflict) renders the page
again, with today's records and a message, and merges nothing (409).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rapport.core.errors import Conflict, NotFound, ValidationFailed, VersionConflict
from rapport.core.htmx import render_page
from rapport.core.web import actor_of, user_of, web_view
from rapport.customers import normalize
from rapport.customers.models import Account, Contact, DataField, Lifecycle
from rapport.identity import check, forms, load, selectors, services, survivorship
from rapport.identity.models import Cluster, Kind, Merge, Scan
from rapport.identity.scans import scan_start
from rapport.users import permissions
from rapport.users.models import RecordKind, User

PAGE_SIZE = 25
# The queue's filters: ?show=… (the open clusters unless "skipped").
SHOW = [("", "All"), ("me", "Assigned to me"), ("none", "Unassigned"), ("skipped", "Skipped")]
ACTIVE_SCANS = (Scan.State.QUEUED, Scan.State.RUNNING)
CONFLICT = "Nothing was merged: {message} The records below are as they are now."
# The parts a merge unites rather than chooses (every record's are kept), by kind.
CONTACT_PARTS = (
    ("emails", "E-mail addresses"),
    ("phones", "Phone numbers"),
    ("addresses", "Addresses"),
    ("memberships", "Accounts"),
    ("tags", "Tags"),
    ("external_ids", "External ids"),
)
ACCOUNT_PARTS = (
    ("domains", "Domains"),
    ("addresses", "Addresses"),
    ("tags", "Tags"),
    ("external_ids", "External ids"),
)


def _can_merge(request: HttpRequest) -> bool:
    return permissions.can(user_of(request), "change", RecordKind.DUPLICATE)


def _record_url(kind: str, pk: int) -> str:
    name = "customers:contact-detail" if kind == Kind.CONTACT else "customers:account-detail"
    return reverse(name, args=[pk])


def _plural(kind: str, n: int) -> str:
    return f"{n} {kind}{'' if n == 1 else 's'}"


def _duration(start: dt.datetime | None, end: dt.datetime | None) -> str:
    if start is None:
        return ""
    s = int(((end or timezone.now()) - start).total_seconds())
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {s % 3600 // 60:02d} min"


def _custom_labels() -> dict[str, dict[str, str]]:
    """Data-dictionary labels by kind, for the ``custom.<key>`` fields of a merge."""
    out: dict[str, dict[str, str]] = {k: {} for k in Kind.values}
    for entity, key, label in DataField.objects.values_list("entity", "key", "label"):
        out.setdefault(entity, {})[key] = label
    return out


# --- the queue ----------------------------------------------------------------------------


@require_GET
@web_view
def queue(request: HttpRequest) -> HttpResponse:
    user = user_of(request)
    kind = request.GET.get("kind") or Kind.CONTACT
    show = request.GET.get("show", "")
    show = show if show in dict(SHOW) else ""
    cursor = request.GET.get("cursor") or None
    page = selectors.queue(
        actor=user,
        kind=kind,
        status=Cluster.Status.SKIPPED if show == "skipped" else Cluster.Status.OPEN,
        assigned=show if show in ("me", "none") else "",
        cursor=cursor,
        size=PAGE_SIZE,
    )
    counts = selectors.queue_counts(actor=user)
    context = {
        "page": page,
        "kind": kind,
        "show": show,
        "tabs": [(value, f"{label}s", counts.get(value, 0)) for value, label in Kind.choices],
        "filters": SHOW,
        "can_merge": _can_merge(request),
        "is_first_page": not cursor,
        "kind_label": dict(Kind.choices)[kind].lower(),
    }
    return render_page(request, "identity/queue.html", context)


def _next_cluster(request: HttpRequest, kind: str) -> HttpResponse:
    """The steward's next group: one assigned to them, else one nobody has taken."""
    user = user_of(request)
    for assigned in ("me", "none"):
        page = selectors.queue(actor=user, kind=kind, assigned=assigned, size=1)
        if page.items:
            return redirect("identity:cluster", pk=page.items[0].pk)
    messages.info(request, f"No more {kind}s to review. Well done.")
    return redirect(f"{reverse('identity:queue')}?{urlencode({'kind': kind})}")


# --- the merge screen (a cluster, or any records) -----------------------------------------


@dataclass
class Cell:
    pk: int
    text: str
    blank: bool
    chosen: bool


@dataclass
class FieldRow:
    name: str
    label: str
    differs: bool
    cells: list[Cell]
    editable: bool = True  # the role may pick its value (else the survivorship rule does)


@dataclass
class PartRow:
    label: str
    cells: list[list[str]]


@dataclass
class EvidenceLine:
    sign: str
    tone: str  # "for", "against" or "none": the CSS class
    words: str
    weight: float


@dataclass
class PairRow:
    left: str
    right: str
    percent: int
    evidence: list[EvidenceLine] = field(default_factory=list)


def _display(kind: str, name: str, value: Any, names: dict[tuple[str, Any], str]) -> str:
    """A field's value as the steward reads it."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if name in ("owner", "parent"):
        return names.get((name, value)) or f"#{value}"
    if name == "lifecycle":
        return str(dict(Lifecycle.choices).get(value, value))
    if name == "preferred_channel":
        return "" if value == Contact.Channel.NONE else str(Contact.Channel(value).label)
    if name == "size" and kind == Kind.ACCOUNT:
        return str(dict(Account.Size.choices).get(value, value))
    if name == "phone" and kind == Kind.ACCOUNT:
        return normalize.format_phone(str(value))
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _parts(kind: str, record: Any) -> dict[str, list[str]]:
    if kind == Kind.CONTACT:
        return {
            "emails": [e.email for e in record.emails.all()],
            "phones": [normalize.format_phone(p.e164) for p in record.phones.all()],
            "addresses": [str(a) for a in record.addresses.all()],
            "memberships": [
                f"{m.account.name}{' (primary)' if m.is_primary else ''}"
                for m in record.memberships.all()
            ],
            "tags": [t.name for t in record.tags.all()],
            "external_ids": [str(x) for x in record.external_ids.all()],
        }
    return {
        "domains": [d.domain for d in record.domains.all()],
        "addresses": [str(a) for a in record.addresses.all()],
        "tags": [t.name for t in record.tags.all()],
        "external_ids": [str(x) for x in record.external_ids.all()],
    }


def _evidence(items: list[check.Evidence]) -> list[EvidenceLine]:
    out = []
    for e in items:
        if e.weight > 0:
            out.append(EvidenceLine("+", "for", e.words, e.weight))
        elif e.weight < 0:
            out.append(EvidenceLine("−", "against", e.words, e.weight))
        else:
            out.append(EvidenceLine("·", "none", e.words, e.weight))
    return out


def _pairs_now(kind: str, ids: list[int], names: dict[int, str]) -> list[PairRow]:
    """Each pair of the records scored now with the fitted model (records compared from a
    record page have no stored candidate pair)."""
    conf = services.settings_get()
    model = check.current_model(kind, conf)
    data = dict(load.people(ids) if kind == Kind.CONTACT else load.organisations(ids))
    out = []
    for i, a in enumerate(ids):
        for b in ids[i + 1 :]:
            if a not in data or b not in data:
                continue
            probability, _, vector = check.score(
                kind, model, data[a], data[b], conf.disabled_fields
            )
            evidence = check.explain(kind, model, vector, conf.disabled_fields)
            out.append(PairRow(names[a], names[b], round(probability * 100), _evidence(evidence)))
    return out


def _merge_context(
    request: HttpRequest, view: selectors.ClusterView, order: list[int]
) -> dict[str, Any]:
    """The records side by side in ``order`` (stable while the survivor changes, so the
    keys 1–9 keep naming the same column), one row per field and per united part."""
    user = user_of(request)
    kind = view.kind
    access = permissions.field_access(user, kind)
    records = sorted(view.records, key=lambda r: order.index(r.pk) if r.pk in order else 99)
    names: dict[tuple[str, Any], str] = {}
    for r in records:
        if r.owner_id:
            names[("owner", r.owner_id)] = str(r.owner)
        if isinstance(r, Account) and r.parent_id:
            names[("parent", r.parent_id)] = r.parent.name if r.parent else ""
    custom = _custom_labels().get(kind, {})
    rows = []
    for name, preview in view.preview.items():
        if not access.can_view(name):
            continue
        cells = []
        for r in records:
            text = _display(kind, name, preview["values"].get(r.pk), names)
            cells.append(Cell(r.pk, text, not text, preview["chosen"] == r.pk))
        # Rows where every record is blank say nothing: leave them out.
        if any(not c.blank for c in cells):
            rows.append(
                FieldRow(
                    name,
                    forms.field_label(name, custom),
                    preview["differs"],
                    cells,
                    access.can_edit(name),
                )
            )
    labels = CONTACT_PARTS if kind == Kind.CONTACT else ACCOUNT_PARTS
    parts_of = {r.pk: _parts(kind, r) for r in records}
    parts = [
        PartRow(label, [parts_of[r.pk][key] for r in records])
        for key, label in labels
        if access.can_view(key)
    ]
    record_names = {r.pk: str(r) for r in records}
    # The same name is common inside a group: the pairs say which record is which.
    pair_names = {pk: f"{name} #{pk}" for pk, name in record_names.items()}
    if view.cluster is not None:
        pairs = [
            PairRow(
                pair_names.get(c.left_id, f"#{c.left_id}"),
                pair_names.get(c.right_id, f"#{c.right_id}"),
                round(c.probability * 100),
                _evidence(evidence),
            )
            for c, evidence in view.pairs
        ]
    else:
        pairs = _pairs_now(kind, [r.pk for r in records], pair_names)
    return {
        "kind": kind,
        "records": [
            {
                "pk": r.pk,
                "name": record_names[r.pk],
                "url": _record_url(kind, r.pk),
                "version": r.version,
                "updated_at": r.updated_at,
                "source": getattr(r, "source", ""),
                "is_survivor": r.pk == view.survivor.pk,
                "key": i + 1,
            }
            for i, r in enumerate(records)
        ],
        "survivor": view.survivor,
        "rows": rows,
        "parts": parts,
        "pairs": pairs,
        "columns": len(records) + 1,
        "several": len(records) > 2,
        "can_merge": _can_merge(request) and len(records) > 1,
        "cluster": view.cluster,
    }


def _survivor_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("survivor", "")
    return int(raw) if raw.isdigit() else None


def _cluster_page(
    request: HttpRequest, pk: int, *, status: int = 200, notice: str = ""
) -> HttpResponse:
    user = user_of(request)
    view = selectors.cluster_get(actor=user, pk=pk)
    cluster = view.cluster
    assert cluster is not None
    order = list(cluster.record_ids)
    survivor = _survivor_param(request)
    if survivor is not None and survivor != view.survivor.pk and survivor in order:
        other = selectors.compare_records(
            actor=user, kind=cluster.kind, ids=order, survivor_id=survivor
        )
        view.records, view.survivor, view.preview = other.records, other.survivor, other.preview
    context = _merge_context(request, view, order)
    can_merge = context["can_merge"] and cluster.status != Cluster.Status.DONE
    context.update(
        can_merge=can_merge,
        notice=notice,
        title=f"{_plural(cluster.kind, len(view.records))} that may be one"
        if cluster.status != Cluster.Status.DONE
        else f"Group of duplicates #{cluster.pk}",
        reload_url=reverse("identity:cluster", args=[pk]),
        merge_url=reverse("identity:cluster-merge", args=[pk]),
        not_duplicate_url=reverse("identity:cluster-not-duplicate", args=[pk]),
        skip_url=reverse("identity:cluster-skip", args=[pk]),
        assignees=selectors.assignees(actor=user) if can_merge else [],
        back_url=f"{reverse('identity:queue')}?{urlencode({'kind': cluster.kind})}",
    )
    return render_page(
        request,
        "identity/cluster.html",
        context,
        fragment="identity/_merge_form.html",
        status=status,
    )


@require_GET
@web_view
def cluster_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _cluster_page(request, pk)


def _merge(request: HttpRequest, kind: str) -> Merge | str:
    """Merge as the form says: the Merge, or why nothing was merged."""
    data = forms.merge_input(request.POST, survivorship.merge_fields(kind))
    try:
        return services.records_merge(
            actor=actor_of(request),
            kind=kind,
            survivor_id=data.survivor_id,
            merged_ids=data.merged_ids,
            choices=data.choices,
            expected_versions=data.expected_versions,
        )
    except (VersionConflict, Conflict, NotFound) as exc:
        # NotFound: a record was merged or deleted meanwhile; the page shows what is left.
        return CONFLICT.format(message=exc.message)


def _merged_message(request: HttpRequest, merge: Merge) -> None:
    survivor = services.model_of(merge.kind)._default_manager.filter(pk=merge.survivor_id).first()
    messages.success(
        request,
        f"Merged {_plural(merge.kind, len(merge.merged_ids) + 1)} into “{survivor}”. "
        f"Merge #{merge.pk} can be undone from the list of merges.",
    )


@require_POST
@web_view
def cluster_merge(request: HttpRequest, pk: int) -> HttpResponse:
    services.require_steward(user_of(request))
    cluster = selectors.cluster_get(actor=user_of(request), pk=pk).cluster
    assert cluster is not None
    result = _merge(request, cluster.kind)
    if isinstance(result, str):
        return _cluster_page(request, pk, status=409, notice=result)
    _merged_message(request, result)
    return _next_cluster(request, cluster.kind)


@require_POST
@web_view
def cluster_not_duplicate(request: HttpRequest, pk: int) -> HttpResponse:
    view = selectors.cluster_get(actor=user_of(request), pk=pk)
    cluster = view.cluster
    assert cluster is not None
    services.not_duplicate_mark(
        actor=actor_of(request), kind=cluster.kind, record_ids=list(cluster.record_ids)
    )
    messages.success(
        request,
        f"Marked as different {cluster.kind}s: they will not be proposed as duplicates again.",
    )
    return _next_cluster(request, cluster.kind)


@require_POST
@web_view
def cluster_skip(request: HttpRequest, pk: int) -> HttpResponse:
    cluster = selectors.cluster_get(actor=user_of(request), pk=pk).cluster
    assert cluster is not None
    services.cluster_skip(actor=actor_of(request), cluster=cluster)
    messages.info(request, "Skipped: the group is set aside until the next scan.")
    return _next_cluster(request, cluster.kind)


@require_POST
@web_view
def cluster_assign(request: HttpRequest, pk: int) -> HttpResponse:
    user = user_of(request)
    cluster = selectors.cluster_get(actor=user, pk=pk).cluster
    assert cluster is not None
    raw = request.POST.get("assignee", "")
    assignee: User | None = None
    if raw:
        assignee = next((u for u in selectors.assignees(actor=user) if str(u.pk) == raw), None)
        if assignee is None:
            raise ValidationFailed(
                "That person may not review duplicates.",
                errors={"assignee": ["Choose a data steward."]},
            )
    services.cluster_assign(actor=actor_of(request), cluster=cluster, user=assignee)
    messages.success(
        request, f"Assigned to {assignee}." if assignee else "Nobody is assigned any more."
    )
    return redirect("identity:cluster", pk=pk)


def _compare_args(request: HttpRequest) -> tuple[str, list[int]]:
    kind = request.GET.get("kind") or Kind.CONTACT
    return kind, forms.record_ids(request.GET.get("ids", ""))


def _compare_page(request: HttpRequest, *, status: int = 200, notice: str = "") -> HttpResponse:
    kind, ids = _compare_args(request)
    view = selectors.compare_records(
        actor=user_of(request), kind=kind, ids=ids, survivor_id=_survivor_param(request)
    )
    context = _merge_context(request, view, ids)
    query = urlencode({"kind": kind, "ids": ",".join(map(str, ids))})
    context.update(
        notice=notice,
        title=f"Compare {_plural(kind, len(ids))}",
        reload_url=f"{reverse('identity:compare')}?{query}",
        merge_url=f"{reverse('identity:compare-merge')}?{query}",
        not_duplicate_url=f"{reverse('identity:compare-not-duplicate')}?{query}",
        skip_url="",
        assignees=[],
        back_url=_record_url(kind, ids[0]),
    )
    return render_page(
        request,
        "identity/cluster.html",
        context,
        fragment="identity/_merge_form.html",
        status=status,
    )


@require_GET
@web_view
def compare(request: HttpRequest) -> HttpResponse:
    return _compare_page(request)


@require_POST
@web_view
def compare_merge(request: HttpRequest) -> HttpResponse:
    services.require_steward(user_of(request))
    kind, _ = _compare_args(request)
    result = _merge(request, kind)
    if isinstance(result, str):
        return _compare_page(request, status=409, notice=result)
    _merged_message(request, result)
    return redirect(_record_url(kind, result.survivor_id))


@require_POST
@web_view
def compare_not_duplicate(request: HttpRequest) -> HttpResponse:
    kind, ids = _compare_args(request)
    selectors.records_for_merge(actor=user_of(request), kind=kind, ids=ids)
    services.not_duplicate_mark(actor=actor_of(request), kind=kind, record_ids=ids)
    messages.success(
        request, f"Marked as different {kind}s: they will not be proposed as duplicates again."
    )
    return redirect(_record_url(kind, ids[0]))


# --- merges and undo ------------------------------------------------------------------------


def _snapshot_name(kind: str, row: dict[str, Any], pk: int) -> str:
    if kind == Kind.CONTACT:
        return str(row.get("full_name") or f"Contact {pk}")
    return str(row.get("name") or f"Account {pk}")


@require_GET
@web_view
def merge_list(request: HttpRequest) -> HttpResponse:
    g = request.GET
    kind = g.get("kind") or None
    record = g.get("record", "")
    cursor = g.get("cursor") or None
    page = selectors.merge_list(
        actor=user_of(request),
        kind=kind,
        record_id=int(record) if record.isdigit() else None,
        cursor=cursor,
        size=PAGE_SIZE,
    )
    rows = [
        {
            "merge": m,
            "survivor_url": _record_url(m.kind, m.survivor_id),
            "changed": [forms.field_label(f) for f in m.survivor_after],
        }
        for m in page.items
    ]
    context = {
        "page": page,
        "rows": rows,
        "kind": kind or "",
        "kinds": Kind.choices,
        "is_first_page": not cursor,
    }
    return render_page(request, "identity/merge_list.html", context)


def _merge_names(merge: Merge) -> dict[tuple[str, Any], str]:
    """Owner and parent ids in a merge's changes, as names."""
    pairs = [*merge.survivor_before.items(), *merge.survivor_after.items()]
    owners = {v for k, v in pairs if k == "owner" and isinstance(v, int)}
    parents = {v for k, v in pairs if k == "parent" and isinstance(v, int)}
    names: dict[tuple[str, Any], str] = {}
    if owners:
        for user in User.objects.filter(pk__in=owners):
            names[("owner", user.pk)] = str(user)
    if parents:
        for pk, name in Account.objects.filter(pk__in=parents).values_list("pk", "name"):
            names[("parent", pk)] = name
    return names


def _merge_page(
    request: HttpRequest, merge: Merge, *, status: int = 200, notice: str = ""
) -> HttpResponse:
    names = _merge_names(merge)
    custom = _custom_labels().get(merge.kind, {})
    changes = [
        (
            forms.field_label(f, custom),
            _display(merge.kind, f, merge.survivor_before.get(f), names),
            _display(merge.kind, f, after, names),
        )
        for f, after in merge.survivor_after.items()
    ]
    merged = [
        {
            "pk": pk,
            "name": _snapshot_name(merge.kind, merge.records.get(str(pk), {}), pk),
            "url": _record_url(merge.kind, pk),
        }
        for pk in merge.merged_ids
    ]
    context = {
        "merge": merge,
        "changes": changes,
        "merged": merged,
        "survivor_url": _record_url(merge.kind, merge.survivor_id),
        "choices": [(forms.field_label(f, custom), pk) for f, pk in sorted(merge.choices.items())],
        "can_undo": merge.undone_at is None and _can_merge(request),
        "notice": notice,
    }
    return render_page(request, "identity/merge_detail.html", context, status=status)


@require_GET
@web_view
def merge_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _merge_page(request, selectors.merge_get(actor=user_of(request), pk=pk))


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """GET asks for confirmation; POST undoes the merge."""
    merge = selectors.merge_get(actor=user_of(request), pk=pk)
    services.require_steward(user_of(request))
    if merge.undone_at is not None:
        return _merge_page(request, merge, status=409, notice="This merge was already undone.")
    if request.method == "POST":
        try:
            merge = services.merge_undo(
                actor=actor_of(request),
                merge=merge,
                remember_not_duplicate=request.POST.get("remember") == "on",
            )
        except Conflict as exc:
            return _merge_page(request, merge, status=409, notice=exc.message)
        if merge.conflicts:
            messages.warning(
                request,
                "Undone, with some things left as they are now: see the list below.",
            )
        else:
            messages.success(request, "Undone: every record is back as it was before the merge.")
        return redirect("identity:merge", pk=merge.pk)
    merged = [
        _snapshot_name(merge.kind, merge.records.get(str(i), {}), i) for i in merge.merged_ids
    ]
    return render_page(request, "identity/merge_undo.html", {"merge": merge, "merged": merged})


# --- scans ------------------------------------------------------------------------------------


def _scan_row(scan: Scan) -> dict[str, Any]:
    return {
        "scan": scan,
        "active": scan.state in ACTIVE_SCANS,
        "took": _duration(scan.started_at, scan.finished_at),
    }


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def scans(request: HttpRequest) -> HttpResponse:
    """The recent scans; POST starts one (``kind``, ``mode``)."""
    user = user_of(request)
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        scan = scan_start(
            actor=actor_of(request), kind=kind, mode=request.POST.get("mode", "full")
        )
        messages.success(
            request,
            f"Scan #{scan.pk} of {kind}s ({scan.get_mode_display().lower()}) is "
            f"{scan.get_state_display().lower()}. Its progress shows below.",
        )
        return redirect("identity:scans")
    context = {
        "rows": [_scan_row(s) for s in selectors.scan_list(actor=user)],
        "can_scan": _can_merge(request),
        "kinds": Kind.choices,
    }
    return render_page(request, "identity/scans.html", context)


@require_GET
@web_view
def scan_row(request: HttpRequest, pk: int) -> HttpResponse:
    """One scan's row, polled by htmx while the scan is queued or running."""
    scan = selectors.scan_get(actor=user_of(request), pk=pk)
    return render_page(request, "identity/_scan_row.html", {"row": _scan_row(scan)})


# --- settings ----------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@web_view
def match_settings(request: HttpRequest) -> HttpResponse:
    """Thresholds, automatic merging, survivorship and source ranking: admins only."""
    permissions.require(user_of(request), "delete", RecordKind.DUPLICATE)
    fields = {k: survivorship.merge_fields(k) for k in Kind.values}
    comparisons = {k: check.fields_of(k) for k in Kind.values}
    custom = _custom_labels()
    status, notice = 200, ""
    post = None
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        post = request.POST
        try:
            services.settings_update(
                actor=actor_of(request),
                data=forms.settings_data(post, fields),
                expected_version=forms.version_of(post),
            )
        except VersionConflict:
            status = 409
            notice = (
                "Someone changed the settings since you opened this page. Nothing was saved. "
                "Your input is kept below: check it, then save again to apply it."
            )
        except ValidationFailed as exc:
            status, errors = 422, exc.errors
            notice = exc.message
        else:
            messages.success(request, "Match settings saved. The next scan uses them.")
            return redirect("identity:settings")
    form = forms.settings_form(
        conf=services.settings_get(),
        merge_fields=fields,
        comparison_fields=comparisons,
        custom_labels=custom,
        post=post,
        errors=errors,
    )
    return render_page(
        request, "identity/settings.html", {"form": form, "notice": notice}, status=status
    )
