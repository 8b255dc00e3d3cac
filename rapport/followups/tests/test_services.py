from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
    VersionConflict,
)
from rapport.customers.tests.factories import make_contact
from rapport.followups import selectors, services
from rapport.followups.models import Task
from rapport.followups.tests.factories import make_task
from rapport.timeline.models import Entry, EntryLink


def test_create_defaults_to_the_actor_and_their_team(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    task = services.task_create(
        actor=actor(bob), data={"title": "Call back", "kind": "call", "contact": contact.pk}
    )
    assert task.assignee_id == bob.pk
    assert task.team is not None and task.team.name == "North"
    assert task.created_by_id == bob.pk
    assert task.status == Task.Status.OPEN and task.version == 1
    audit = AuditEntry.objects.get(entity_kind="task", entity_id=task.pk)
    assert audit.action == "create" and audit.changes["title"] == [None, "Call back"]


def test_a_meeting_needs_a_start_and_is_due_when_it_starts(personas):
    bob = personas["bob"]
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=actor(bob), data={"title": "Demo", "kind": "meeting"})
    assert "starts_at" in exc.value.errors
    start = timezone.now() + dt.timedelta(hours=2)
    task = services.task_create(
        actor=actor(bob),
        data={
            "title": "Demo",
            "kind": "meeting",
            "starts_at": start,
            "ends_at": start + dt.timedelta(hours=1),
        },
    )
    assert task.due_at == start
    with pytest.raises(ValidationFailed) as exc:
        services.task_update(
            actor=actor(bob), task=task, data={"ends_at": start - dt.timedelta(hours=1)}
        )
    assert "ends_at" in exc.value.errors


def test_create_refuses_a_contact_the_actor_cannot_see(personas):
    carl_contact = make_contact(owner=personas["carl"])
    with pytest.raises(NotFound):
        services.task_create(
            actor=actor(personas["bob"]), data={"title": "x", "contact": carl_contact.pk}
        )


def test_create_refuses_an_assignee_without_task_rights_and_unknown_fields(personas):
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(
            actor=actor(personas["bob"]), data={"title": "x", "assignee": personas["rita"].pk}
        )
    assert set(exc.value.errors) == {"assignee"}
    with pytest.raises(ValidationFailed) as exc:
        services.task_create(actor=actor(personas["bob"]), data={"title": "x", "colour": "red"})
    assert set(exc.value.errors) == {"colour"}


def test_readonly_may_not_create_tasks(personas):
    with pytest.raises(PermissionDenied):
        services.task_create(actor=actor(personas["rita"]), data={"title": "x"})


def test_update_refuses_a_stale_version_and_bumps_it(personas):
    bob = personas["bob"]
    task = make_task(assignee=bob)
    updated = services.task_update(
        actor=actor(bob), task=task, data={"title": "New"}, expected_version=1
    )
    assert updated.version == 2 and updated.title == "New"
    with pytest.raises(VersionConflict):
        services.task_update(
            actor=actor(bob), task=task, data={"title": "Lost"}, expected_version=1
        )
    assert Task.objects.get(pk=task.pk).title == "New"
    audit = AuditEntry.objects.filter(entity_kind="task", entity_id=task.pk, action="update").get()
    assert audit.changes == {"title": [task.title, "New"]}


def test_a_teammate_may_change_it_but_another_team_gets_404(personas):
    task = make_task(assignee=personas["bob"])
    services.task_update(actor=actor(personas["brenda"]), task=task, data={"notes": "seen"})
    with pytest.raises(NotFound):
        services.task_update(actor=actor(personas["carl"]), task=task, data={"notes": "x"})
    with pytest.raises(NotFound):
        selectors.task_get(actor=personas["carl"], pk=task.pk)


def test_own_visibility_sees_only_tasks_assigned_to_them(personas):
    stella = personas["stella"]  # steward: tasks with OWN visibility
    mine = make_task(assignee=stella)
    make_task(assignee=personas["bob"])
    page = selectors.task_list(actor=stella, filters=selectors.TaskFilters())
    assert [t.pk for t in page.items] == [mine.pk]


