"""Sales pages: the board and its moves, lists, the caller screen's lead, the panels."""

from __future__ import annotations

from django.test import Client
from django.urls import reverse

from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.sales import services
from rapport.sales.models import DealStageChange, Lead, LostReason
from rapport.sales.tests.factories import make_deal, stage


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_board_shows_open_deals_by_stage_in_constant_queries(
    personas, django_assert_max_num_queries
):
    bob = personas["bob"]
    account = make_account(owner=bob, name="Acme")
    make_deal(owner=bob, account=account, name="First deal", amount="100")
    client = _client(bob)
    client.get(reverse("sales:home"))  # warm the per-process caches (policies, sessions)
    with django_assert_max_num_queries(12) as few:
        response = client.get(reverse("sales:home"))
    for i in range(10):
        make_deal(owner=bob, account=account, name=f"More {i}", stage="Proposal")
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("sales:home"))
    body = response.content.decode()
    assert "First deal" in body and "More 9" in body
    carl_page = _client(personas["carl"]).get(reverse("sales:home")).content.decode()
    assert "First deal" not in carl_page


def test_moving_a_card_goes_through_the_stage_change(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    url = reverse("sales:deal-move", args=[deal.pk])
    response = _client(bob).post(url, {"stage": stage("Proposal").pk, "version": deal.version})
    assert response.status_code == 302
    deal.refresh_from_db()
    assert deal.stage.name == "Proposal"
    assert DealStageChange.objects.filter(deal=deal).count() == 2


def test_dropping_on_lost_asks_for_the_reason_first(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    url = reverse("sales:deal-move", args=[deal.pk])
    client = _client(bob)
    response = client.post(url, {"stage": stage("Lost").pk, "version": deal.version})
    assert response.status_code == 200 and b"Why was" in response.content
    deal.refresh_from_db()
    assert deal.status == "open"
    reason = LostReason.objects.get(name="Timing")
    client.post(url, {"stage": stage("Lost").pk, "version": deal.version, "lost_reason": reason.pk})
    deal.refresh_from_db()
    assert (deal.status, deal.lost_reason) == ("lost", reason)


def test_a_stale_move_is_refused(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    services.deal_update(actor=SYSTEM, deal=deal, data={"amount": "5"})
    url = reverse("sales:deal-move", args=[deal.pk])
    _client(bob).post(url, {"stage": stage("Proposal").pk, "version": 1})
    deal.refresh_from_db()
    assert deal.stage.name == "Qualification"


def test_deals_where_a_person_has_a_role(personas):
    bob = personas["bob"]
    dana = make_contact(owner=bob, full_name="Dana Decider")
    mine = make_deal(owner=bob, name="Dana decides")
    other = make_deal(owner=bob, name="Dana influences")
    services.deal_role_add(actor=SYSTEM, deal=mine, contact=dana, role="decision_maker")
    services.deal_role_add(actor=SYSTEM, deal=other, contact=dana, role="influencer")
    url = reverse("sales:deal-list") + f"?contact={dana.pk}&role=decision_maker"
    body = _client(bob).get(url).content.decode()
    assert "Dana decides" in body and "Dana influences" not in body
    assert "Dana Decider is the decision maker" in body


def test_the_caller_screen_offers_a_lead_and_the_agent_qualifies_it(personas):
    sam = personas["sam"]
    jane = make_contact(full_name="Jane Caller", phones=["+44 20 7946 0018"])
    client = _client(sam)
    lookup = client.get(reverse("timeline:lookup") + "?q=Jane+Caller").content.decode()
    qualify = reverse("sales:lead-from-caller", args=[jane.pk])
    assert qualify in lookup
    response = client.post(
        qualify, {"role": "Head of IT", "need": "20 licences", "budget": "10k", "timing": "Q3"}
    )
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert (lead.contact_id, lead.need, lead.source) == (jane.pk, "20 licences", "Contact center")
    readonly = _client(personas["rita"]).post(qualify, {"need": "x"})
    assert readonly.status_code == 403


def test_the_contact_panel_lists_deals_with_the_persons_role(personas):
    bob = personas["bob"]
    dana = make_contact(owner=bob, full_name="Dana Decider")
    deal = make_deal(owner=bob, name="Big one")
    services.deal_role_add(actor=SYSTEM, deal=deal, contact=dana, role="economic_buyer")
    body = _client(bob).get(reverse("sales:contact-deals", args=[dana.pk])).content.decode()
    assert "Big one" in body and "Economic buyer" in body
    account = _client(bob).get(reverse("sales:account-deals", args=[deal.account_id])).content
    assert b"Dana Decider (economic buyer)" in account


def test_a_lead_made_on_the_web_for_a_known_person_uses_their_contact(personas):
    bob = personas["bob"]
    jane = make_contact(owner=bob, full_name="Jane Doe", emails=["jane@acme.example"])
    response = _client(bob).post(
        reverse("sales:lead-create"), {"name": "Jane Doe", "email": "jane@acme.example"}
    )
    assert response.status_code == 302
    assert Lead.objects.get().contact_id == jane.pk


def test_lists_keep_their_query_count(personas, django_assert_max_num_queries):
    bob = personas["bob"]
    for i in range(3):
        make_deal(owner=bob)
        services.lead_create(actor=SYSTEM, data={"name": f"L{i}", "owner": bob.pk})
    client = _client(bob)
    client.get(reverse("sales:deal-list"))
    client.get(reverse("sales:leads"))
    with django_assert_max_num_queries(12) as deals:
        client.get(reverse("sales:deal-list"))
    with django_assert_max_num_queries(12) as leads:
        client.get(reverse("sales:leads"))
    for i in range(10):
        make_deal(owner=bob)
        services.lead_create(actor=SYSTEM, data={"name": f"M{i}", "owner": bob.pk})
    with django_assert_max_num_queries(len(deals.captured_queries)):
        client.get(reverse("sales:deal-list"))
    with django_assert_max_num_queries(len(leads.captured_queries)):
        client.get(reverse("sales:leads"))


def test_a_deal_made_from_an_accounts_page_is_on_that_account(personas):
    bob = personas["bob"]
    accounts = [make_account(owner=bob, name=f"A{i:03}") for i in range(3)]
    target = accounts[-1]
    client = _client(bob)
    form = client.get(reverse("sales:deal-create") + f"?account={target.pk}").content.decode()
    assert f'<option value="{target.pk}" selected>' in form
    response = client.post(
        reverse("sales:deal-create"),
        {"account": target.pk, "name": "From the account", "amount": "2500.50", "currency": "GBP"},
    )
    assert response.status_code == 302
    deal = target.deals.get()
    assert (deal.name, str(deal.amount), deal.currency, deal.owner) == (
        "From the account",
        "2500.50",
        "GBP",
        bob,
    )
    wrong = client.post(
        reverse("sales:deal-create"), {"account": target.pk, "name": "X", "amount": "1.234"}
    )
    assert wrong.status_code == 422 and b"two decimal places" in wrong.content


def test_a_follow_up_on_a_deal_is_a_task_that_the_deal_lists(personas):
    from rapport.followups.models import Task

    bob = personas["bob"]
    dana = make_contact(owner=bob, full_name="Dana Decider")
    deal = make_deal(owner=bob, primary_contact=dana.pk)
    client = _client(bob)
    response = client.post(
        reverse("sales:deal-task-add", args=[deal.pk]),
        {"kind": "quote", "title": "Send the revised quote", "due": "2030-01-15"},
    )
    assert response.status_code == 302
    task = Task.objects.get()
    assert (task.subject_kind, task.subject_id, task.contact_id, task.assignee) == (
        "deal",
        deal.pk,
        dana.pk,
        bob,
    )
    assert (
        b"Send the revised quote"
        in client.get(reverse("sales:deal-detail", args=[deal.pk])).content
    )
