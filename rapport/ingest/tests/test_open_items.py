"""A proposed detail still waiting for review shows in the screen pop, to confirm with the
caller; only those who read the review queue get a link to it."""

from __future__ import annotations

from pathlib import Path

from rapport.audit.services import Actor
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import Proposal
from rapport.ingest.proposals import services as proposals

SAMPLES = Path(__file__).parent / "signatures"
API = "/api/v1"


def _jane_with_a_pending_title():
    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    jane = make_contact(
        given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"],
        phones=["+44 20 7946 0018"], account=acme, job_title="Buyer",
    )  # fmt: skip
    mail.receive((SAMPLES / "mobile.eml").read_bytes(), actor=Actor(user=None, via="import"))
    return jane, Proposal.objects.get(field="title", state=Proposal.State.PENDING)


def test_the_screen_pop_lists_what_to_confirm_with_the_caller(personas, api_client):
    jane, title = _jane_with_a_pending_title()
    found = api_client("stella").get(f"{API}/lookup", {"phone": "+44 20 7946 0018"}).json()
    (contact,) = found["contacts"]
    assert contact["id"] == jane.pk
    (item,) = contact["open_items"]
    assert item["kind"] == "to_confirm"
    assert item["title"] == "Job title: Head of Purchasing"
    assert item["url"] == f"/proposals/{title.pk}/"


def test_an_agent_sees_it_without_a_link_to_the_queue(personas, api_client, client):
    _jane_with_a_pending_title()
    found = api_client("sam").get(f"{API}/lookup", {"phone": "020 7946 0018", "region": "GB"})
    (item,) = found.json()["contacts"][0]["open_items"]
    assert item["title"] == "Job title: Head of Purchasing" and item["url"] == ""
    client.force_login(personas["sam"])
    page = client.get("/lookup/", {"q": "+44 20 7946 0018"}).content.decode()
    assert "To confirm" in page and "Job title: Head of Purchasing" in page
    assert "/proposals/" not in page


def test_a_decided_proposal_is_no_longer_open(personas, api_client):
    _, title = _jane_with_a_pending_title()
    proposals.proposal_reject(
        actor=Actor(user=personas["stella"], via="web"), proposal=title,
        expected_version=title.version,
    )  # fmt: skip
    found = api_client("stella").get(f"{API}/lookup", {"phone": "+44 20 7946 0018"}).json()
    assert found["contacts"][0]["open_items"] == []


def test_the_contacts_history_says_which_proposal_and_line_a_fact_came_from(personas, client):
    jane, _ = _jane_with_a_pending_title()
    applied = Proposal.objects.get(field="mobile", state=Proposal.State.APPLIED)
    client.force_login(personas["stella"])
    page = client.get(f"/contacts/{jane.pk}/").content.decode()
    assert f'href="/proposals/{applied.pk}/"' in page
    assert "read in “Mobile: +44 7400 123456”" in page
