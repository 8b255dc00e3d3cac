"""Sales in a real browser, at a phone and a desktop size: a deal moved on the pipeline
board (dragged to a column on the desktop, its stage chosen on the phone), a lost deal
that asks for its reason, and a contact-center agent qualifying a caller as a sales lead.
``SALES_SHOTS=dir`` keeps screenshots."""

from __future__ import annotations

import os

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from rapport.customers.tests.factories import make_account, make_contact
from rapport.sales.models import Deal, DealStageChange, Lead
from rapport.sales.tests.factories import ensure_pipeline, make_deal, stage

pytestmark = pytest.mark.browser


def _shot(page, viewport: str, name: str) -> None:
    folder = os.environ.get("SALES_SHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}-{viewport}.png"), full_page=True)


def test_a_deal_moves_on_the_board(page, viewport, live_server, login, personas):
    bob = personas["bob"]
    ensure_pipeline()
    account = make_account(name="Globex Corporation", owner=bob)
    deal = make_deal(owner=bob, account=account, name="Globex renewal", amount="12000")
    make_deal(owner=bob, account=account, name="Globex add-on", stage="Discovery")
    login("bob")
    page.goto(live_server.url + "/deals/")
    card = page.locator(".sales-card", has_text="Globex renewal")
    expect(card).to_be_visible()
    _shot(page, viewport, "board")
    proposal = page.locator(f'.sales-col[data-stage="{stage("Proposal").pk}"]')
    if viewport == "desktop":
        card.drag_to(proposal)
    else:
        card.get_by_label("Stage").select_option(label="Proposal")
    expect(proposal.locator(".sales-card", has_text="Globex renewal")).to_be_visible()
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert DealStageChange.objects.filter(deal=deal).count() == 2

    # Lost needs a reason: the board asks for it before the move.
    card = page.locator(".sales-card", has_text="Globex renewal")
    if viewport == "desktop":
        card.drag_to(page.locator(f'.sales-col[data-stage="{stage("Lost").pk}"]'))
    else:
        card.get_by_label("Stage").select_option(label="Lost")
    page.get_by_label("Lost reason").select_option(label="Competitor")
    _shot(page, viewport, "lost")
    page.get_by_role("button", name="Mark as lost").click()
    expect(page.locator(".sales-card", has_text="Globex renewal")).to_have_count(0)
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason.name) == (Deal.Status.LOST, "Competitor")


def test_an_agent_qualifies_a_caller_as_a_sales_lead(page, viewport, live_server, login, personas):
    caller = make_contact(full_name="Dana Caller", phones=["+44 20 7946 0958"])
    login("sam")
    page.goto(live_server.url + reverse("timeline:lookup") + "?q=Dana+Caller")
    page.get_by_role("link", name="Qualify as sales lead").click()
    page.get_by_label("Their role").fill("Head of IT")
    page.get_by_label("Need").fill("Twenty licences for the new office")
    page.get_by_label("Budget").fill("about 10k")
    page.get_by_label("Timing").fill("next quarter")
    _shot(page, viewport, "qualify")
    page.get_by_role("button", name="Pass to sales").click()
    expect(page.get_by_text("is passed to sales as a lead")).to_be_visible()
    lead = Lead.objects.get()
    assert (lead.contact_id, lead.budget, lead.created_by) == (
        caller.pk,
        "about 10k",
        personas["sam"],
    )
