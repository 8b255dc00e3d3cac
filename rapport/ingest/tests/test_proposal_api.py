"""Proposals over the API: the queue, decisions with If-Match, the capture settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.audit.services import Actor
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Proposal

SAMPLES = Path(__file__).parent / "signatures"
SYSTEM = Actor(user=None, via="import")


def receive(name: str, raw: bytes | None = None):
    return mail.receive(raw or (SAMPLES / name).read_bytes(), actor=SYSTEM)


@pytest.fixture
def jane(db):
    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    contact = make_contact(given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"],
                           phones=["+44 20 7946 0018"], account=acme, job_title="Buyer")  # fmt: skip
    receive("mobile.eml")
    return contact


def title_of(jane) -> Proposal:
    return Proposal.objects.get(contact=jane, field="title", state="pending")


def test_the_list_shows_waiting_proposals_with_their_evidence(api_client, jane):
    response = api_client("stella").get("/api/v1/proposals")
    assert response.status_code == 200, response.content
    [item] = response.json()["items"]
    assert item["field"] == "title" and item["contact_id"] == jane.pk
    assert item["current"] == "Buyer" and item["proposed"] == "Head of Purchasing"
    assert item["evidence"]["subject"] == "New number"
    assert item["evidence"]["line"] == "Head of Purchasing"
    applied = api_client("stella").get("/api/v1/proposals?state=applied&field=mobile").json()
    assert [i["value"]["number"] for i in applied["items"]] == ["+447400123456"]


def test_the_list_pages_with_a_cursor(api_client, jane):
    receive("unknown.eml")
    client = api_client("mo")
    first = client.get("/api/v1/proposals?size=1").json()
    assert len(first["items"]) == 1 and first["next_cursor"]
    second = client.get(f"/api/v1/proposals?size=1&cursor={first['next_cursor']}").json()
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    assert first["items"][0]["id"] != second["items"][0]["id"]
    kinds = {first["items"][0]["kind"], second["items"][0]["kind"]}
    assert kinds == {"fact", "new_contact"}
    new = first["items"][0] if first["items"][0]["kind"] == "new_contact" else second["items"][0]
    assert new["evidence"]["messages"] == [
        {"message_id": "sig-unknown-1@globex.com", "subject": "Demo request",
         "sent_at": "2025-03-20T15:00:00+00:00"}
    ]  # fmt: skip
    assert "text" not in str(new["evidence"]["messages"])


def test_accept_with_an_edit_and_if_match(api_client, jane):
    proposal = title_of(jane)
    client = api_client("stella")
    read = client.get(f"/api/v1/proposals/{proposal.pk}")
    assert read["ETag"] == '"1"'
    response = client.post(
        f"/api/v1/proposals/{proposal.pk}/accept",
        data={"value": {"title": "Head of Purchasing, EMEA"}},
        content_type="application/json",
        headers={"If-Match": read["ETag"]},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "accepted" and body["decided_by"] == "stella"
    assert response["ETag"] == '"2"'
    jane.refresh_from_db()
    assert jane.job_title == "Head of Purchasing, EMEA"


def test_a_stale_if_match_is_412_and_a_second_decision_409(api_client, jane):
    proposal = title_of(jane)
    client = api_client("stella")
    stale = client.post(
        f"/api/v1/proposals/{proposal.pk}/accept", headers={"If-Match": '"9"'},
        content_type="application/json",
    )  # fmt: skip
    assert stale.status_code == 412
    assert client.post(f"/api/v1/proposals/{proposal.pk}/reject").status_code == 200
    again = client.post(f"/api/v1/proposals/{proposal.pk}/accept")
    assert again.status_code == 409
    jane.refresh_from_db()
    assert jane.job_title == "Buyer"


def test_reject_with_a_version_in_the_body(api_client, jane):
    proposal = title_of(jane)
    response = api_client("alice").post(
        f"/api/v1/proposals/{proposal.pk}/reject", data={"version": 1},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200 and response.json()["state"] == "rejected"


@pytest.mark.parametrize(
    ("name", "read", "decide"),
    [("stella", 200, 200), ("alice", 200, 200), ("mo", 200, 403), ("bob", 403, 403),
     ("sam", 403, 403), ("rita", 403, 403)],
)  # fmt: skip
def test_who_may_read_and_decide(api_client, jane, name, read, decide):
    proposal = title_of(jane)
    client = api_client(name)
    assert client.get("/api/v1/proposals").status_code == read
    assert client.get(f"/api/v1/proposals/{proposal.pk}").status_code == read
    assert client.post(f"/api/v1/proposals/{proposal.pk}/reject").status_code == decide


def test_capture_settings_for_admins_with_etags(api_client, personas):
    client = api_client("alice")
    read = client.get("/api/v1/capture-settings")
    assert read.status_code == 200 and read["ETag"] == '"1"'
    assert read.json()["rules"]["mobile"] == "auto" and read.json()["rules"]["title"] == "review"
    changed = client.put(
        "/api/v1/capture-settings", data={"rules": {"mobile": "ignore"}, "unknown_senders": False},
        content_type="application/json", headers={"If-Match": '"1"'},
    )  # fmt: skip
    assert changed.status_code == 200 and changed["ETag"] == '"2"'
    assert (
        changed.json()["rules"]["mobile"] == "ignore" and changed.json()["rules"]["phone"] == "auto"
    )
    stale = client.put(
        "/api/v1/capture-settings", data={"unknown_senders": True},
        content_type="application/json", headers={"If-Match": '"1"'},
    )  # fmt: skip
    assert stale.status_code == 412
    bad = client.put(
        "/api/v1/capture-settings", data={"rules": {"mobile": "maybe"}},
        content_type="application/json",
    )  # fmt: skip
    assert bad.status_code == 422


@pytest.mark.parametrize("name", ["stella", "mo", "bob"])
def test_only_admins_read_or_change_capture_settings(api_client, personas, name):
    client = api_client(name)
    assert client.get("/api/v1/capture-settings").status_code == 403
    put = client.put(
        "/api/v1/capture-settings", data={"unknown_senders": False}, content_type="application/json"
    )
    assert put.status_code == 403


def test_the_list_costs_a_bounded_number_of_queries(
    api_client, personas, django_assert_max_num_queries
):
    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    for n in range(6):
        make_contact(given_name=f"Jane{n}", family_name="Doe", account=acme,
                     emails=[f"jane{n}@acme.com"])  # fmt: skip
        raw = (
            (SAMPLES / "mobile.eml")
            .read_bytes()
            .replace(b"jane.doe@acme.com", f"jane{n}@acme.com".encode())
        )
        receive("", raw.replace(b"sig-mobile-1", f"sig-mobile-1-{n}".encode()))
    client = api_client("stella")
    with django_assert_max_num_queries(12):
        response = client.get("/api/v1/proposals?state=")
    assert len(response.json()["items"]) == 6 * 3  # title and mobile and phone each


def test_an_invalid_decision_body_is_a_422(api_client, jane):
    proposal = title_of(jane)
    response = api_client("stella").post(
        f"/api/v1/proposals/{proposal.pk}/accept",
        data={"value": {"title": "CFO"}, "colour": "red"},
        content_type="application/json",
    )
    assert response.status_code == 422 and "colour" in response.json()["errors"]
    assert title_of(jane).state == "pending"
