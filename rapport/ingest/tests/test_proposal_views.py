"""The steward's review queue of proposed updates, in the browser's terms."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from rapport.audit.services import Actor
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.mail import services as mail
from rapport.ingest.models import CaptureSettings, Proposal
from rapport.timeline.models import EntryLink

SAMPLES = Path(__file__).parent / "signatures"
SYSTEM = Actor(user=None, via="import")
HTMX = {"HX-Request": "true"}


def receive(name: str, raw: bytes | None = None):
    return mail.receive(raw or (SAMPLES / name).read_bytes(), actor=SYSTEM)


def client_for(personas, name: str) -> Client:
    client = Client()
    client.force_login(personas[name])
    return client


@pytest.fixture
def jane(db):
    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    contact = make_contact(given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"],
                           phones=["+44 20 7946 0018"], account=acme, job_title="Buyer")  # fmt: skip
    receive("mobile.eml")
    return contact


def title_of(jane) -> Proposal:
    return Proposal.objects.get(contact=jane, field="title", state="pending")


def test_the_queue_shows_now_and_proposed_with_the_evidence(personas, jane):
    page = client_for(personas, "stella").get(reverse("ingest:proposal-list"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Head of Purchasing" in html and "Buyer" in html
    assert "“New number”" in html  # the message's subject
    assert 'hx-post="/proposals/' in html and ">Accept<" in html
    # The mobile number was applied by the rule: not waiting.
    assert "Mobile number" not in html.split('id="proposal-queue"')[1].split("</table>")[0]
    applied = client_for(personas, "stella").get(reverse("ingest:proposal-list") + "?state=applied")
    assert "+44 7400 123456" in applied.content.decode()


def test_the_queue_filters_by_kind_and_field(personas, jane):
    receive("unknown.eml")
    client = client_for(personas, "stella")
    contacts = client.get(reverse("ingest:proposal-list") + "?kind=new_contact").content.decode()
    assert "peter.parker@globex.com" in contacts and "Head of Purchasing" not in contacts
    titles = client.get(reverse("ingest:proposal-list") + "?field=title").content.decode()
    assert "Head of Purchasing" in titles and "peter.parker@globex.com" not in titles


def test_the_detail_highlights_the_signature_line_and_links_the_timeline(personas, jane):
    proposal = title_of(jane)
    html = (
        client_for(personas, "stella")
        .get(reverse("ingest:proposal-detail", args=[proposal.pk]))
        .content.decode()
    )
    assert "<mark>Head of Purchasing</mark>" in html
    assert f"/contacts/{jane.pk}/#timeline" in html
    assert 'name="v_title"' in html and 'value="Head of Purchasing"' in html


def test_accept_with_an_edit_from_the_detail_page(personas, jane):
    proposal = title_of(jane)
    response = client_for(personas, "stella").post(
        reverse("ingest:proposal-accept", args=[proposal.pk]),
        {"version": proposal.version, "v_title": "Head of Purchasing EMEA"},
    )
    assert response.status_code == 302
    jane.refresh_from_db()
    assert jane.job_title == "Head of Purchasing EMEA"
    assert Proposal.objects.get(pk=proposal.pk).state == "accepted"


def test_inline_reject_from_the_queue_swaps_the_row(personas, jane):
    proposal = title_of(jane)
    response = client_for(personas, "stella").post(
        reverse("ingest:proposal-reject", args=[proposal.pk]),
        {"version": proposal.version, "from": "list"},
        headers=HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith("<tr") and f'id="proposal-{proposal.pk}"' in html
    assert "Rejected" in html and ">Accept<" not in html


def test_a_stale_decision_is_refused_and_says_so(personas, jane):
    proposal = title_of(jane)
    client = client_for(personas, "stella")
    url = reverse("ingest:proposal-accept", args=[proposal.pk])
    client.post(reverse("ingest:proposal-reject", args=[proposal.pk]), {"version": 1})
    response = client.post(url, {"version": 1, "from": "list"}, headers=HTMX)
    assert response.status_code == 409
    assert "Nothing was done" in response.content.decode()
    jane.refresh_from_db()
    assert jane.job_title == "Buyer"


def test_accepting_a_new_contact_with_the_save_as_choice(personas, db):
    make_account(name="Globex Corporation", domains=["globex.com"])
    receive("unknown.eml")
    proposal = Proposal.objects.get(kind="new_contact")
    client = client_for(personas, "stella")
    html = client.get(reverse("ingest:proposal-detail", args=[proposal.pk])).content.decode()
    assert "Globex Corporation" in html and "owns the e-mail's domain" in html
    assert "No existing contact looks like this sender." in html
    response = client.post(
        reverse("ingest:proposal-accept", args=[proposal.pk]),
        {"version": proposal.version, "v_given_name": "Peter", "v_family_name": "Parker",
         "v_job_title": "CTO", "contact": ""},
    )  # fmt: skip
    assert response.status_code == 302
    contact = Contact.objects.get(emails__email="peter.parker@globex.com")
    assert contact.job_title == "CTO"
    assert EntryLink.objects.filter(contact=contact).count() == 1


@pytest.mark.parametrize(
    ("name", "list_status", "decide_status"),
    [("stella", 200, 302), ("alice", 200, 302), ("mo", 200, 403), ("bob", 403, 403),
     ("rita", 403, 403), ("mia", 403, 403)],
)  # fmt: skip
def test_who_may_see_and_decide(personas, jane, name, list_status, decide_status):
    client = client_for(personas, name)
    proposal = title_of(jane)
    assert client.get(reverse("ingest:proposal-list")).status_code == list_status
    detail = client.get(reverse("ingest:proposal-detail", args=[proposal.pk]))
    assert detail.status_code == list_status
    if list_status == 200 and decide_status == 403:
        assert ">Accept" not in detail.content.decode()
    response = client.post(
        reverse("ingest:proposal-reject", args=[proposal.pk]), {"version": proposal.version}
    )
    assert response.status_code == decide_status


def test_anonymous_users_are_sent_to_log_in(db):
    response = Client().get(reverse("ingest:proposal-list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admins_change_the_rules_on_the_settings_page(personas):
    client = client_for(personas, "alice")
    page = client.get(reverse("ingest:capture-settings"))
    assert page.status_code == 200 and 'name="rule_mobile"' in page.content.decode()
    data = {"version": 1, "rule_phone": "auto", "rule_mobile": "ignore", "rule_title": "auto",
            "rule_company": "review", "rule_address": "review", "rule_website": "ignore"}  # fmt: skip
    response = client.post(reverse("ingest:capture-settings"), data)
    assert response.status_code == 302
    conf = CaptureSettings.objects.get()
    assert conf.rules["mobile"] == "ignore" and conf.unknown_senders is False and conf.version == 2
    stale = client.post(reverse("ingest:capture-settings"), {**data, "rule_mobile": "auto"})
    assert stale.status_code == 409 and "Nothing was saved" in stale.content.decode()


@pytest.mark.parametrize("name", ["stella", "mo", "bob"])
def test_only_admins_see_the_settings_page(personas, name):
    assert client_for(personas, name).get(reverse("ingest:capture-settings")).status_code == 403


def test_the_queue_costs_a_bounded_number_of_queries(personas, django_assert_max_num_queries):
    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    for n in range(8):
        make_contact(given_name=f"Jane{n}", family_name="Doe", account=acme,
                     emails=[f"jane{n}@acme.com"], phones=["+44 20 7946 0018"])  # fmt: skip
        raw = (SAMPLES / "mobile.eml").read_bytes()
        raw = raw.replace(b"jane.doe@acme.com", f"jane{n}@acme.com".encode())
        receive("", raw.replace(b"sig-mobile-1", f"sig-mobile-1-{n}".encode()))
    assert Proposal.objects.filter(state="pending").count() == 8
    client = client_for(personas, "stella")
    with django_assert_max_num_queries(16):
        response = client.get(reverse("ingest:proposal-list"))
    assert response.content.decode().count("data-dup-row") == 8
