"""Reads of identity resolution: the review queue, a cluster side by side, merges, scans."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from rapport.core.errors import NotFound
from rapport.core.pagination import Page, keyset_page
from rapport.customers import normalize
from rapport.customers.export import inert
from rapport.customers.models import Account, AccountMembership, Contact, ContactExternalId
from rapport.identity import check, survivorship
from rapport.identity.models import Candidate, Cluster, Kind, Merge, MergedId, Scan
from rapport.users import permissions
from rapport.users.models import RecordKind, User


def _require(actor: Any, kind: str | None = None) -> None:
    permissions.require(actor, "view", RecordKind.DUPLICATE)
    if kind is not None:
        permissions.require(
            actor, "view", RecordKind.CONTACT if kind == Kind.CONTACT else RecordKind.ACCOUNT
        )


def _kind(kind: str) -> str:
    if kind not in Kind.values:
        raise NotFound(f"No such kind of record: {kind}.")
    return kind


def _field_access(actor: Any, kind: str) -> permissions.FieldAccess:
    """The customers app's field rule (role policy and data dictionary), applied to every
    value a duplicate page or the API shows of a record: hidden fields never appear."""
    return permissions.field_access(
        actor, RecordKind.CONTACT if kind == Kind.CONTACT else RecordKind.ACCOUNT
    )


def _visible_merge(actor: Any, merge: Merge) -> Merge:
    """The merge as the actor may read it: values of fields hidden from the actor's role
    left out of what changed, what was chosen and the merged records' snapshots. The
    instance is for reading only (the undo loads its own)."""
    access = _field_access(actor, merge.kind)
    merge.survivor_before = {k: v for k, v in merge.survivor_before.items() if access.can_view(k)}
    merge.survivor_after = {k: v for k, v in merge.survivor_after.items() if access.can_view(k)}
    merge.choices = {k: v for k, v in merge.choices.items() if access.can_view(k)}
    # An undo's conflict names the field and its value now (services.merge_undo).
    hidden = tuple(f"{name.replace('_', ' ')} was changed" for name in access.hidden)
    merge.conflicts = [
        "A field your role may not see was changed since the merge: kept"
        if c.startswith(hidden)
        else c
        for c in merge.conflicts or []
    ]
    if "records" not in merge.get_deferred_fields():
        merge.records = {pk: _visible_row(row, access) for pk, row in merge.records.items()}
    return merge


def _visible_row(row: dict[str, Any], access: permissions.FieldAccess) -> dict[str, Any]:
    out = {}
    for column, value in row.items():
        name = column[:-3] if column in ("owner_id", "parent_id") else column
        if column == "custom" and isinstance(value, dict):
            out[column] = {k: v for k, v in value.items() if access.can_view(f"custom.{k}")}
        elif access.can_view(name):
            out[column] = value
    return out


def queue(
    *,
    actor: Any,
    kind: str,
    status: str = Cluster.Status.OPEN,
    assigned: str = "",
    cursor: str | None = None,
    size: int = 25,
) -> Page:
    """Clusters to review, the most valuable customers and the surest matches first.
    ``assigned``: "" everyone's, "me" the actor's, "none" nobody's."""
    _require(actor, _kind(kind))
    qs = Cluster.objects.filter(kind=kind, status=status).select_related("assigned_to")
    if assigned == "me":
        qs = qs.filter(assigned_to=actor)
    elif assigned == "none":
        qs = qs.filter(assigned_to__isnull=True)
    page = keyset_page(qs, order=["-value", "-score", "id"], cursor=cursor, size=size)
    labels = check._labels(kind, sorted({pk for c in page.items for pk in c.record_ids}))
    names = {pk: label for pk, (label, _) in labels.items()}
    reasons = cluster_reasons(kind=kind, clusters=page.items, names=names)
    for c in page.items:
        c.labels = [names.get(pk, f"{kind} {pk}") for pk in c.record_ids]
        c.reasons = reasons.get(c.pk, [])
    return page


