"""Tasks' pages and API operations, for the permission harness
(``rapport.core.testing.permissions``): a call to make, given to bob, on bob's contact.
For tasks the owner is the assignee, so the team and own rules meet bob's task as they
meet his contact."""

from __future__ import annotations

from rapport.core.testing.permissions import Case, World
from rapport.customers.tests.factories import SYSTEM
from rapport.followups import services

DEPENDS = ("customers",)
T, C, V = "task", "contact", "view"


def build(world: World) -> None:
    bob = world.users["bob"]
    task = services.task_create(
        actor=SYSTEM,
        data={"title": "Call back about the renewal", "kind": "call", "assignee": bob.pk,
              "contact": world.ids["contact"]},
    )  # fmt: skip
    world.ids.update(task=task.pk, bob=bob.pk)


CASES: list[Case] = [
    # API.
    Case("get", "/tasks", needs=((T, V),)),
    Case("post", "/tasks", body={"title": "Send the quote"}, success=201, needs=((T, "add"),)),
    Case("get", "/tasks/{task}", parent=T),
    Case(
        "patch", "/tasks/{task}", body={"notes": "Ask for Dana"}, parent=T, needs=((T, "change"),)
    ),
    Case("post", "/tasks/{task}/complete", body={"note": "Done"}, parent=T, needs=((T, "change"),)),
    Case("post", "/tasks/{task}/cancel", body={"reason": "Gone"}, parent=T, needs=((T, "change"),)),
    # Pages.
    Case("get", url="followups:my-day", needs=((T, V),)),
    Case("get", url="followups:task-list", needs=((T, V),)),
    Case("get", url="followups:task-create", needs=((T, "add"),)),
    Case(
        "post",
        url="followups:task-create",
        body={"title": "Send the quote", "kind": "quote"},
        success=302,
        needs=((T, "add"),),
    ),  # fmt: skip
    Case("get", url="followups:task-detail", args=("task",), parent=T),
    # The panel on the contact's page: the contact's rights first, then the tasks'.
    Case("get", url="followups:contact-tasks", args=("contact",), parent=C, needs=((T, V),)),
    Case("get", url="followups:task-edit", args=("task",), parent=T, needs=((T, "change"),)),
    Case(
        "post",
        url="followups:task-edit",
        args=("task",),
        body={"title": "Call back", "kind": "call", "assignee": "{bob}"},
        success=302,
        parent=T,
        needs=((T, "change"),),
    ),  # fmt: skip
    Case(
        "post",
        url="followups:task-complete",
        args=("task",),
        body={"note": "Done"},
        success=302,
        parent=T,
        needs=((T, "change"),),
    ),  # fmt: skip
    Case(
        "post",
        url="followups:task-cancel",
        args=("task",),
        body={"reason": "Gone"},
        success=302,
        parent=T,
        needs=((T, "change"),),
    ),  # fmt: skip
    # The quick log: on a contact (a timeline entry: the contact's rights), or closing a task.
    Case(
        "post",
        url="followups:log",
        body={
            "kind": "note",
            "note": "Prefers mornings",
            "key": "harness-1",
            "contact": "{contact}",
        },
        success=302,
        parent=C,
        needs=((C, "change"),),
        note="on a contact",
    ),  # fmt: skip
    Case(
        "post",
        url="followups:log",
        body={
            "kind": "call",
            "outcome": "Reached",
            "note": "Renewing",
            "key": "harness-2",
            "task": "{task}",
        },
        success=302,
        parent=T,
        needs=((T, "change"), (C, "change")),
        note="closing a task",
    ),  # fmt: skip
]