def test_complete_with_a_note_goes_on_the_contact_timeline_once(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    task = make_task(assignee=bob, contact=contact, title="Send quote")
    done = services.task_complete(actor=actor(bob), task=task, note="Sent, they call Monday")
    assert done.status == "done" and done.done_by_id == bob.pk and done.done_at is not None
    again = services.task_complete(actor=actor(bob), task=task, note="again")
    assert again.version == done.version  # a second tap changes nothing
    entries = Entry.objects.filter(kind="task_done")
    assert [(e.summary, e.body) for e in entries] == [
        ("Done: Send quote", "Sent, they call Monday")
    ]
    assert EntryLink.objects.filter(entry=entries[0], contact=contact).exists()


def test_cancel_needs_a_reason_and_a_done_task_cannot_be_cancelled(personas):
    bob = personas["bob"]
    task = make_task(assignee=bob)
    with pytest.raises(ValidationFailed):
        services.task_cancel(actor=actor(bob), task=task, reason=" ")
    cancelled = services.task_cancel(actor=actor(bob), task=task, reason="Customer gone")
    assert cancelled.status == "cancelled" and cancelled.outcome_note == "Customer gone"
    with pytest.raises(Conflict):
        services.task_complete(actor=actor(bob), task=task)
    other = make_task(assignee=bob)
    services.task_complete(actor=actor(bob), task=other)
    with pytest.raises(Conflict):
        services.task_cancel(actor=actor(bob), task=other, reason="x")
    with pytest.raises(Conflict):
        services.task_update(actor=actor(bob), task=other, data={"title": "x"})


def test_reassign_moves_it_to_a_colleague(personas):
    bob, carl = personas["bob"], personas["carl"]
    task = make_task(assignee=bob)
    moved = services.task_reassign(actor=actor(bob), task=task, assignee=carl)
    assert moved.assignee_id == carl.pk
    with pytest.raises(NotFound):  # now in the South team's work, out of bob's sight
        selectors.task_get(actor=bob, pk=task.pk)


def test_quick_log_records_a_call_and_completes_the_task_exactly_once(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    task = make_task(assignee=bob, contact=contact, kind="call", title="Call back")
    first = services.activity_log(
        actor=actor(bob), kind="call", outcome="Reached", note="Wants a demo", key="k-1", task=task
    )
    second = services.activity_log(
        actor=actor(bob), kind="call", outcome="Reached", note="Wants a demo", key="k-1", task=task
    )
    assert first.pk == second.pk
    assert Entry.objects.filter(kind="call").count() == 1
    assert first.summary == "Call: Reached (Call back)" and first.body == "Wants a demo"
    task.refresh_from_db()
    assert task.status == "done" and task.version == 2
    assert not Entry.objects.filter(kind="task_done").exists()  # the call says it all
    assert AuditEntry.objects.filter(entity_kind="contact", object_kind="call").count() == 1


def test_quick_log_refuses_a_bad_key_and_an_unknown_outcome(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    with pytest.raises(ValidationFailed) as exc:
        services.activity_log(
            actor=actor(bob),
            kind="call",
            outcome="Maybe",
            note="",
            key="<x>",
            contact_id=contact.pk,
        )
    assert set(exc.value.errors) == {"outcome", "key"}


def test_quick_log_on_another_teams_contact_is_404(personas):
    contact = make_contact(owner=personas["carl"])
    with pytest.raises(NotFound):
        services.activity_log(
            actor=actor(personas["bob"]), kind="note", note="hi", key="k-2", contact_id=contact.pk
        )


def test_open_tasks_for_a_subject_ignore_visibility_and_closed_ones(personas):
    a = make_task(assignee=personas["carl"], subject_kind="case", subject_id=7)
    b = make_task(assignee=personas["bob"], subject_kind="case", subject_id=7)
    services.task_complete(actor=actor(personas["bob"]), task=b)
    make_task(assignee=personas["bob"], subject_kind="case", subject_id=8)
    assert list(selectors.open_tasks_for(subject_kind="case", subject_id=7)) == [a]


def test_my_day_splits_meetings_due_and_overdue(personas):
    bob = personas["bob"]
    today = timezone.localdate()
    start, end = selectors.day_bounds(today)
    meeting = make_task(assignee=bob, kind="meeting", starts_at=start + dt.timedelta(hours=10))
    due = make_task(assignee=bob, due_at=start + dt.timedelta(hours=15))
    late = make_task(assignee=bob, due_at=start - dt.timedelta(days=2))
    make_task(assignee=bob, due_at=end + dt.timedelta(hours=1))  # tomorrow
    make_task(assignee=personas["brenda"], due_at=start + dt.timedelta(hours=9))  # hers
    day = selectors.my_day(actor=bob, day=today)
    assert day.meetings == [meeting] and day.due == [due] and day.overdue == [late]


def test_privacy_export_and_erase(personas):
    from rapport.followups import privacy

    contact = make_contact(owner=personas["bob"])
    task = make_task(assignee=personas["bob"], contact=contact, title="Call Dana")
    assert [t["title"] for t in privacy.tasks_export(contact_id=contact.pk)] == ["Call Dana"]
    assert privacy.tasks_erase(actor=actor(personas["alice"]), contact_id=contact.pk) == 1
    assert not Task.objects.filter(pk=task.pk).exists()
    erased = AuditEntry.objects.get(entity_kind="task", entity_id=task.pk, action="delete")
    assert "Call Dana" not in f"{erased.object_repr} {erased.changes}"  # the erasure keeps no copy


def test_my_day_keeps_today_whatever_the_backlog_and_shows_the_latest_overdue(personas):
    bob = personas["bob"]
    today = timezone.localdate()
    start, _ = selectors.day_bounds(today)
    for i in range(selectors.OVERDUE_SHOWN + 5):
        make_task(assignee=bob, due_at=start - dt.timedelta(days=i + 1), title=f"late {i}")
    due = make_task(assignee=bob, due_at=start + dt.timedelta(hours=12))
    day = selectors.my_day(actor=bob, day=today)
    assert day.due == [due] and day.more_overdue
    assert [t.title for t in day.overdue] == [f"late {i}" for i in range(selectors.OVERDUE_SHOWN)]


def test_a_meeting_is_due_when_it_starts_even_when_moved(personas):
    bob = personas["bob"]
    start = timezone.now() + dt.timedelta(days=1)
    task = services.task_create(
        actor=actor(bob),
        data={
            "title": "Demo",
            "kind": "meeting",
            "starts_at": start,
            "due_at": start - dt.timedelta(days=3),
        },
    )
    assert task.due_at == start
    moved = services.task_update(
        actor=actor(bob), task=task, data={"starts_at": start + dt.timedelta(hours=2)}
    )
    assert moved.due_at == start + dt.timedelta(hours=2)


def test_my_day_keeps_a_meeting_done_today_to_show_it_was_logged(personas):
    bob = personas["bob"]
    start, _ = selectors.day_bounds(timezone.localdate())
    meeting = make_task(assignee=bob, kind="meeting", starts_at=start + dt.timedelta(hours=9))
    services.task_complete(actor=actor(bob), task=meeting)
    call = make_task(assignee=bob, kind="call", due_at=start + dt.timedelta(hours=9))
    services.task_complete(actor=actor(bob), task=call)
    day = selectors.my_day(actor=bob, day=timezone.localdate())
    assert day.meetings == [meeting] and day.due == []


def test_tasks_follow_their_contact_through_a_merge_and_back(personas):
    from rapport.identity import services as identity_services

    bob = personas["bob"]
    survivor, merged = make_contact(owner=bob), make_contact(owner=bob)
    task = make_task(assignee=bob, contact=merged)
    merge = identity_services.records_merge(
        actor=actor(personas["alice"]),
        kind="contact",
        survivor_id=survivor.pk,
        merged_ids=[merged.pk],
    )
    assert Task.objects.get(pk=task.pk).contact_id == survivor.pk
    identity_services.merge_undo(actor=actor(personas["alice"]), merge=merge)
    assert Task.objects.get(pk=task.pk).contact_id == merged.pk
