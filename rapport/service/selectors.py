"""Reads of cases, with the role's visibility applied.

Who sees a case: a role that sees every case (managers, and sales, who must see the
complaint before the call) sees them all; a role that sees its team's (agents) sees a
case its team works (``Case.team``) or one owned by someone of its teams; a role limited
to its own sees the cases it owns. A case one may not see is a 404, never a 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from django.db.models import Q, QuerySet

from rapport.core.errors import NotFound
from rapport.core.pagination import Page, keyset_page
from rapport.core.pagination import _encode as encode_cursor  # the same cursors as keyset_page
from rapport.service.models import Case, CaseKind, CaseMessage, CaseStatusChange, pk_of_reference
from rapport.users import permissions
from rapport.users.models import RecordKind, Visibility

KIND = RecordKind.CASE


def _team_ids(user: Any) -> list[int]:
    cached = getattr(user, "_rapport_team_ids", None)
    if cached is None:
        cached = list(user.teams.values_list("id", flat=True))
        user._rapport_team_ids = cached
    return cached


def visibility_q(user: Any) -> Q | None:
    """The cases ``user`` may see; None for all of them."""
    if permissions.is_system(user):
        return None
    p = permissions.policy(user, KIND)
    if not p.can_view or p.visibility == Visibility.NONE:
        return Q(pk__in=[])
    if p.visibility == Visibility.ALL:
        return None
    if p.visibility == Visibility.OWN:
        return Q(owner_id=user.pk)
    owners = permissions.visible_owner_ids(user, KIND) or [user.pk]
    return Q(owner_id__in=owners) | Q(team_id__in=_team_ids(user))


def can_see(user: Any, case: Case) -> bool:
    if permissions.is_system(user):
        return True
    p = permissions.policy(user, KIND)
    if not p.can_view or p.visibility == Visibility.NONE:
        return False
    if p.visibility == Visibility.ALL:
        return True
    if p.visibility == Visibility.OWN:
        return case.owner_id == user.pk
    owners = permissions.visible_owner_ids(user, KIND) or [user.pk]
    return case.owner_id in owners or (case.team_id is not None and case.team_id in _team_ids(user))


def require_case(user: Any, action: str, case: Case) -> None:
    """NotFound for a case the user may not see; PermissionDenied for one they see but may
    not act on (``action``)."""
    permissions.require(user, "view", KIND)
    if not can_see(user, case):
        raise NotFound("No such case.")
    permissions.require(user, action, KIND)


def visible_cases(user: Any) -> QuerySet[Case]:
    permissions.require(user, "view", KIND)
    qs = Case.objects.all()
    q = visibility_q(user)
    return qs if q is None else qs.filter(q)


def case_get(*, actor: Any, pk: int, action: str = "view") -> Case:
    case = (
        Case.objects.select_related("contact", "account", "kind", "owner", "team")
        .filter(pk=pk)
        .first()
    )
    if case is None:
        permissions.require(actor, "view", KIND)
        raise NotFound("No such case.")
    require_case(actor, action, case)
    return case


SORTS = {
    "priority": ("priority", "created_at", "id"),
    "oldest": ("created_at", "id"),
    "newest": ("-created_at", "-id"),
    "updated": ("-updated_at", "-id"),
}


@dataclass
class Filters:
    status: str = ""  # a status, "open" (any open one, the default) or "all"
    priority: int | None = None
    kind: str = ""
    channel: str = ""
    owner: str = ""  # a user id, "me" or "none"
    team: int | None = None
    important: bool = False
    contact: int | None = None
    account: int | None = None
    q: str = ""
    sort: str = "priority"
    mine_and_team: bool = False  # the queue: my team's cases even when the role sees all


def case_list(*, actor: Any, filters: Filters | None = None) -> QuerySet[Case]:
    """The cases the actor may see, filtered and sorted, with what a list row shows."""
    f = filters or Filters()
    qs = visible_cases(actor).select_related("contact", "kind", "owner", "team")
    status = f.status or "open"
    if status == "open":
        # "IN (1)", not "is_open = true": Django writes the latter as the bare column on
        # SQLite, which the queue's indexes (team or owner, is_open, ...) cannot use.
        qs = qs.filter(is_open__in=[True])
    elif status != "all":
        qs = qs.filter(status=status)
    if f.priority:
        qs = qs.filter(priority=f.priority)
    if f.kind:
        qs = qs.filter(kind__key=f.kind)
    if f.channel:
        qs = qs.filter(channel=f.channel)
    if f.owner == "me":
        qs = qs.filter(owner_id=getattr(actor, "pk", None))
    elif f.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif f.owner.isdigit():
        qs = qs.filter(owner_id=int(f.owner))
    if f.team:
        qs = qs.filter(team_id=f.team)
    if f.mine_and_team and not permissions.is_system(actor):
        teams = _team_ids(actor)
        qs = qs.filter(Q(owner_id=actor.pk) | Q(team_id__in=teams)) if teams else qs
    if f.important:
        qs = qs.filter(important=True)
    if f.contact:
        qs = qs.filter(contact_id=f.contact)
    if f.account:
        qs = qs.filter(account_id=f.account)
    q = f.q.strip()
    if q:
        ref = pk_of_reference(q)
        if ref is not None:
            qs = qs.filter(pk=ref)
        else:
            qs = qs.filter(Q(subject__icontains=q) | Q(topic__icontains=q))
    return qs.order_by(*SORTS.get(f.sort, SORTS["priority"]))


def queue_page(
    *,
    actor: Any,
    filters: Filters,
    order: list[str],
    cursor: str | None,
    size: int,
    only: tuple[str, ...] = (),
) -> Page:
    """One page of the agent's queue: my cases and my teams' (``mine_and_team``), in
    ``order``. Read as one keyset page per team and one of my own, merged: each is an
    ordered range of an index of open cases (team or owner, is_open, priority, age), so a
    page costs the same with 100 open cases or 100,000, where one query with "mine OR my
    team's" sorts every open case of the team first."""
    base = case_list(actor=actor, filters=replace(filters, mine_and_team=False))
    if only:
        base = base.only(*only)
    teams = [] if permissions.is_system(actor) else _team_ids(actor)
    if not filters.mine_and_team or not teams:
        if filters.mine_and_team and not permissions.is_system(actor):
            base = base.filter(owner_id=actor.pk)
        return keyset_page(base, order=order, cursor=cursor, size=size)
    parts = [base.filter(owner_id=actor.pk)] + [base.filter(team_id=t) for t in teams]
    pages = [keyset_page(qs, order=order, cursor=cursor, size=size) for qs in parts]
    found = {case.pk: case for page in pages for case in page.items}
    names = [name.lstrip("-") for name in order]
    rows = sorted(
        found.values(),
        key=lambda c: tuple(getattr(c, n) for n in names),
        reverse=order[0].startswith("-"),
    )
    more = len(rows) > size or any(page.next_cursor for page in pages)
    rows = rows[:size]
    next_cursor = encode_cursor([getattr(rows[-1], n) for n in names]) if more and rows else None
    return Page(items=rows, next_cursor=next_cursor)