@dataclass
class Reason:
    """Why one record is in its review group: the member it matches best, how surely, and
    the evidence in words (no values: a field hidden from the reader is not shown)."""

    record_id: int
    label: str
    partner: str = ""  # the member it matches best; "" for the group's best-linked record
    partner_id: int | None = None
    probability: float = 0.0
    percent: int = 0
    evidence: list[str] = field(default_factory=list)  # for the match, strongest first
    against: str = ""  # the strongest evidence against, if any
    links: int = 0  # members it matches
    others: int = 0  # members besides itself


def cluster_reasons(
    *, kind: str, clusters: list[Cluster], names: dict[int, str]
) -> dict[int, list[Reason]]:
    """For each cluster, why each record is in it: the group's best-linked record first
    (the one matching the most members most surely), then each other record with the
    member it matches best. One query for all the clusters' pairs, whatever their number."""
    if not clusters:
        return {}
    conf = check.match_settings()
    model = check.current_model(kind, conf)
    edges: dict[int, dict[int, dict[int, tuple[float, list[int]]]]] = {}
    pairs = Candidate.objects.filter(
        cluster_id__in=[c.pk for c in clusters], status=Candidate.Status.OPEN
    ).values_list("cluster_id", "left_id", "right_id", "probability", "vector")
    for cluster_id, a, b, p, vector in pairs:
        links = edges.setdefault(cluster_id, {})
        links.setdefault(a, {})[b] = (p, vector)
        links.setdefault(b, {})[a] = (p, vector)
    out: dict[int, list[Reason]] = {}
    for c in clusters:
        links = edges.get(c.pk, {})
        members = list(c.record_ids)
        if not members:
            continue

        def strength(
            pk: int, links: dict[int, dict[int, tuple[float, list[int]]]] = links
        ) -> tuple[float, int]:
            return sum(p for p, _ in links.get(pk, {}).values()), -pk

        anchor = max(members, key=strength)
        reasons = []
        for pk in [anchor, *(m for m in members if m != anchor)]:
            mine = links.get(pk, {})
            reason = Reason(
                record_id=pk,
                label=names.get(pk, f"{kind} {pk}"),
                links=len(mine),
                others=len(members) - 1,
            )
            if pk != anchor and mine:
                partner, (p, vector) = max(
                    mine.items(), key=lambda item: (item[1][0], item[0] == anchor, -item[0])
                )
                reason.partner = names.get(partner, f"{kind} {partner}")
                reason.partner_id, reason.probability = partner, p
                reason.percent = round(p * 100)
                if vector:  # one scored with older fields is read in today's (check.in_fields_of)
                    evidence = check.explain(kind, model, tuple(vector), conf.disabled_fields)
                    reason.evidence = [e.words for e in evidence if e.weight > 0][:3]
                    reason.against = next((e.words for e in evidence if e.weight < 0), "")
            reasons.append(reason)
        out[c.pk] = reasons
    return out


def queue_counts(*, actor: Any) -> dict[str, int]:
    _require(actor)
    return {
        k: Cluster.objects.filter(kind=k, status=Cluster.Status.OPEN).count() for k in Kind.values
    }


def records_for_merge(*, actor: Any, kind: str, ids: list[int]) -> list[Contact | Account]:
    """The records, with their parts, in the order given; NotFound if one is not visible."""
    _require(actor, _kind(kind))
    if kind == Kind.CONTACT:
        qs: QuerySet = Contact.objects.select_related("owner").prefetch_related(
            "emails", "phones", "addresses", "external_ids", "tags",
            Prefetch("memberships", queryset=AccountMembership.objects.select_related("account")),
        )  # fmt: skip
        visible = permissions.visible(actor, RecordKind.CONTACT, qs.filter(pk__in=ids))
    else:
        qs = Account.objects.select_related("owner", "parent").prefetch_related(
            "domains", "addresses", "external_ids", "tags"
        )
        visible = permissions.visible(actor, RecordKind.ACCOUNT, qs.filter(pk__in=ids))
    found = {o.pk: o for o in visible}
    missing = [pk for pk in ids if pk not in found]
    if missing:
        for pk in missing:
            alias = MergedId.objects.filter(kind=kind, old_id=pk).first()
            if alias is not None:
                raise NotFound(f"{kind.title()} {pk} was merged into {alias.survivor_id} since.")
        raise NotFound(f"No such {kind}: {', '.join(map(str, missing))}.")
    return [found[pk] for pk in ids]


