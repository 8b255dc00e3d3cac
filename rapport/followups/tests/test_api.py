from __future__ import annotations

from rapport.customers.tests.factories import make_contact
from rapport.followups.models import Task
from rapport.followups.tests.factories import make_task
from rapport.timeline.models import Entry


def test_create_read_update_with_if_match(personas, api_client):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    client = api_client("bob")
    created = client.post(
        "/api/v1/tasks",
        {
            "title": "Call Dana",
            "kind": "call",
            "contact": contact.pk,
            "due_at": "2030-05-01T09:00:00Z",
        },
        content_type="application/json",
    )
    assert created.status_code == 201 and created["ETag"] == '"1"'
    body = created.json()
    assert body["assignee"]["id"] == bob.pk and body["contact"]["name"] == contact.full_name
    url = created["Location"]
    assert client.get(url).json()["title"] == "Call Dana"
    stale = client.patch(url, {"title": "x"}, content_type="application/json", HTTP_IF_MATCH='"0"')
    assert stale.status_code == 412 and stale["Content-Type"] == "application/problem+json"
    ok = client.patch(
        url, {"title": "Call Dana back"}, content_type="application/json", HTTP_IF_MATCH='"1"'
    )
    assert ok.status_code == 200 and ok["ETag"] == '"2"' and ok.json()["title"] == "Call Dana back"


def test_complete_and_cancel(personas, api_client):
    bob = personas["bob"]
    contact = make_contact(owner=bob)
    task = make_task(assignee=bob, contact=contact)
    client = api_client("bob")
    done = client.post(
        f"/api/v1/tasks/{task.pk}/complete", {"note": "Sent"}, content_type="application/json"
    )
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert Entry.objects.filter(kind="task_done", body="Sent").count() == 1
    refused = client.post(
        f"/api/v1/tasks/{task.pk}/cancel", {"reason": "x"}, content_type="application/json"
    )
    assert refused.status_code == 409
    other = make_task(assignee=bob)
    cancelled = client.post(
        f"/api/v1/tasks/{other.pk}/cancel", {"reason": "Gone"}, content_type="application/json"
    )
    assert cancelled.json()["status"] == "cancelled"


def test_list_filters_and_visibility(personas, api_client, django_assert_max_num_queries):
    bob = personas["bob"]
    for i in range(5):
        make_task(assignee=bob, contact=make_contact(owner=bob), kind="call", title=f"Call {i}")
    make_task(assignee=personas["brenda"], kind="quote", title="Brenda's quote")
    make_task(assignee=personas["carl"], title="Carl's")
    client = api_client("bob")
    with django_assert_max_num_queries(6):
        page = client.get("/api/v1/tasks?size=3").json()
    assert len(page["items"]) == 3 and page["next_cursor"] == "3"
    rest = client.get(f"/api/v1/tasks?size=3&cursor={page['next_cursor']}").json()
    titles = {t["title"] for t in page["items"] + rest["items"]}
    assert titles == {f"Call {i}" for i in range(5)} | {"Brenda's quote"}
    mine = client.get("/api/v1/tasks?mine=true&kind=quote").json()
    assert mine["items"] == []
    carl_task = Task.objects.get(title="Carl's")
    assert client.get(f"/api/v1/tasks/{carl_task.pk}").status_code == 404
    assert client.get("/api/v1/tasks?due=bogus").status_code == 422
