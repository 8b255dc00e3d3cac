"""Tasks endpoints of the REST API (mounted by rapport/api_urls.py): list, create, read,
change (``If-Match``), complete and cancel. Lists are paged with ``cursor`` and
``next_cursor``; every change answers with the task's new ``ETag``."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from rapport.api.auth import actor_of
from rapport.api.common import data_of, problems, user_of
from rapport.api.concurrency import expected_version, set_etag
from rapport.followups import selectors, services
from rapport.followups.models import Task

router = Router(tags=["Tasks"])

if TYPE_CHECKING:
    KindT: TypeAlias = str
    StatusT: TypeAlias = str
    DueT: TypeAlias = str
    SortT: TypeAlias = str
else:
    KindT = Literal[tuple(Task.Kind.values)]
    StatusT = Literal[tuple(Task.Status.values)]
    DueT = Literal[selectors.DUE_FILTERS]
    SortT = Literal[tuple(selectors.SORTS)]



MAX_ID = 2**63 - 1

class TaskFields(Schema):
    model_config = ConfigDict(extra="forbid")

    kind: KindT | None = None
    title: str | None = Field(None, max_length=200)
    notes: str | None = None
    due_at: dt.datetime | None = None
    starts_at: dt.datetime | None = Field(None, description="Meetings: when it starts")
    ends_at: dt.datetime | None = None
    assignee: int | None = Field(None, description="User id; you by default")
    team: int | None = None
    contact: int | None = None
    account: int | None = None
    subject_kind: str | None = Field(None, max_length=20, description='"deal", "case", "lead"…')
    subject_id: int | None = None
    reminder_at: dt.datetime | None = None


class TaskCreate(TaskFields):
    title: str = Field(..., max_length=200)  # type: ignore[assignment]


class CompleteIn(Schema):
    model_config = ConfigDict(extra="forbid")
    note: str = ""


class CancelIn(Schema):
    model_config = ConfigDict(extra="forbid")
    reason: str


class Person(Schema):
    id: int
    name: str


class TaskOut(Schema):
    id: int
    version: int
    kind: str
    title: str
    notes: str
    status: str
    due_at: dt.datetime | None
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    reminder_at: dt.datetime | None
    assignee: Person
    team: int | None
    contact: Person | None
    account: Person | None
    subject_kind: str
    subject_id: int | None
    done_at: dt.datetime | None
    done_by: int | None
    outcome_note: str
    created_at: dt.datetime
    updated_at: dt.datetime


class TaskPage(Schema):
    items: list[TaskOut]
    next_cursor: str | None


class TaskListQuery(Schema):
    status: StatusT | Literal[""] = "open"
    kind: KindT | None = None
    # Ids within the database's 64-bit range: anything else is a 422, not a lookup.
    assignee: int | None = Field(None, ge=1, le=MAX_ID)
    mine: bool = False
    due: DueT | None = None
    contact: int | None = Field(None, ge=1, le=MAX_ID)
    account: int | None = Field(None, ge=1, le=MAX_ID)
    subject_kind: str | None = Field(None, max_length=20)
    subject_id: int | None = Field(None, ge=1, le=MAX_ID)
    q: str = Field("", max_length=100)
    sort: SortT = "due"
    cursor: str | None = None
    size: int = Field(50, ge=1, le=selectors.MAX_PAGE_SIZE)


def _out(task: Task) -> dict[str, Any]:
    return {
        **{f: getattr(task, f) for f in (
            "id", "version", "kind", "title", "notes", "status", "due_at", "starts_at", "ends_at",
            "reminder_at", "subject_kind", "subject_id", "done_at", "outcome_note", "created_at",
            "updated_at",
        )},
        "team": task.team_id,
        "done_by": task.done_by_id,
        "assignee": {"id": task.assignee_id, "name": str(task.assignee)},
        "contact": {"id": task.contact_id, "name": task.contact.full_name} if task.contact else None,
        "account": {"id": task.account_id, "name": task.account.name} if task.account else None,
    }  # fmt: skip


@router.get("/tasks", response={200: TaskPage, **problems(403)}, url_name="task-list")
def task_list(request: HttpRequest, query: Query[TaskListQuery]):
    """Tasks you may see (your team's, or yours), open ones by default, soonest due first."""
    values: dict[str, Any] = {k: ("" if v is None else v) for k, v in query.model_dump().items()}
    values["cursor"] = query.cursor
    for name in ("assignee", "contact", "account", "subject_id"):
        values[name] = getattr(query, name)
    page = selectors.task_list(actor=user_of(request), filters=selectors.TaskFilters(**values))
    return {"items": [_out(t) for t in page.items], "next_cursor": page.next_cursor}


@router.post("/tasks", response={201: TaskOut, **problems(403, 404)}, url_name="task-create")
def task_create(request: HttpRequest, payload: TaskCreate, response: HttpResponse):
    """A task: for you unless you name an `assignee`; on a `contact` or `account` you may
    see; following up another record with `subject_kind` and `subject_id`."""
    task = services.task_create(actor=actor_of(request), data=data_of(payload))
    task = selectors.task_get(actor=user_of(request), pk=task.pk) if _sees(request, task) else task
    set_etag(response, task.version)
    response["Location"] = reverse("api:task-detail", kwargs={"task_id": task.pk})
    return Status(201, _out(task))


def _sees(request: HttpRequest, task: Task) -> bool:
    # A task given to someone outside your sight is made, but not read back through the list.
    from rapport.users import permissions
    from rapport.users.models import RecordKind

    return permissions.can_see_record(user_of(request), RecordKind.TASK, task)


@router.get(
    "/tasks/{task_id}", response={200: TaskOut, **problems(403, 404)}, url_name="task-detail"
)
def task_read(request: HttpRequest, task_id: int, response: HttpResponse):
    task = selectors.task_get(actor=user_of(request), pk=task_id)
    set_etag(response, task.version)
    return _out(task)


def _changed(request: HttpRequest, task: Task, response: HttpResponse) -> dict[str, Any]:
    fresh = selectors.task_get(actor=user_of(request), pk=task.pk) if _sees(request, task) else task
    set_etag(response, fresh.version)
    return _out(fresh)


@router.patch(
    "/tasks/{task_id}",
    response={200: TaskOut, **problems(403, 404, 409, 412)},
    url_name="task-update",
)
def task_update(request: HttpRequest, task_id: int, payload: TaskFields, response: HttpResponse):
    """Change the fields you send; send `If-Match` with the ETag you read (412 if someone
    changed it since). A done or cancelled task is closed (409)."""
    task = selectors.task_get(actor=user_of(request), pk=task_id, for_action="change")
    task = services.task_update(actor=actor_of(request), task=task, data=data_of(payload),
                                expected_version=expected_version(request))  # fmt: skip
    return _changed(request, task, response)


@router.post(
    "/tasks/{task_id}/complete",
    response={200: TaskOut, **problems(403, 404, 409, 412)},
    url_name="task-complete",
)
def task_complete(request: HttpRequest, task_id: int, payload: CompleteIn, response: HttpResponse):
    """Done, with an optional note (on the contact's timeline). Done twice is done once."""
    task = selectors.task_get(actor=user_of(request), pk=task_id, for_action="change")
    task = services.task_complete(actor=actor_of(request), task=task, note=payload.note,
                                  expected_version=expected_version(request))  # fmt: skip
    return _changed(request, task, response)


@router.post(
    "/tasks/{task_id}/cancel",
    response={200: TaskOut, **problems(403, 404, 409, 412)},
    url_name="task-cancel",
)
def task_cancel(request: HttpRequest, task_id: int, payload: CancelIn, response: HttpResponse):
    """Cancel an open task, saying why."""
    task = selectors.task_get(actor=user_of(request), pk=task_id, for_action="change")
    task = services.task_cancel(actor=actor_of(request), task=task, reason=payload.reason,
                                expected_version=expected_version(request))  # fmt: skip
    return _changed(request, task, response)