def suggest_survivor(records: list[Contact | Account]) -> Contact | Account:
    """The record to keep by default: the most complete, then the oldest."""

    def parts(r: Any) -> int:
        names = (
            ("emails", "phones", "addresses", "external_ids", "memberships")
            if isinstance(r, Contact)
            else ("domains", "addresses", "external_ids")
        )
        filled = sum(
            1
            for f in survivorship.merge_fields("contact" if isinstance(r, Contact) else "account")
            if not survivorship.is_blank(survivorship.field_value(r, f))
        )
        return filled + sum(len(getattr(r, n).all()) for n in names)

    return max(records, key=lambda r: (parts(r), -r.pk))


@dataclass
class ClusterView:
    cluster: Cluster | None
    kind: str
    records: list[Any]
    survivor: Any
    pairs: list[tuple[Candidate, list[check.Evidence]]] = field(default_factory=list)
    preview: dict[str, dict[str, Any]] = field(default_factory=dict)


def cluster_get(*, actor: Any, pk: int) -> ClusterView:
    """A cluster's records side by side, each pair's evidence in words and what a merge
    with the suggested survivor would keep."""
    _require(actor)
    cluster = Cluster.objects.select_related("assigned_to").filter(pk=pk).first()
    if cluster is None:
        raise NotFound("No such group of duplicates.")
    _drop_deleted(cluster)
    view = compare_records(actor=actor, kind=cluster.kind, ids=list(cluster.record_ids))
    view.cluster = cluster
    model = check.current_model(cluster.kind)
    pairs = Candidate.objects.filter(cluster=cluster).order_by("-probability")
    view.pairs = [(c, check.explain(cluster.kind, model, tuple(c.vector))) for c in pairs]
    return view


def _drop_deleted(cluster: Cluster) -> None:
    """Records deleted since the scan leave the group; a group of one is done."""
    model: Any = Contact if cluster.kind == Kind.CONTACT else Account
    alive = set(model.objects.filter(pk__in=cluster.record_ids).values_list("pk", flat=True))
    if len(alive) == len(cluster.record_ids):
        return
    cluster.record_ids = [pk for pk in cluster.record_ids if pk in alive]
    cluster.size = len(cluster.record_ids)
    if cluster.size < 2:
        cluster.status = Cluster.Status.DONE
    Cluster.objects.filter(pk=cluster.pk).update(
        record_ids=cluster.record_ids, size=cluster.size, status=cluster.status
    )
    if cluster.size < 2:
        raise NotFound("The other records of this group were deleted or merged since the scan.")


def compare_records(
    *,
    actor: Any,
    kind: str,
    ids: list[int],
    survivor_id: int | None = None,
    choices: dict[str, int] | None = None,
) -> ClusterView:
    """Any records side by side (from a cluster, a candidate list or a search)."""
    records = records_for_merge(actor=actor, kind=kind, ids=ids)
    survivor = next((r for r in records if r.pk == survivor_id), None) or suggest_survivor(records)
    others = [r for r in records if r.pk != survivor.pk]
    preview = survivorship.merge_preview(
        kind=kind, survivor=survivor, others=others, choices=choices
    )
    access = _field_access(actor, kind)
    preview = {name: entry for name, entry in preview.items() if access.can_view(name)}
    return ClusterView(
        cluster=None, kind=kind, records=[survivor, *others], survivor=survivor, preview=preview
    )


def candidates_for(*, actor: Any, kind: str, pk: int, limit: int = 10) -> list[check.Match]:
    """Likely duplicates of one stored record, scored now (no scan needed)."""
    _require(actor, _kind(kind))
    return check.similar_to_record(actor=actor, kind=kind, pk=pk, limit=limit)


