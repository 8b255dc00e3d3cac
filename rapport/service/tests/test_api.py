"""The service API: cases with ETags and If-Match, cursor paging, problem+json, messages."""

from __future__ import annotations

import pytest

from conftest import actor
from rapport.customers.tests.factories import make_contact
from rapport.service.tests.factories import make_case
from rapport.users.models import Team

pytestmark = pytest.mark.django_db


@pytest.fixture
def sam(personas):
    personas["sam"].teams.add(Team.objects.create(name="Desk"))
    return personas["sam"]


@pytest.fixture
def nora(bob):
    return make_contact(owner=bob, full_name="Nora North", emails=["nora@northwind.example"])


def test_create_read_and_patch_with_if_match(api_client, sam, nora):
    client = api_client("sam")
    created = client.post(
        "/api/v1/cases",
        {"contact": nora.pk, "subject": "Chair", "kind": "complaint"},
        content_type="application/json",
    )
    assert created.status_code == 201
    body = created.json()
    assert body["reference"] == f"C-{body['id']:06d}" and body["kind"] == "complaint"
    url = f"/api/v1/cases/{body['id']}"
    etag = client.get(url)["ETag"]
    ok = client.patch(
        url, {"priority": 1}, content_type="application/json", headers={"If-Match": etag}
    )
    assert ok.status_code == 200 and ok.json()["priority"] == 1
    stale = client.patch(
        url, {"priority": 2}, content_type="application/json", headers={"If-Match": etag}
    )
    assert stale.status_code == 412 and stale["Content-Type"] == "application/problem+json"


def test_the_list_pages_by_cursor_and_sorts_by_priority(api_client, sam, nora):
    for priority in (4, 1, 3):
        make_case(contact=nora, actor=actor(sam), priority=priority)
    client = api_client("sam")
    first = client.get("/api/v1/cases?size=2").json()
    assert [c["priority"] for c in first["items"]] == [1, 3]
    rest = client.get(f"/api/v1/cases?size=2&cursor={first['next_cursor']}").json()
    assert [c["priority"] for c in rest["items"]] == [4] and rest["next_cursor"] is None


def test_notes_and_status_changes_are_listed(api_client, sam, nora):
    case = make_case(contact=nora, actor=actor(sam))
    client = api_client("sam")
    assert (
        client.post(
            f"/api/v1/cases/{case.pk}/notes", {"body": "Check"}, content_type="application/json"
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"/api/v1/cases/{case.pk}/status", {"status": "open"}, content_type="application/json"
        ).status_code
        == 200
    )
    messages = client.get(f"/api/v1/cases/{case.pk}/messages").json()["items"]
    assert [(m["direction"], m["body"]) for m in messages] == [("internal", "Check")]
    changes = client.get(f"/api/v1/cases/{case.pk}/status-changes").json()["items"]
    assert [(c["from_status"], c["to_status"]) for c in changes] == [("", "new"), ("new", "open")]


def test_an_unknown_status_is_a_problem(api_client, sam, nora):
    case = make_case(contact=nora, actor=actor(sam))
    response = api_client("sam").post(
        f"/api/v1/cases/{case.pk}/status", {"status": "done"}, content_type="application/json"
    )
    assert response.status_code == 422 and "status" in response.json()["errors"]


def test_builtin_kinds_cannot_be_deleted_but_retired(api_client, personas):
    client = api_client("alice")
    kinds = {k["key"]: k for k in client.get("/api/v1/case-kinds").json()}
    assert {"inquiry", "complaint", "request", "incident"} <= set(kinds)
    url = f"/api/v1/case-kinds/{kinds['incident']['id']}"
    assert client.delete(url).status_code == 422
    assert (
        client.patch(url, {"active": False}, content_type="application/json").json()["active"]
        is False
    )


def test_a_calendar_patch_with_nulls_leaves_those_fields_as_they_are(api_client, personas):
    client = api_client("alice")
    created = client.post(
        "/api/v1/service-calendars",
        {"name": "Desk hours", "time_zone": "Europe/London",
         "periods": [{"weekday": 0, "start": "09:00", "end": "17:00"}]},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    url = f"/api/v1/service-calendars/{created.json()['id']}"
    patched = client.patch(
        url,
        {"name": "Desk", "periods": None, "is_default": None, "teams": [], "time_zone": None},
        content_type="application/json",
    )
    assert patched.status_code == 200, patched.content
    body = patched.json()
    assert body["name"] == "Desk"
    assert body["time_zone"] == "Europe/London"
    assert body["periods"] == [{"weekday": 0, "start": "09:00", "end": "17:00"}]
