"""The service pages: the queue and the case page in constant queries, another team's
case a 404, the caller screen's "New case" in two clicks, the panels open cases first."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from conftest import actor
from rapport.customers.tests.factories import make_contact
from rapport.service import services
from rapport.service.models import Case
from rapport.service.tests.factories import make_case
from rapport.users.models import Team, User

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def desk(personas):
    team = Team.objects.create(name="Desk")
    personas["sam"].teams.add(team)
    return team


@pytest.fixture
def nora(bob):
    return make_contact(
        owner=bob,
        full_name="Nora North",
        emails=["nora@northwind.example"],
        phones=["+44 20 7946 0018"],
    )


def test_the_queue_lists_my_teams_open_cases_most_urgent_first_in_constant_queries(
    personas, desk, nora, django_assert_max_num_queries
):
    sam = personas["sam"]
    make_case(contact=nora, actor=actor(sam), subject="Low thing", priority=4)
    make_case(contact=nora, actor=actor(sam), subject="Urgent thing", priority=1)
    other = make_case(contact=nora, subject="Not our team")  # no team, no owner
    client = _client(sam)
    client.get(reverse("service:home"))
    with django_assert_max_num_queries(12) as few:
        response = client.get(reverse("service:home"))
    for i in range(10):
        make_case(contact=nora, actor=actor(sam), subject=f"More {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("service:home"))
    body = response.content.decode()
    assert body.index("Urgent thing") < body.index("Low thing")
    assert "More 9" in body and other.subject not in body


def test_the_case_page_shows_its_thread_in_constant_queries(
    personas, desk, nora, django_assert_max_num_queries
):
    sam = personas["sam"]
    case = make_case(contact=nora, actor=actor(sam), subject="Chair broke")
    services.case_note_add(actor=actor(sam), case=case, body="First note")
    client = _client(sam)
    url = reverse("service:case-detail", args=[case.pk])
    client.get(url)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for i in range(10):
        services.case_note_add(actor=actor(sam), case=case, body=f"Note {i}")
        services.case_status_change(
            actor=actor(sam), case=case, status="open" if i % 2 == 0 else "waiting_customer"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert "Note 9" in body and "Waiting on customer" in body


def test_another_teams_case_is_not_found(personas, desk, nora):
    case = make_case(contact=nora, actor=actor(personas["sam"]))
    outsider = User.objects.create_user(username="otto", role="service")
    outsider.teams.add(Team.objects.create(name="Elsewhere"))
    assert _client(outsider).get(reverse("service:case-detail", args=[case.pk])).status_code == 404
    assert (
        _client(outsider)
        .post(reverse("service:case-note", args=[case.pk]), {"body": "x"})
        .status_code
        == 404
    )


def test_a_case_from_the_caller_screen_in_two_clicks(personas, desk, nora):
    sam = _client(personas["sam"])
    pop = sam.get(
        reverse("timeline:lookup"), {"q": "020 7946 0018", "region": "GB"}
    ).content.decode()
    new_case = reverse("service:case-create") + f"?contact={nora.pk}&amp;channel=phone"
    assert new_case in pop  # click one
    form = sam.get(
        reverse("service:case-create"), {"contact": nora.pk, "channel": "phone"}
    ).content.decode()
    assert "Call from Nora North" in form
    response = sam.post(
        reverse("service:case-create"),
        {
            "contact": nora.pk,
            "subject": "Call from Nora North",
            "kind": "inquiry",
            "priority": "3",
            "channel": "phone",
        },
    )  # click two: the form as it came
    case = Case.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "service:case-detail", args=[case.pk]
    )
    assert (case.contact, case.channel, case.owner) == (nora, "phone", personas["sam"])


def test_the_screen_pop_lists_open_cases_before_other_open_items(personas, desk, nora):
    from rapport.timeline import events

    make_case(contact=nora, actor=actor(personas["sam"]), subject="Chair broke")
    closed = make_case(contact=nora, actor=actor(personas["sam"]), subject="Old thing")
    services.case_status_change(actor=actor(personas["sam"]), case=closed, status="closed")

    def other(actor, ids):
        return {
            pk: [events.OpenItem(kind="to_confirm", label="To confirm", title="A new phone")]
            for pk in ids
        }

    events.OPEN_ITEMS.insert(0, other)  # registered before service
    try:
        items = events.open_items(personas["sam"], [nora.pk])[nora.pk]
    finally:
        events.OPEN_ITEMS.remove(other)
    assert [i.kind for i in items] == ["case", "to_confirm"]
    assert "Chair broke" in items[0].title


def test_the_contact_panel_lists_open_cases_first(personas, desk, nora):
    sam = personas["sam"]
    done = make_case(contact=nora, actor=actor(sam), subject="Done one")
    services.case_status_change(actor=actor(sam), case=done, status="resolved")
    make_case(contact=nora, actor=actor(sam), subject="Open one")
    body = _client(sam).get(reverse("service:contact-cases", args=[nora.pk])).content.decode()
    assert body.index("Open one") < body.index("Done one")


def test_closing_with_open_follow_ups_asks_the_owner_why(personas, desk, nora):
    from rapport.followups.services import task_create

    sam = personas["sam"]
    case = make_case(contact=nora, actor=actor(sam))
    task_create(
        actor=actor(sam),
        data={
            "kind": "call",
            "title": "Call back",
            "assignee": sam.pk,
            "subject_kind": "case",
            "subject_id": case.pk,
        },
    )
    client = _client(sam)
    url = reverse("service:case-status", args=[case.pk])
    response = client.post(url, {"status": "closed"})
    assert response.status_code == 422 and "still open" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == "new"
    assert (
        client.post(url, {"status": "closed", "reason": "Customer no longer reachable"}).status_code
        == 302
    )
    case.refresh_from_db()
    assert case.status == "closed" and case.close_reason == "Customer no longer reachable"


def test_someone_else_may_not_close_over_open_follow_ups(personas, desk, nora):
    from rapport.core.errors import PermissionDenied
    from rapport.followups.services import task_create

    sam = personas["sam"]
    case = make_case(contact=nora, actor=actor(sam))
    task_create(
        actor=actor(sam),
        data={
            "kind": "call",
            "title": "Call back",
            "assignee": sam.pk,
            "subject_kind": "case",
            "subject_id": case.pk,
        },
    )
    colleague = User.objects.create_user(username="sue", role="service")
    colleague.teams.add(desk)
    with pytest.raises(PermissionDenied):
        services.case_status_change(
            actor=actor(colleague), case=case, status="closed", reason="because"
        )


def test_my_day_lists_the_cases_waiting_on_me(personas, desk, nora):
    from rapport.followups.myday import sections

    sam = personas["sam"]
    urgent = make_case(contact=nora, actor=actor(sam), subject="Urgent one", priority=1)
    waiting = make_case(contact=nora, actor=actor(sam), subject="Waiting one")
    services.case_status_change(actor=actor(sam), case=waiting, status="waiting_customer")
    make_case(contact=nora, subject="Nobody's")
    section = next(s for s in sections() if s.name == "cases")
    items = section.items(sam, None)
    assert [i.title for i in items] == [f"{urgent.reference} Urgent one"]
    assert items[0].phone == "+442079460018" and items[0].badge == "Urgent"


def test_the_queue_pages_through_my_teams_and_my_own_cases_in_order_without_repeats(
    personas, desk, nora
):
    from rapport.service import selectors

    sam = personas["sam"]
    second = Team.objects.create(name="Second line")
    sam.teams.add(second)
    made = []
    for i in range(9):
        team = (desk, second, None)[i % 3]
        made.append(
            make_case(
                contact=nora, actor=actor(sam), subject=f"Q{i}", priority=1 + i % 4, team=team
            )
        )
    make_case(contact=nora, subject="Not mine")  # no team, no owner
    seen, cursor = [], None
    filters = selectors.Filters(mine_and_team=True)
    while True:
        page = selectors.queue_page(
            actor=sam,
            filters=filters,
            order=["priority", "created_at", "id"],
            cursor=cursor,
            size=4,
        )
        seen += page.items
        cursor = page.next_cursor
        if not cursor:
            break
    assert [c.pk for c in seen] == [
        c.pk for c in sorted(made, key=lambda c: (c.priority, c.created_at, c.pk))
    ]
