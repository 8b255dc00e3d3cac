"""Demo tasks: each demo colleague's open, overdue and done tasks and today's meetings on the
contacts they own, so "my day" is not empty on the first start (``manage.py demo``)."""

from __future__ import annotations

import datetime as dt
import random

from django.db import transaction
from django.utils import timezone

from rapport.core.actor import Actor, Via
from rapport.customers.demo import demo_users_ensure
from rapport.customers.models import Contact
from rapport.followups import services
from rapport.followups.models import Task
from rapport.users import permissions
from rapport.users.models import RecordKind

SYSTEM = Actor(user=None, via=Via.SYSTEM)
CALLS = (
    "Call back about the renewal", "Call to confirm the delivery date", "Follow up on the quote",
    "Check in after the installation", "Call about the invoice question",
)  # fmt: skip
OTHERS = (
    (Task.Kind.QUOTE, "Send the quote for the extra licences"),
    (Task.Kind.EMAIL, "E-mail the product sheet"),
    (Task.Kind.FOLLOW_UP, "Follow up on the open question"),
    (Task.Kind.OTHER, "Prepare the account review"),
)
MEETINGS = ("Quarterly review", "Product demo", "Contract walk-through", "Site visit")
NOTES = (
    "Spoke with them; they want the figures by Friday.",
    "Left a message, will try again next week.",
    "Sent as promised; they will reply after their board meeting.",
)


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=timezone.get_current_timezone())


def followups_demo_load(*, seed: int = 1) -> str:
    users, _, _ = demo_users_ensure()
    staff = [u for u in users.values() if permissions.can(u, "add", RecordKind.TASK)]
    if Task.objects.filter(assignee__in=staff).exists():
        return "Tasks: already there"
    rng = random.Random(seed)
    today = timezone.localdate()
    made = done = 0
    for user in sorted(staff, key=lambda u: u.username):
        mine = list(
            Contact.objects.filter(owner=user).order_by("id").values_list("id", flat=True)[:400]
        )
        if not mine:
            mine = list(Contact.objects.order_by("id").values_list("id", flat=True)[:400])
        if not mine:
            continue
        people = rng.sample(mine, min(len(mine), 16))
        plan: list[dict] = []
        for i, hour in enumerate((10, 14)):
            start = _at(today, hour, 30 * (i % 2))
            plan.append({
                "kind": Task.Kind.MEETING, "title": rng.choice(MEETINGS), "starts_at": start,
                "ends_at": start + dt.timedelta(hours=1),
            })  # fmt: skip
        for hour in (9, 11, 16):
            plan.append(
                {"kind": Task.Kind.CALL, "title": rng.choice(CALLS), "due_at": _at(today, hour)}
            )
        for days in (1, 3):
            kind, title = rng.choice(OTHERS)
            plan.append(
                {"kind": kind, "title": title, "due_at": _at(today - dt.timedelta(days=days), 12)}
            )
        for days in (2, 5, 9, 14):
            kind, title = rng.choice(OTHERS + ((Task.Kind.CALL, rng.choice(CALLS)),))
            plan.append(
                {"kind": kind, "title": title, "due_at": _at(today + dt.timedelta(days=days), 10)}
            )
        finished = []
        for days in (2, 4, 7, 12, 20):
            finished.append({"kind": Task.Kind.CALL, "title": rng.choice(CALLS),
                             "due_at": _at(today - dt.timedelta(days=days), 15)})  # fmt: skip
        actor = Actor(user=user, via=Via.SYSTEM)
        with transaction.atomic():
            for i, (data, contact) in enumerate(zip(plan + finished, people * 2, strict=False)):
                task = services.task_create(
                    actor=SYSTEM, data={**data, "assignee": user.pk, "contact": contact}
                )
                made += 1
                if i >= len(plan):
                    services.task_complete(actor=actor, task=task, note=rng.choice(NOTES))
                    done += 1
    return f"Tasks: {made} for {len(staff)} colleagues ({done} done, today's meetings and calls)"
