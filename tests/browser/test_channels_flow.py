"""The channels in a real browser: a rep photographs a business card at a conference and
corrects what was read before saving; an agent taking a call sees this morning's e-mail and
what to confirm, and logs the call; the data steward accepts a proposed title with an edit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from rapport.audit.services import Actor
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.models import Proposal
from rapport.ingest.tests.test_cardocr import SPECIMENS, render
from rapport.timeline import events
from rapport.timeline.models import Direction, Entry

pytestmark = pytest.mark.browser


def test_a_card_photo_is_read_corrected_and_saved_to_the_domains_account(
    page, login, live_server, personas, tmp_path
):
    card = SPECIMENS[0]  # Jane Whitfield, Acme Widgets Ltd, acmewidgets.co.uk
    # Bob's own account: a sales rep sees his team's accounts only.
    acme = make_account(name="Acme Widgets", domains=["acmewidgets.co.uk"], owner=personas["bob"])
    photo = tmp_path / "card.jpg"
    photo.write_bytes(render(card, fmt="JPEG"))
    login("bob")
    page.goto(live_server.url + "/capture/card/")
    page.set_input_files("#f-photo", str(photo))
    page.get_by_role("button", name="Read the card").click()
    expect(page.get_by_role("heading", name="Check the card")).to_be_visible()
    expect(page.get_by_label("Given name")).to_have_value("Jane")
    expect(page.get_by_label("Family name")).to_have_value("Whitfield")
    expect(page.get_by_label("E-mail addresses")).to_have_value(card.email)
    expect(page.locator("#account-suggestion")).to_contain_text("Will be attached to the account Acme Widgets")
    # The rep fixes the title by hand and tags the event.
    page.get_by_label("Job title").fill("Head of Sales, EMEA")
    page.get_by_label("Event or campaign").fill("Retail Expo 2026")
    page.get_by_role("button", name="Save contact").click()
    expect(page.get_by_role("heading", name="New contact created")).to_be_visible()
    jane = Contact.objects.get(emails__email=card.email)
    assert jane.job_title == "Head of Sales, EMEA"
    assert jane.memberships.get().account == acme
    assert jane.phones.get().e164 == card.e164
    entry = Entry.objects.get(kind="card", links__contact=jane)
    assert "Retail Expo 2026" in entry.summary


def test_an_agent_sees_this_mornings_email_and_what_to_confirm_then_logs_the_call(page, login, live_server, personas):
    acme = make_account(name="Acme", domains=["acme.com"])
    ann = make_contact(given_name="Ann", family_name="Archer", emails=["ann@acme.com"],
                       phones=["+44 20 7946 0958"], account=acme)  # fmt: skip
    morning = timezone.localtime().replace(hour=8, minute=5, second=0, microsecond=0)
    events.record(kind="email", summary="Your invoice INV-7 is overdue", contacts=[ann.pk],
                  occurred_at=morning, direction=Direction.OUTBOUND)  # fmt: skip
    events.record(kind="call", summary="Asked about delivery", contacts=[ann.pk],
                  occurred_at=morning - dt.timedelta(days=20))  # fmt: skip
    Proposal.objects.create(kind="fact", field="mobile", contact=ann, key=f"{ann.pk}:mobile:+447400123456",
                            value={"number": "+447400123456"})  # fmt: skip
    login("sam")
    page.goto(live_server.url + "/lookup/")
    page.locator("#lookup-q").fill("020 7946 0958")
    page.get_by_role("button", name="Look up").click()
    pop = page.locator("article.tl-pop").first
    expect(pop.get_by_role("heading", name="Ann Archer")).to_be_visible()
    expect(pop).to_contain_text("Your invoice INV-7 is overdue")
    expect(pop).to_contain_text("Earlier today")
    expect(pop.locator(".tl-pop-open")).to_contain_text("Mobile number: +44 7400 123456")
    pop.get_by_text("Log this call").click()
    pop.get_by_label("Minutes").fill("4")
    pop.get_by_label("Outcome").fill("promised to pay")
    pop.get_by_label("Notes").fill("Will pay INV-7 on Friday.")
    pop.get_by_role("button", name="Log the call").click()
    expect(page.locator("article.tl-pop").first).to_contain_text("promised to pay")
    call = Entry.objects.get(kind="call", outcome="promised to pay")
    assert call.duration_seconds == 240 and call.staff == personas["sam"]
    assert call.direction == Direction.INBOUND


def test_the_steward_accepts_a_proposed_title_with_an_edit(page, login, live_server, personas):
    from rapport.ingest.mail import services as mail
    from rapport.ingest.tests.test_proposals import SAMPLES

    acme = make_account(name="ACME Ltd", domains=["acme.com"])
    jane = make_contact(given_name="Jane", family_name="Doe", emails=["jane.doe@acme.com"],
                        phones=["+44 20 7946 0018"], account=acme, job_title="Buyer")  # fmt: skip
    mail.receive((SAMPLES / "mobile.eml").read_bytes(), actor=Actor(user=None, via="import"))
    title = Proposal.objects.get(field="title", state=Proposal.State.PENDING)
    login("stella")
    page.goto(live_server.url + "/proposals/")
    expect(page.get_by_text("Head of Purchasing").first).to_be_visible()
    page.goto(live_server.url + f"/proposals/{title.pk}/")
    expect(page.get_by_text("Head of Purchasing", exact=False).first).to_be_visible()
    page.locator("form input[name='v_title']").fill("Head of Purchasing, EMEA")
    page.get_by_role("button", name="Accept as shown").click()
    expect(page.get_by_text("Accepted").first).to_be_visible()
    jane.refresh_from_db()
    assert jane.job_title == "Head of Purchasing, EMEA"

