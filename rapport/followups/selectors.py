"""Reads of tasks: the task list, one task, a subject's open follow-ups, and "my day".

Visibility is the contacts' rule with the assignee as owner (``RecordKind.TASK``, team or
own, see ``users.permissions``): a rep sees the tasks of the people in their teams, a role
with OWN visibility only those given to them. A task the actor may not see is a 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from rapport.core.errors import NotFound, ValidationFailed
from rapport.core.pagination import Page
from rapport.customers.models import ContactPhone
from rapport.followups import myday
from rapport.followups.models import Task
from rapport.users import permissions
from rapport.users.models import RecordKind

MAX_PAGE_SIZE = 200
DUE_FILTERS = ("overdue", "today", "week", "later", "none")
SORTS = {
    # Soonest first, tasks without a due time last (on SQLite and PostgreSQL alike).
    "due": (F("due_at").asc(nulls_last=True), "id"),
    "newest": ("-id",),
}
# What "my day" shows at most: today's meetings and tasks (a day is bounded, but a
# calendar import could fill it), and the overdue ones, the most recently due first; the
# rest of those are one tap away on the task list.
MY_DAY_LIMIT = 100
OVERDUE_SHOWN = 20


def _phone() -> Subquery:
    """The contact's primary (else first) phone, in the same query as the task."""
    return Subquery(
        ContactPhone.objects.filter(contact_id=OuterRef("contact_id"))
        .order_by("-is_primary", "id")
        .values("e164")[:1]
    )


def _visible(actor: Any) -> QuerySet[Task]:
    permissions.require(actor, "view", RecordKind.TASK)
    q = permissions.visibility_q(actor, RecordKind.TASK, owner_field="assignee")
    qs = Task.objects.all()
    return qs if q is None else qs.filter(q)


def _with_people(qs: QuerySet[Task]) -> QuerySet[Task]:
    return qs.select_related("assignee", "contact", "account").annotate(phone=_phone())


def _rows(qs: QuerySet[Task], start: int, stop: int) -> list[Task]:
    """Rows ``start:stop`` of ``qs`` (ordered) with their people. The ids are picked first,
    from the task table alone: joined and with the phone looked up, a sort would build every
    matching row (a team's thousands of open tasks) before keeping a page of them."""
    ids = list(qs.values_list("id", flat=True)[start:stop])
    found = {t.pk: t for t in _with_people(Task.objects.filter(pk__in=ids))}
    return [found[pk] for pk in ids if pk in found]


@dataclass
class TaskFilters:
    status: str = "open"  # open, done, cancelled, or "" for all
    kind: str = ""
    assignee: int | None = None
    mine: bool = False
    due: str = ""  # overdue, today, week, later, none
    contact: int | None = None
    account: int | None = None
    subject_kind: str = ""
    subject_id: int | None = None
    q: str = ""
    sort: str = "due"
    cursor: str | None = None
    size: int = 50
    errors: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        if self.status and self.status not in Task.Status.values:
            errors["status"] = [f"One of: {', '.join(Task.Status.values)}."]
        if self.kind and self.kind not in Task.Kind.values:
            errors["kind"] = [f"One of: {', '.join(Task.Kind.values)}."]
        if self.due and self.due not in DUE_FILTERS:
            errors["due"] = [f"One of: {', '.join(DUE_FILTERS)}."]
        if self.sort not in SORTS:
            errors["sort"] = [f"Sort by one of: {', '.join(SORTS)}."]
        if not 1 <= self.size <= MAX_PAGE_SIZE:
            errors["size"] = [f"From 1 to {MAX_PAGE_SIZE}."]
        if self.cursor and not self.cursor.isdigit():
            errors["cursor"] = ["Invalid cursor."]
        if errors:
            raise ValidationFailed("Invalid list parameters.", errors=errors)


def day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The first moment of ``day`` and of the next, in the current time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def task_queryset(*, actor: Any, filters: TaskFilters) -> QuerySet[Task]:
    """Every task the list would show under ``filters`` (all pages), in its order; ``_rows``
    adds their people to a page of them."""
    filters.clean()
    qs = _visible(actor)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.mine:
        qs = qs.filter(assignee_id=getattr(actor, "pk", None))
    elif filters.assignee:
        qs = qs.filter(assignee_id=filters.assignee)
    if filters.contact:
        qs = qs.filter(contact_id=filters.contact)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.subject_kind:
        qs = qs.filter(subject_kind=filters.subject_kind)
    if filters.subject_id:
        qs = qs.filter(subject_id=filters.subject_id)
    if filters.q:
        qs = qs.filter(Q(title__icontains=filters.q) | Q(contact__full_name__icontains=filters.q))
    if filters.due:
        start, end = day_bounds(timezone.localdate())
        qs = qs.filter(
            {
                "overdue": Q(due_at__lt=start),  # as on my day: due before today
                "today": Q(due_at__gte=start, due_at__lt=end),
                "week": Q(due_at__gte=start, due_at__lt=start + dt.timedelta(days=7)),
                "later": Q(due_at__gte=start + dt.timedelta(days=7)),
                "none": Q(due_at__isnull=True),
            }[filters.due]
        )
    return qs.order_by(*SORTS[filters.sort])