def merge_list(
    *,
    actor: Any,
    kind: str | None = None,
    record_id: int | None = None,
    cursor: str | None = None,
    size: int = 25,
) -> Page:
    _require(actor)
    qs = Merge.objects.select_related("actor", "undone_by").defer("records", "journal")
    if kind:
        qs = qs.filter(kind=_kind(kind))
    if record_id is not None:
        qs = qs.filter(Q(survivor_id=record_id) | Q(aliases__old_id=record_id)).distinct()
    page = keyset_page(qs, order=["-id"], cursor=cursor, size=size)
    page.items = [_visible_merge(actor, m) for m in page.items]
    return page


def merge_get(*, actor: Any, pk: int) -> Merge:
    _require(actor)
    merge = Merge.objects.select_related("actor", "undone_by").filter(pk=pk).first()
    if merge is None:
        raise NotFound("No such merge.")
    return _visible_merge(actor, merge)


def merges_of_record(*, actor: Any, kind: str, pk: int) -> list[Merge]:
    """Merges that made this record what it is (it survived them), newest first."""
    _require(actor)
    return [
        _visible_merge(actor, m)
        for m in Merge.objects.filter(kind=kind, survivor_id=pk)
        .select_related("actor")
        .defer("records", "journal")
        .order_by("-id")[:20]
    ]


def scan_list(*, actor: Any, kind: str | None = None, limit: int = 20) -> list[Scan]:
    _require(actor)
    qs = Scan.objects.select_related("requested_by").order_by("-id")
    if kind:
        qs = qs.filter(kind=_kind(kind))
    return list(qs[:limit])


def scan_get(*, actor: Any, pk: int) -> Scan:
    _require(actor)
    scan = Scan.objects.filter(pk=pk).first()
    if scan is None:
        raise NotFound("No such scan.")
    return scan


def assignees(*, actor: Any) -> list[User]:
    """Active users who may review duplicates: the people a cluster can be handed to."""
    _require(actor)
    return [
        u
        for u in User.objects.filter(is_active=True).order_by("username")
        if permissions.can(u, "change", RecordKind.DUPLICATE)
    ]


def candidate_rows(*, actor: Any, kind: str) -> Iterator[list[Any]]:
    """The open candidate pairs as CSV rows: both ids, their external ids, the scores."""
    _require(actor, _kind(kind))
    yield [
        "left_id",
        "right_id",
        "left_external_ids",
        "right_external_ids",
        "probability",
        "score",
        "status",
        "cluster_id",
    ]
    pairs = (
        Candidate.objects.filter(kind=kind)
        .exclude(status=Candidate.Status.DISMISSED)
        .order_by("left_id", "right_id")
    )
    xid_model: Any = (
        ContactExternalId if kind == Kind.CONTACT else Account.external_ids.rel.related_model
    )
    column = "contact_id" if kind == Kind.CONTACT else "account_id"
    batch: list[Candidate] = []

    def flush() -> Iterator[list[Any]]:
        ids = {c.left_id for c in batch} | {c.right_id for c in batch}
        xids: dict[int, list[str]] = {}
        for owner, source, external in xid_model.objects.filter(
            **{f"{column}__in": ids}
        ).values_list(column, "source", "external_id"):
            xids.setdefault(owner, []).append(f"{source}:{external}")
        for c in batch:
            left, right = (
                " ".join(sorted(xids.get(c.left_id, []))),
                " ".join(sorted(xids.get(c.right_id, []))),
            )
            # External ids come from other systems: made inert for spreadsheets.
            yield [
                c.left_id,
                c.right_id,
                inert(left),
                inert(right),
                f"{c.probability:.4f}",
                f"{c.score:.2f}",
                c.status,
                c.cluster_id or "",
            ]

    for c in pairs.iterator(chunk_size=2000):
        batch.append(c)
        if len(batch) >= 2000:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


# --- the likely-duplicates probe before a create ------------------------------------------