@dataclass
class ThreadItem:
    """One line of a case's history as its page shows it: a message or a status change."""

    at: Any
    message: CaseMessage | None = None
    change: CaseStatusChange | None = None


@dataclass
class CaseDetail:
    case: Case
    thread: list[ThreadItem] = field(default_factory=list)
    # The history before ``thread`` is not in it: the message to ask for it before (its id).
    earlier_before: int | None = None


# The latest messages a case page shows; earlier ones on asking ("Show earlier history"),
# as many at a time: a long case's page renders the part an agent reads.
THREAD_LATEST = 30


def case_detail(*, actor: Any, pk: int, latest: int | None = THREAD_LATEST) -> CaseDetail:
    """A case with its latest ``latest`` messages (all with None), and the notes and status
    changes among them, in the order they happened (two queries beyond the case, whatever
    their number)."""
    case = case_get(actor=actor, pk=pk)
    return _thread(case, before=None, limit=latest)


def case_history_before(
    *, actor: Any, pk: int, before: int, limit: int = THREAD_LATEST
) -> CaseDetail:
    """The part of a case's history before its message ``before``: the ``limit`` messages
    before it and the status changes among them (nothing when it is not the case's)."""
    case = case_get(actor=actor, pk=pk)
    boundary = CaseMessage.objects.filter(case=case, pk=before).first()
    if boundary is None:
        return CaseDetail(case=case)
    return _thread(case, before=boundary, limit=limit)


def _thread(case: Case, *, before: CaseMessage | None, limit: int | None) -> CaseDetail:
    messages = CaseMessage.objects.filter(case=case).select_related("author_user", "author_contact")
    if before is not None:
        messages = messages.filter(
            Q(occurred_at__lt=before.occurred_at)
            | Q(occurred_at=before.occurred_at, id__lt=before.pk)
        )
    if limit is None:
        rows = list(messages.order_by("occurred_at", "id"))
        more = False
    else:
        rows = list(messages.order_by("-occurred_at", "-id")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit][::-1]
    # A window of the history runs from its first message (when there are earlier ones) up
    # to the message it is before: each status change falls in exactly one window.
    lower = rows[0].occurred_at if more and rows else None
    upper = before.occurred_at if before is not None else None
    changes = [
        c
        for c in CaseStatusChange.objects.filter(case=case)
        .select_related("by")
        .order_by("at", "id")
        if (lower is None or c.at >= lower) and (upper is None or c.at < upper)
    ]
    thread = [ThreadItem(at=m.occurred_at, message=m) for m in rows]
    thread += [ThreadItem(at=c.at, change=c) for c in changes]
    thread.sort(key=lambda t: t.at)
    return CaseDetail(case=case, thread=thread, earlier_before=rows[0].pk if more else None)


def messages_of(*, actor: Any, case: Case) -> QuerySet[CaseMessage]:
    require_case(actor, "view", case)
    return CaseMessage.objects.filter(case=case).select_related("author_user", "author_contact")


def status_changes_of(*, actor: Any, case: Case) -> QuerySet[CaseStatusChange]:
    require_case(actor, "view", case)
    return CaseStatusChange.objects.filter(case=case).select_related("by")


def open_cases_for_contacts(*, actor: Any, contact_ids: list[int]) -> dict[int, list[Case]]:
    """Each contact's open cases the actor may see, most urgent first: one query."""
    if not contact_ids or not permissions.can(actor, "view", KIND):
        return {}
    qs = visible_cases(actor).filter(contact_id__in=contact_ids, is_open=True)
    found: dict[int, list[Case]] = {}
    for case in qs.order_by("priority", "created_at", "id")[:500]:
        found.setdefault(case.contact_id, []).append(case)
    return found


def kinds(*, active_only: bool = True) -> QuerySet[CaseKind]:
    qs = CaseKind.objects.all()
    return qs.filter(active=True) if active_only else qs
