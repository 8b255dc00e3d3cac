from __future__ import annotations

from django.utils import timezone

from rapport.customers.demo import demo_users_ensure
from rapport.customers.tests.factories import make_contact
from rapport.followups import selectors
from rapport.followups.demo import followups_demo_load
from rapport.followups.models import Task
from rapport.timeline.models import Entry


def test_demo_gives_each_colleague_a_day_that_is_not_empty(db):
    users, _, _ = demo_users_ensure()
    rep = users["north-rep-1"]
    for i in range(20):
        make_contact(owner=rep, full_name=f"Demo Person {i}")
    line = followups_demo_load(seed=1)
    assert line.startswith("Tasks: ")
    day = selectors.my_day(actor=rep, day=timezone.localdate())
    assert len(day.meetings) == 2 and len(day.due) == 3 and len(day.overdue) == 2
    assert Task.objects.filter(assignee=rep, status="done").count() == 5
    assert Entry.objects.filter(kind="task_done").exists()  # the done ones' notes
    assert not Task.objects.filter(assignee=users["readonly"]).exists()  # no task rights
    count = Task.objects.count()
    assert followups_demo_load(seed=1) == "Tasks: already there" and Task.objects.count() == count