def task_list(*, actor: Any, filters: TaskFilters) -> Page:
    """One page of the tasks the actor may see. Pages by position: a task list is one
    person's or one team's work, never deep enough for that to cost."""
    qs = task_queryset(actor=actor, filters=filters)
    offset = int(filters.cursor or 0)
    rows = _rows(qs, offset, offset + filters.size + 1)
    more = len(rows) > filters.size
    return Page(
        items=rows[: filters.size], next_cursor=str(offset + filters.size) if more else None
    )


def task_get(*, actor: Any, pk: int, for_action: str = "view") -> Task:
    """One task the actor may see (NotFound otherwise), with its people."""
    task = _with_people(_visible(actor).filter(pk=pk)).first()
    if task is None:
        raise NotFound("No such task.")
    if for_action != "view":
        permissions.require(actor, for_action, RecordKind.TASK)
    return task


def open_tasks_for(*, subject_kind: str, subject_id: int) -> QuerySet[Task]:
    """The open tasks following up one record of another app ("a case cannot close while
    its follow-ups are open"). No permission filter: the owning app's rule needs them all."""
    return Task.objects.filter(
        subject_kind=subject_kind, subject_id=subject_id, status=Task.Status.OPEN
    ).order_by(F("due_at").asc(nulls_last=True), "id")


@dataclass
class MyDaySection:
    name: str
    title: str
    items: list[myday.Item]


@dataclass
class MyDay:
    day: dt.date
    meetings: list[Task]
    due: list[Task]
    overdue: list[Task]
    sections: list[MyDaySection]
    more_overdue: bool = False

    @property
    def is_empty(self) -> bool:
        return not (self.meetings or self.due or self.overdue or self.sections)


def my_day(*, actor: Any, day: dt.date | None = None) -> MyDay:
    """The actor's day: meetings starting that day (done ones too, to log them), open tasks
    due that day, and the open ones overdue (the latest ``OVERDUE_SHOWN``), then the
    sections other apps register. Two queries for the tasks (contacts, accounts and phones
    joined), whatever their number."""
    permissions.require(actor, "view", RecordKind.TASK)
    day = day or timezone.localdate()
    start, end = day_bounds(day)
    mine = Task.objects.filter(assignee_id=actor.pk)
    # A meeting's due_at is its start (services), so both halves are ranges of the
    # (assignee, status, due_at) index, whatever the length of the assignee's history.
    that_day = Q(due_at__gte=start, due_at__lt=end)
    today = list(
        _with_people(
            mine.filter(
                Q(status=Task.Status.OPEN) & that_day
                | Q(status=Task.Status.DONE, kind=Task.Kind.MEETING) & that_day
            )
        ).order_by("due_at", "id")[:MY_DAY_LIMIT]
    )
    late = _rows(
        mine.filter(status=Task.Status.OPEN, due_at__lt=start).order_by("-due_at", "-id"),
        0,
        OVERDUE_SHOWN + 1,
    )

    def is_meeting(t: Task) -> bool:
        return (
            t.kind == Task.Kind.MEETING and t.starts_at is not None and start <= t.starts_at < end
        )

    meetings = sorted((t for t in today if is_meeting(t)), key=lambda t: (t.starts_at, t.pk))
    due = [t for t in today if not is_meeting(t)]
    late = [t for t in late if not is_meeting(t)]
    sections = []
    for section in myday.sections():
        items = section.items(actor, day)
        if items:
            sections.append(MyDaySection(section.name, section.title, list(items)))
    return MyDay(
        day=day, meetings=meetings, due=due, overdue=late[:OVERDUE_SHOWN],
        more_overdue=len(late) > OVERDUE_SHOWN, sections=sections,
    )  # fmt: skip


def assignee_choices(*, actor: Any) -> list[tuple[int, str]]:
    """Whom the actor may give a task to: the colleagues whose tasks they see (their team,
    or everyone for a role that sees all tasks), among those who work with tasks."""
    from rapport.users.models import User

    owners = permissions.visible_owner_ids(actor, RecordKind.TASK)
    qs = User.objects.filter(is_active=True).order_by("first_name", "last_name", "username")
    if owners is not None:
        qs = qs.filter(pk__in=owners or [actor.pk])
    return [(u.pk, str(u)) for u in qs if permissions.can(u, "view", RecordKind.TASK)]


def open_items(actor: Any, contact_ids: list[int]) -> dict[int, list[Any]]:
    """The screen pop's open items: the caller's open tasks the actor may see (one query)."""
    from django.urls import reverse

    from rapport.timeline.events import OpenItem

    if not permissions.can(actor, "view", RecordKind.TASK):
        return {}
    found: dict[int, list[Any]] = {}
    qs = _visible(actor).filter(contact_id__in=contact_ids, status=Task.Status.OPEN)
    for task in qs.order_by(F("due_at").asc(nulls_last=True), "id")[:50]:
        found.setdefault(task.contact_id or 0, []).append(
            OpenItem(
                kind="task",
                label="Task",
                title=task.title,
                url=reverse("followups:task-detail", args=[task.pk]),
                due=timezone.localtime(task.due_at).date() if task.due_at else None,
            )  # fmt: skip
        )
    return found
