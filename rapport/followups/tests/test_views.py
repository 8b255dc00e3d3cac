from __future__ import annotations

import datetime as dt

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.customers.tests.factories import make_contact
from rapport.followups import myday, selectors
from rapport.followups.models import Task
from rapport.followups.tests.factories import make_task
from rapport.timeline.models import Entry


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _day_of_tasks(bob, n: int) -> None:
    start, _ = selectors.day_bounds(timezone.localdate())
    for i in range(n):
        contact = make_contact(owner=bob, phones=[f"+44 20 7946 {i:04d}"])
        make_task(
            assignee=bob,
            contact=contact,
            kind="meeting",
            starts_at=start + dt.timedelta(hours=9, minutes=i),
        )
        make_task(assignee=bob, contact=contact, kind="call", due_at=start + dt.timedelta(hours=15))
        make_task(assignee=bob, contact=contact, due_at=start - dt.timedelta(days=i + 1))


def test_my_day_shows_meetings_due_and_overdue_with_call_links(personas):
    bob = personas["bob"]
    _day_of_tasks(bob, 2)
    body = _client(bob).get(reverse("followups:my-day")).content.decode()
    assert "Meetings today" in body and "Due today" in body and "Overdue" in body
    assert 'href="tel:+442079460000"' in body
    assert body.count("data-offline-log") == 6  # one quick log per open task with a contact


def test_my_day_query_count_does_not_grow_with_the_tasks(personas, django_assert_max_num_queries):
    bob = personas["bob"]
    _day_of_tasks(bob, 2)
    client = _client(bob)
    client.get(reverse("followups:my-day"))
    with django_assert_max_num_queries(8):
        small = client.get(reverse("followups:my-day"))
    _day_of_tasks(bob, 10)
    with django_assert_max_num_queries(8):
        large = client.get(reverse("followups:my-day"))
    assert small.status_code == large.status_code == 200
    assert large.content.decode().count("data-offline-log") == 36


def test_task_list_query_count_and_filters(personas, django_assert_max_num_queries):
    bob = personas["bob"]
    _day_of_tasks(bob, 8)
    make_task(assignee=personas["carl"], title="Carl's secret")
    client = _client(bob)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("followups:task-list"))
    body = response.content.decode()
    assert body.count('class="cell-name"') == 24 and "Carl&#x27;s secret" not in body
    overdue = client.get(reverse("followups:task-list") + "?due=overdue").content.decode()
    assert overdue.count('class="cell-name"') == 8


def test_another_teams_task_is_not_found(personas):
    task = make_task(assignee=personas["bob"])
    client = _client(personas["carl"])
    assert client.get(reverse("followups:task-detail", args=[task.pk])).status_code == 404
    assert client.post(reverse("followups:task-complete", args=[task.pk])).status_code == 404


def test_three_tap_log_posts_once_and_completes_the_task(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    task = make_task(assignee=bob, contact=contact, kind="call", title="Call back")
    client = _client(bob)
    data = {
        "kind": "call",
        "outcome": "Reached",
        "note": "Wants the demo",
        "key": "dev-abc",
        "task": task.pk,
    }
    for _ in range(2):  # the same log sent twice (a retry): one entry
        response = client.post(reverse("followups:log"), data, HTTP_ACCEPT="application/json")
        assert response.status_code == 200
    assert Entry.objects.filter(kind="call", external_id="dev-abc").count() == 1
    assert Task.objects.get(pk=task.pk).status == "done"
    assert response.json()["summary"] == "Call: Reached (Call back)"


def test_log_problems_answer_422_in_json(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    response = _client(bob).post(
        reverse("followups:log"),
        {"kind": "note", "note": "", "key": "k", "contact": contact.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 422 and "note" in response.json()["errors"]


def test_edit_with_a_stale_version_keeps_the_input_and_says_so(personas):
    bob = personas["bob"]
    task = make_task(assignee=bob, title="Old")
    client = _client(bob)
    url = reverse("followups:task-edit", args=[task.pk])
    client.post(url, {"title": "First", "kind": "call", "version": 1})
    response = client.post(url, {"title": "Second", "kind": "call", "version": 1})
    assert response.status_code == 409
    assert (
        "changed this task" in response.content.decode()
        and 'value="Second"' in response.content.decode()
    )
    assert Task.objects.get(pk=task.pk).title == "First"


def test_sections_from_other_apps_show_on_my_day(personas):
    def waiting(actor, day):
        return [myday.Item(title="Case 42 waits on you", url="/cases/42/", badge="Breach in 2 h")]

    myday.register_section(
        myday.Section("test-waiting", "Cases waiting on you", order=99, items=waiting)
    )
    try:
        body = _client(personas["bob"]).get(reverse("followups:my-day")).content.decode()
    finally:
        myday._SECTIONS.pop("test-waiting")
    assert "Cases waiting on you" in body and "Case 42 waits on you" in body


def test_create_from_a_contact_page(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    client = _client(bob)
    page = client.get(reverse("followups:task-create") + f"?contact={contact.pk}")
    assert contact.full_name in page.content.decode()
    response = client.post(
        reverse("followups:task-create"),
        {
            "title": "Send quote",
            "kind": "quote",
            "contact": contact.pk,
            "due_at": "2030-01-02T10:00",
        },
    )
    task = Task.objects.get(title="Send quote")
    assert (
        response.status_code == 302 and task.contact_id == contact.pk and task.assignee_id == bob.pk
    )


def test_a_log_the_device_must_not_resend_is_refused_in_json(personas):
    # The device drops a log refused in JSON; any other answer (a CSRF 403, a login
    # redirect) leaves it in the outbox.
    task = make_task(assignee=personas["bob"], contact=make_contact(owner=personas["bob"]))
    response = _client(personas["carl"]).post(
        reverse("followups:log"),
        {"kind": "call", "outcome": "Reached", "key": "k-9", "task": task.pk},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 404 and response["Content-Type"] == "application/json"


def test_a_stale_csrf_token_is_not_json(personas):
    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["bob"])
    response = client.post(
        reverse("followups:log"), {"kind": "note"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 403 and "application/json" not in response["Content-Type"]


def test_the_contact_panel_lists_their_open_tasks(personas):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    make_task(assignee=bob, contact=contact, title="Send the brochure")
    make_task(assignee=personas["carl"], contact=contact, title="Carl's own")  # out of bob's sight
    body = _client(bob).get(reverse("followups:contact-tasks", args=[contact.pk])).content.decode()
    assert "Send the brochure" in body and "Carl" not in body
    assert f"{reverse('followups:task-create')}?contact={contact.pk}" in body


def test_the_screen_pop_lists_the_callers_open_tasks(personas):
    from rapport.timeline.events import open_items

    bob = personas["bob"]
    contact = make_contact(owner=bob)
    task = make_task(assignee=bob, contact=contact, title="Call back", due_at=timezone.now())
    done = make_task(assignee=bob, contact=contact, title="Old one")
    from conftest import actor
    from rapport.followups import services

    services.task_complete(actor=actor(bob), task=done)
    items = [i for i in open_items(bob, [contact.pk])[contact.pk] if i.kind == "task"]
    assert [(i.title, i.url) for i in items] == [
        ("Call back", reverse("followups:task-detail", args=[task.pk]))
    ]
    assert not [
        i for i in open_items(personas["carl"], [contact.pk])[contact.pk] if i.kind == "task"
    ]
