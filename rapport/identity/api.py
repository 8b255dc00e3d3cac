"""Duplicates over the API: the check before a create, a record's likely duplicates, the
steward's review queue, merges and their undo, "not a duplicate" decisions, scans, the
matching settings and the candidate pairs as CSV. The same services and selectors as the
web pages."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.urls import reverse
from ninja import Body, Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.api.errors import problem
from rapport.core.errors import NotFound, ValidationFailed
from rapport.customers import export
from rapport.customers import selectors as customer_selectors
from rapport.customers.api.schemas import (
    AccountCreate,
    ContactCreate,
    DuplicateOut,
    EvidenceOut,
)
from rapport.customers.services import ContactParts
from rapport.identity import check, scans, selectors, services
from rapport.identity.models import Cluster, Kind, MatchSettings, Merge, Rule, Scan
from rapport.users import permissions
from rapport.users.models import RecordKind, User

router = Router(tags=["duplicates"])

if TYPE_CHECKING:
    RecordKindT: TypeAlias = str
    RuleT: TypeAlias = str
    ClusterStatusT: TypeAlias = str
    ScanModeT: TypeAlias = str
else:
    RecordKindT = Literal[tuple(Kind.values)]
    RuleT = Literal[tuple(Rule.values)]
    ClusterStatusT = Literal[tuple(Cluster.Status.values)]
    ScanModeT = Literal[tuple(Scan.Mode.values)]

MAX_PAGE_SIZE = 200


# --- shapes ----------------------------------------------------------------------------------


class In(Schema):
    model_config = ConfigDict(extra="forbid")


class ContactCheck(In):
    kind: Literal["contact"]
    record: ContactCreate = Field(description="What you would send to `POST /contacts`")


class AccountCheck(In):
    kind: Literal["account"]
    record: AccountCreate = Field(description="What you would send to `POST /accounts`")


DuplicateCheck = Annotated[ContactCheck | AccountCheck, Field(discriminator="kind")]


class UserRef(Schema):
    id: int
    username: str


class ReasonOut(Schema):
    """Why one record is in its group."""

    record_id: int
    partner_id: int | None = Field(
        description="The member it matches best; null for the group's best-linked record"
    )
    probability: float = Field(description="Of the pair with that member")
    evidence: list[str] = Field(description="For the match, strongest first")
    against: str = Field(description="The strongest evidence against, or empty")
    links: int = Field(description="How many members it matches")


class ClusterOut(Schema):
    """A group of records a scan believes are one customer: a unit of the review queue."""

    id: int
    kind: str
    status: str = Field(description="open (to review), skipped, done")
    size: int
    score: float = Field(description="The highest pair probability inside")
    value: float = Field(description="The customers' value; the queue puts the highest first")
    record_ids: list[int]
    labels: list[str] | None = Field(None, description="The records' names, as `record_ids`")
    reasons: list[ReasonOut] | None = Field(
        None, description="In the queue: why each record is in the group, best linked first"
    )
    assigned_to: UserRef | None
    updated_at: dt.datetime


class ClusterPage(Schema):
    items: list[ClusterOut]
    next_cursor: str | None


class RecordRef(Schema):
    id: int
    version: int = Field(description="Send it back in the merge's `expected_versions`")
    label: str
    updated_at: dt.datetime


class PairOut(Schema):
    left_id: int
    right_id: int
    probability: float
    score: float
    status: str = Field(description="open, merged, dismissed")
    evidence: list[EvidenceOut] = Field(description="Strongest evidence first")


class FieldPreviewOut(Schema):
    values: dict[str, Any] = Field(description="{record id: its value}")
    chosen: int = Field(description="The record whose value a merge keeps")
    value: Any = Field(description="The value a merge keeps")
    rule: str = Field(description="The survivorship rule that chose it")
    differs: bool = Field(description="The records hold different values")


class ClusterDetailOut(ClusterOut):
    survivor_id: int = Field(description="The record suggested to keep: the most complete")
    records: list[RecordRef] = Field(description="The suggested survivor first")
    pairs: list[PairOut] = Field(description="The surest first")
    preview: dict[str, FieldPreviewOut] = Field(
        description="{field: ...}: what a merge into `survivor_id` would keep, field by field"
    )


class AssignIn(In):
    user_id: int | None = Field(description="Someone who may review duplicates; null: nobody")


class MergeIn(In):
    kind: RecordKindT
    survivor_id: int = Field(description="The record that is kept")
    merged_ids: list[int] = Field(min_length=1, description="Records folded into it, then gone")
    choices: dict[str, int] = Field(
        default_factory=dict,
        description="{field: record id}: whose value to keep, overriding the rules",
    )
    expected_versions: dict[int, int] = Field(
        default_factory=dict,
        description="{record id: version} as you reviewed them; a record changed since is a 412",
    )


class MergeOut(Schema):
    id: int
    kind: str
    survivor_id: int
    merged_ids: list[int]
    at: dt.datetime
    actor: str = Field(description="Who merged: the username, or 'system'")
    via: str
    choices: dict[str, int]
    survivor_before: dict[str, Any] = Field(description="The survivor's fields the merge changed")
    survivor_after: dict[str, Any]
    undone_at: dt.datetime | None
    undone_by: str | None
    conflicts: list[str] = Field(description="What the undo could not put back, and why")


class MergePage(Schema):
    items: list[MergeOut]
    next_cursor: str | None


class MergeQuery(Schema):
    kind: RecordKindT | None = None
    record_id: int | None = Field(None, description="Merges that kept or merged away this id")
    cursor: str | None = None
    size: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


class UndoIn(In):
    remember_not_duplicate: bool = Field(
        True, description="Never propose these records as duplicates again"
    )


class NotDuplicateIn(In):
    kind: RecordKindT
    record_ids: list[int] = Field(min_length=2)


class NotDuplicateOut(Schema):
    kind: str
    record_ids: list[int]
    pairs: int = Field(description="Pairs of records remembered as different customers")


class ScanIn(In):
    kind: RecordKindT
    mode: ScanModeT = Field("full", description="full, or incremental: records changed since")


class ScanOut(Schema):
    id: int
    kind: str
    mode: str
    state: str = Field(description="queued, running, done, failed")
    phase: str = Field(description="What a running scan is doing")
    records: int
    pairs_compared: int
    candidates: int
    clusters: int
    auto_merged: int
    error: str
    requested_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class ClusterQuery(Schema):
    kind: RecordKindT
    status: ClusterStatusT = "open"
    assigned: Literal["", "me", "none"] = Field(
        "", description="'' everyone's, 'me' yours, 'none' nobody's"
    )
    cursor: str | None = None
    size: int = Field(25, ge=1, le=MAX_PAGE_SIZE)


class MatchSettingsOut(Schema):
    version: int
    upper: float = Field(description="At or above: a near-certain match (merged if auto_merge)")
    lower: float = Field(description="At or above (and below upper): proposed for review")
    auto_merge: bool
    contact_rules: dict[str, str] = Field(description="{field: rule}; others keep the survivor's")
    account_rules: dict[str, str]
    source_ranking: list[str] = Field(description="Sources, most trusted first")
    disabled_fields: list[str] = Field(description="Comparison fields left out of matching")
    updated_at: dt.datetime


class SettingsPatch(In):
    upper: float | None = None
    lower: float | None = None
    auto_merge: bool | None = None
    contact_rules: dict[str, RuleT] | None = None
    account_rules: dict[str, RuleT] | None = None
    source_ranking: list[str] | None = None
    disabled_fields: list[str] | None = None


# --- rendering -------------------------------------------------------------------------------


def _evidence(items: list[check.Evidence]) -> list[dict[str, Any]]:
    return [
        {"field": e.field, "level": e.level, "weight": e.weight, "words": e.words} for e in items
    ]


def match_out(m: check.Match) -> dict[str, Any]:
    return {
        "id": m.record_id,
        "kind": m.kind,
        "label": m.label,
        "detail": m.detail,
        "probability": round(m.probability, 4),
        "percent": m.percent,
        "score": round(m.score, 2),
        "evidence": _evidence(m.evidence),
    }


def _user_ref(user: User | None) -> dict[str, Any] | None:
    return {"id": user.pk, "username": user.username} if user is not None else None


def _cluster(c: Cluster) -> dict[str, Any]:
    body = {
        "id": c.pk,
        "kind": c.kind,
        "status": c.status,
        "size": c.size,
        "score": c.score,
        "value": c.value,
        "record_ids": list(c.record_ids),
        "assigned_to": _user_ref(c.assigned_to),
        "updated_at": c.updated_at,
    }
    if hasattr(c, "labels"):  # set by the queue selector
        body["labels"] = c.labels
    if hasattr(c, "reasons"):
        body["reasons"] = [
            {
                "record_id": r.record_id,
                "partner_id": r.partner_id,
                "probability": r.probability,
                "evidence": r.evidence,
                "against": r.against,
                "links": r.links,
            }
            for r in c.reasons
        ]
    return body


def _label(record: Any) -> str:
    return str(getattr(record, "full_name", None) or getattr(record, "name", "") or record.pk)


def _cluster_detail(view: selectors.ClusterView) -> dict[str, Any]:
    assert view.cluster is not None  # cluster_get always sets it
    return {
        **_cluster(view.cluster),
        "survivor_id": view.survivor.pk,
        "records": [
            {"id": r.pk, "version": r.version, "label": _label(r), "updated_at": r.updated_at}
            for r in view.records
        ],
        "pairs": [
            {
                "left_id": c.left_id,
                "right_id": c.right_id,
                "probability": round(c.probability, 4),
                "score": round(c.score, 2),
                "status": c.status,
                "evidence": _evidence(evidence),
            }
            for c, evidence in view.pairs
        ],
        "preview": {
            name: {**entry, "values": {str(pk): v for pk, v in entry["values"].items()}}
            for name, entry in view.preview.items()
        },
    }


def _merge(m: Merge) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "survivor_id": m.survivor_id,
        "merged_ids": list(m.merged_ids),
        "at": m.at,
        "actor": m.actor_name or (m.actor.username if m.actor else "system"),
        "via": m.via,
        "choices": m.choices,
        "survivor_before": m.survivor_before,
        "survivor_after": m.survivor_after,
        "undone_at": m.undone_at,
        "undone_by": m.undone_by.username if m.undone_by else None,
        "conflicts": m.conflicts,
    }


def _scan(s: Scan) -> dict[str, Any]:
    fields = (
        "id", "kind", "mode", "state", "phase", "records", "pairs_compared", "candidates",
        "clusters", "auto_merged", "error", "created_at", "started_at", "finished_at",
    )  # fmt: skip
    body = {name: getattr(s, name) for name in fields}
    body["requested_by"] = s.requested_by.username if s.requested_by else None
    return body


def _settings(conf: MatchSettings) -> dict[str, Any]:
    fields = (
        "version", "upper", "lower", "auto_merge", "contact_rules", "account_rules",
        "source_ranking", "disabled_fields", "updated_at",
    )  # fmt: skip
    return {name: getattr(conf, name) for name in fields}


# --- the check before a create (also used by POST /contacts and /accounts) -------------------

# The lists of a create payload that the services take apart from the record's own fields.
CONTACT_PARTS = ("emails", "phones", "addresses", "memberships", "external_ids")
ACCOUNT_PARTS = ("domains", "external_ids", "addresses")


def duplicates_found(
    *, user: User, kind: str, record: dict[str, Any], limit: int = 5
) -> list[dict[str, Any]]:
    """Stored records the user may see that are likely the one ``record`` describes (a
    ContactCreate or AccountCreate, dumped), by the one check before a create
    (``selectors.likely_duplicates``), given what the create service would be given."""
    if kind == Kind.CONTACT:
        parts = ContactParts(**{p: record.get(p) or [] for p in CONTACT_PARTS})
        data = {k: v for k, v in record.items() if k not in CONTACT_PARTS}
        matches = selectors.likely_duplicates(
            actor=user, kind=kind, data=data, parts=parts, limit=limit
        )
    else:
        data = {k: v for k, v in record.items() if k not in ACCOUNT_PARTS}
        matches = selectors.likely_duplicates(
            actor=user,
            kind=kind,
            data=data,
            domains=list(record.get("domains") or []),
            addresses=list(record.get("addresses") or []),
            limit=limit,
        )
    return [match_out(m) for m in matches]


def duplicates_refused(kind: str, duplicates: list[dict[str, Any]]) -> HttpResponse:
    """The 409 of a create with ``on_duplicate=refuse``."""
    names = ", ".join(f"{d['label']} ({kind} {d['id']}, {d['percent']}%)" for d in duplicates)
    return problem(
        409,
        f"Likely duplicates exist: {names}. Use one of them, or send on_duplicate=report "
        "to create the record anyway.",
        duplicates=duplicates,
    )


@router.post(
    "/duplicates/check",
    response={200: list[DuplicateOut], **problems(403)},
    url_name="duplicates-check",
)
def duplicates_check(
    request: HttpRequest,
    payload: Body[DuplicateCheck],
    limit: int = Query(5, ge=1, le=20),  # noqa: B008 - ninja's way to bound a parameter
):
    """Records you may see that are likely the one you are about to create, best first, with
    the evidence. Writes nothing; the payload is not validated beyond its shape."""
    record = payload.record.model_dump(exclude_unset=True)
    return duplicates_found(user=user_of(request), kind=payload.kind, record=record, limit=limit)


# --- a stored record's likely duplicates -----------------------------------------------------


@router.get(
    "/contacts/{contact_id}/duplicates",
    response={200: list[DuplicateOut], **problems(403, 404)},
    url_name="contact-duplicates",
)
def contact_duplicates(request: HttpRequest, contact_id: int, limit: int = Query(10, ge=1, le=50)):  # noqa: B008
    """Contacts likely the same customer as this one, scored now (no scan needed)."""
    user = user_of(request)
    customer_selectors.contact_get(actor=user, pk=contact_id)  # 404, or 308 if merged away
    found = selectors.candidates_for(actor=user, kind=Kind.CONTACT, pk=contact_id, limit=limit)
    return [match_out(m) for m in found]


@router.get(
    "/accounts/{account_id}/duplicates",
    response={200: list[DuplicateOut], **problems(403, 404)},
    url_name="account-duplicates",
)
def account_duplicates(request: HttpRequest, account_id: int, limit: int = Query(10, ge=1, le=50)):  # noqa: B008
    """Accounts likely the same customer as this one, scored now (no scan needed)."""
    user = user_of(request)
    customer_selectors.account_get(actor=user, pk=account_id)
    found = selectors.candidates_for(actor=user, kind=Kind.ACCOUNT, pk=account_id, limit=limit)
    return [match_out(m) for m in found]


# --- the review queue ------------------------------------------------------------------------


def _cluster_row(request: HttpRequest, cluster_id: int) -> Cluster:
    permissions.require(user_of(request), "view", RecordKind.DUPLICATE)
    cluster = Cluster.objects.select_related("assigned_to").filter(pk=cluster_id).first()
    if cluster is None:
        raise NotFound("No such group of duplicates.")
    return cluster


@router.get(
    "/duplicates/clusters",
    response={200: ClusterPage, **problems(403, 404)},
    url_name="duplicate-cluster-list",
)
def cluster_list(request: HttpRequest, query: Query[ClusterQuery]):
    """Groups of likely duplicates to review, the most valuable customers and the surest
    matches first; follow `next_cursor` until it is null."""
    page = selectors.queue(actor=user_of(request), **query.model_dump())
    return {"items": [_cluster(c) for c in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/duplicates/clusters/{cluster_id}",
    response={200: ClusterDetailOut, **problems(403, 404)},
    url_name="duplicate-cluster-detail",
)
def cluster_read(request: HttpRequest, cluster_id: int):
    """The group's records side by side: each pair's evidence, and what a merge into the
    suggested survivor would keep, field by field (with the records' values)."""
    return _cluster_detail(selectors.cluster_get(actor=user_of(request), pk=cluster_id))


@router.post(
    "/duplicates/clusters/{cluster_id}/skip",
    response={200: ClusterOut, **problems(403, 404)},
    url_name="duplicate-cluster-skip",
)
def cluster_skip(request: HttpRequest, cluster_id: int):
    """Put the group aside: it leaves the open queue until the next scan reopens it."""
    cluster = services.cluster_skip(
        actor=actor_of(request), cluster=_cluster_row(request, cluster_id)
    )
    return _cluster(cluster)


@router.post(
    "/duplicates/clusters/{cluster_id}/assign",
    response={200: ClusterOut, **problems(403, 404)},
    url_name="duplicate-cluster-assign",
)
def cluster_assign(request: HttpRequest, cluster_id: int, payload: AssignIn):
    """Hand the group to someone who may review duplicates, or to nobody (`null`)."""
    cluster = _cluster_row(request, cluster_id)
    assignee = None
    if payload.user_id is not None:
        assignee = User.objects.filter(pk=payload.user_id, is_active=True).first()
        if assignee is None:
            raise ValidationFailed(
                "No such active user.", errors={"user_id": ["No such active user."]}
            )
    cluster = services.cluster_assign(actor=actor_of(request), cluster=cluster, user=assignee)
    return _cluster(Cluster.objects.select_related("assigned_to").get(pk=cluster.pk))


# --- merges ----------------------------------------------------------------------------------


def _merge_url(merge: Merge) -> str:
    return reverse("api:duplicate-merge-detail", kwargs={"merge_id": merge.pk})


@router.post(
    "/duplicates/merges",
    response={201: MergeOut, **problems(403, 404, 409, 412)},
    url_name="duplicate-merge-create",
)
def merge_create(request: HttpRequest, payload: MergeIn, response: HttpResponse):
    """Merge `merged_ids` into `survivor_id`: each field keeps the value its rule (or your
    `choices`) picks, parts are united, everything pointing at the merged records moves to
    the survivor, and the merged ids answer 308 to the survivor from then on. Send the
    versions you reviewed in `expected_versions`: a record changed since is a 412."""
    merge = services.records_merge(
        actor=actor_of(request),
        kind=payload.kind,
        survivor_id=payload.survivor_id,
        merged_ids=payload.merged_ids,
        choices=payload.choices,
        expected_versions=payload.expected_versions,
    )
    response["Location"] = _merge_url(merge)
    return Status(201, _merge(selectors.merge_get(actor=user_of(request), pk=merge.pk)))


@router.get(
    "/duplicates/merges",
    response={200: MergePage, **problems(403, 404)},
    url_name="duplicate-merge-list",
)
def merge_list(request: HttpRequest, query: Query[MergeQuery]):
    """Merges, newest first; `record_id` finds those that kept or merged away a record."""
    page = selectors.merge_list(actor=user_of(request), **query.model_dump())
    return {"items": [_merge(m) for m in page.items], "next_cursor": page.next_cursor}


@router.get(
    "/duplicates/merges/{merge_id}",
    response={200: MergeOut, **problems(403, 404)},
    url_name="duplicate-merge-detail",
)
def merge_read(request: HttpRequest, merge_id: int):
    return _merge(selectors.merge_get(actor=user_of(request), pk=merge_id))


@router.post(
    "/duplicates/merges/{merge_id}/undo",
    response={200: MergeOut, **problems(403, 404, 409)},
    url_name="duplicate-merge-undo",
)
def merge_undo(request: HttpRequest, merge_id: int, payload: UndoIn):
    """Undo the merge: the merged records come back with their ids and values, what moved
    goes back, and the survivor's fields return to their old values unless changed since
    (those are kept and listed in `conflicts`). 409 if already undone, or if the survivor
    was merged again later (undo that first)."""
    user = user_of(request)
    merge = services.merge_undo(
        actor=actor_of(request),
        merge=selectors.merge_get(actor=user, pk=merge_id),
        remember_not_duplicate=payload.remember_not_duplicate,
    )
    return _merge(selectors.merge_get(actor=user, pk=merge.pk))


# --- decisions -------------------------------------------------------------------------------


@router.post(
    "/duplicates/not-duplicates",
    response={200: NotDuplicateOut, **problems(403, 404)},
    url_name="duplicate-not-duplicate",
)
def not_duplicate(request: HttpRequest, payload: NotDuplicateIn):
    """These records are different customers: no pair of them is proposed again, and their
    open pairs and group are closed. Sending the same decision again changes nothing."""
    ids = sorted(set(payload.record_ids))
    selectors.records_for_merge(actor=user_of(request), kind=payload.kind, ids=ids)  # 404s
    pairs = services.not_duplicate_mark(actor=actor_of(request), kind=payload.kind, record_ids=ids)
    return {"kind": payload.kind, "record_ids": ids, "pairs": pairs}


# --- scans -----------------------------------------------------------------------------------


@router.post(
    "/duplicates/scans",
    response={202: ScanOut, **problems(403, 409)},
    url_name="duplicate-scan-create",
)
def scan_create(request: HttpRequest, payload: ScanIn, response: HttpResponse):
    """Start looking for duplicates among all records of a kind (`full`), or among those
    changed since the last scan (`incremental`). A scan of that kind already queued or
    running is returned instead of starting another, except that a full scan is never
    answered by an incremental one: a queued incremental scan becomes full, a running one
    answers 409. Follow `Location` until `state` is `done`."""
    scan = scans.scan_start(actor=actor_of(request), kind=payload.kind, mode=payload.mode)
    response["Location"] = reverse("api:duplicate-scan-detail", kwargs={"scan_id": scan.pk})
    return Status(202, _scan(selectors.scan_get(actor=user_of(request), pk=scan.pk)))


@router.get(
    "/duplicates/scans",
    response={200: list[ScanOut], **problems(403, 404)},
    url_name="duplicate-scan-list",
)
def scan_list(
    request: HttpRequest,
    kind: RecordKindT | None = None,
    limit: int = Query(20, ge=1, le=100),  # noqa: B008
):
    """The latest scans, newest first."""
    return [_scan(s) for s in selectors.scan_list(actor=user_of(request), kind=kind, limit=limit)]


@router.get(
    "/duplicates/scans/{scan_id}",
    response={200: ScanOut, **problems(403, 404)},
    url_name="duplicate-scan-detail",
)
def scan_read(request: HttpRequest, scan_id: int):
    """A scan's progress: `state`, `phase` and the counts so far."""
    return _scan(selectors.scan_get(actor=user_of(request), pk=scan_id))


# --- settings --------------------------------------------------------------------------------


@router.get(
    "/duplicates/settings",
    response={200: MatchSettingsOut, **problems(403)},
    url_name="duplicate-settings",
)
def settings_read(request: HttpRequest, response: HttpResponse):
    permissions.require(user_of(request), "view", RecordKind.DUPLICATE)
    conf = services.settings_get()
    set_etag(response, conf.version)
    return _settings(conf)


@router.patch(
    "/duplicates/settings",
    response={200: MatchSettingsOut, **problems(403, 412)},
    url_name="duplicate-settings-update",
)
def settings_update(request: HttpRequest, payload: SettingsPatch, response: HttpResponse):
    """Change the settings you send (admins). Send `If-Match` with the ETag you read."""
    conf = services.settings_update(
        actor=actor_of(request), data=data_of(payload), expected_version=expected_version(request)
    )
    set_etag(response, conf.version)
    return _settings(conf)


# --- the candidate pairs as CSV --------------------------------------------------------------


@router.get(
    "/duplicates/candidates.csv",
    response={200: None, **problems(403, 404)},
    url_name="duplicate-candidates-csv",
    openapi_extra={
        "responses": {200: {"description": "CSV (streamed)", "content": {"text/csv": {}}}}
    },
)
def candidates_csv(request: HttpRequest, kind: RecordKindT) -> StreamingHttpResponse:
    """The candidate pairs not dismissed: both ids, their external ids (`source:id`), the
    probability and score, the status and the group. Cells a spreadsheet would run as
    formulas are made inert."""
    rows = selectors.candidate_rows(actor=user_of(request), kind=kind)
    headers = next(rows)  # the selector checks permissions here, before anything is sent
    safe = ([export.inert(v) for v in row] for row in rows)
    response = StreamingHttpResponse(
        export.csv_chunks(headers, safe), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="rapport-{kind}-duplicates.csv"'
    return response