def likely_duplicates(
    *,
    actor: Any,
    kind: str,
    data: dict[str, Any],
    parts: Any = None,
    domains: list[str] | None = None,
    addresses: list[dict[str, Any]] | None = None,
    organisation: str = "",
    exclude: int | None = None,
    limit: int = 5,
) -> list[check.Match]:
    """Stored records the actor may see that are likely the one about to be created, best
    first: the one duplicate check before a create, for the web form, the API, vCards and
    card photos, and proposed contacts. It takes what the create service takes: a contact's
    ``data`` and ``parts`` (``customers.services.ContactParts``), an account's ``data``,
    ``domains`` and ``addresses``. ``organisation`` is a company name to compare when the
    new contact has no account yet (a card's company). A create with nothing to go on (no
    name, e-mail, phone or domain) matches nothing."""
    if kind == Kind.CONTACT:
        probe = contact_probe(data, parts, organisation=organisation)
    else:
        probe = account_probe(data, domains or [], addresses or [])
    if not _worth_checking(probe):
        return []
    return check.duplicates_check(actor=actor, kind=kind, data=probe, exclude=exclude, limit=limit)


def contact_probe(
    data: dict[str, Any], parts: Any = None, *, organisation: str = ""
) -> dict[str, Any]:
    """What the check compares of a new contact: its names, e-mails, phones (each read in its
    own region, as the create stores it), account or company, first address and the
    data-dictionary values (identifying ones count)."""
    probe: dict[str, Any] = {
        k: data[k] for k in ("full_name", "given_name", "family_name") if data.get(k)
    }
    if data.get("custom"):
        probe["custom"] = data["custom"]
    emails = [
        e.get("email") if isinstance(e, dict) else e for e in getattr(parts, "emails", None) or []
    ]
    probe["emails"] = [str(e) for e in emails if e]
    probe["phones"] = [
        _phone(p.get("number"), p.get("region")) if isinstance(p, dict) else str(p)
        for p in getattr(parts, "phones", None) or []
    ]
    probe["phones"] = [p for p in probe["phones"] if p]
    membership = _first(getattr(parts, "memberships", None) or [])
    account = str((membership or {}).get("account", ""))
    if account.isdigit():
        probe["account"] = int(account)
    elif organisation:
        probe["organisation"] = organisation
    address = _address_line(getattr(parts, "addresses", None) or [])
    if address:
        probe["address"] = address
    return probe


def account_probe(
    data: dict[str, Any], domains: list[str], addresses: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """What the check compares of a new account: name, web domains, phone (read in the
    account's country), first address."""
    country = _country(str(data.get("country") or ""))
    probe: dict[str, Any] = {
        "name": " ".join(str(data.get("name") or "").split()),
        "domains": list(domains),
    }
    if data.get("phone"):
        probe["phone"] = _phone(str(data["phone"]), country or None)
    if country:
        probe["country"] = country
    address = _address_line(addresses or [])
    if address:
        probe["address"] = address
    return probe


def _worth_checking(probe: dict[str, Any]) -> bool:
    names = [probe.get(k) for k in ("full_name", "given_name", "family_name", "name")]
    keys = [probe.get(k) for k in ("emails", "phones", "domains")]
    return any(str(v or "").strip() for v in names) or any(keys)


def _first(items: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((i for i in items if i.get("is_primary")), items[0] if items else None)


def _address_line(items: list[dict[str, Any]]) -> str:
    # One line, as rapport.identity.load reads a stored record's primary address.
    found = _first(items) or {}
    return " ".join(str(found[k]) for k in ("street", "postal_code", "city") if found.get(k))


def _phone(number: Any, region: str | None) -> str:
    """The number in E.164 as the create would store it; as typed when it cannot be read
    here (the check still tries it, and keeps the digits of an unknown international one)."""
    if not number:
        return ""
    try:
        return normalize.normalize_phone(str(number), region)[0]
    except ValueError:
        return str(number)


def _country(value: str) -> str:
    if not value.strip():
        return ""
    try:
        return normalize.normalize_country(value)
    except ValueError:
        return ""
