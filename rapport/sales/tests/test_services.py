"""Sales services: the rules every path (web, API, forms, caller screen) meets."""

from __future__ import annotations

from decimal import Decimal

import pytest

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed, VersionConflict
from rapport.customers.models import Contact
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.sales import selectors, services
from rapport.sales.models import (
    AssignmentRule,
    Deal,
    DealRole,
    DealStageChange,
    Lead,
    LostReason,
    ScoreRule,
)
from rapport.sales.tests.factories import make_deal, make_lead, stage
from rapport.timeline.models import Entry
from rapport.users.models import Team

# --- money --------------------------------------------------------------------------------


def test_an_amount_is_a_decimal_with_two_places(personas):
    deal = make_deal(owner=personas["bob"], amount="1,200.10", currency="gbp")
    deal.refresh_from_db()
    assert deal.amount == Decimal("1200.10") and deal.currency == "GBP"


def test_a_float_with_more_places_and_a_made_up_currency_are_refused(personas):
    with pytest.raises(ValidationFailed) as exc:
        make_deal(owner=personas["bob"], amount=0.1 + 0.2, currency="XXY")
    assert set(exc.value.errors) == {"amount", "currency"}


def test_a_deal_needs_an_account_the_actor_may_see(personas):
    carl_account = make_account(owner=personas["carl"])
    with pytest.raises(ValidationFailed) as exc:
        services.deal_create(
            actor=actor(personas["bob"]), data={"name": "X", "account": carl_account.pk}
        )
    assert exc.value.errors["account"] == ["No such account."]
    with pytest.raises(ValidationFailed) as exc:
        services.deal_create(actor=actor(personas["bob"]), data={"name": "X"})
    assert "account" in exc.value.errors


# --- stage history and won / lost ------------------------------------------------------------


def test_every_stage_change_is_kept_with_when_and_who(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob, amount="500")
    assert deal.stage.name == "Qualification" and deal.status == "open"
    deal = services.deal_stage_change(actor=actor(bob), deal=deal, stage=stage("Proposal"))
    rows = list(DealStageChange.objects.filter(deal=deal).order_by("at", "id"))
    assert [(r.from_stage and r.from_stage.name, r.to_stage.name) for r in rows] == [
        (None, "Qualification"),
        ("Qualification", "Proposal"),
    ]
    assert rows[1].by == bob and rows[1].probability == Decimal("0.500")
    history = selectors.stage_history(deal=deal)
    assert [h.current for h in history] == [False, True]
    assert history[0].duration == rows[1].at - rows[0].at
    kinds = set(Entry.objects.filter(data__deal=deal.pk).values_list("kind", flat=True))
    assert kinds == {"deal_created", "deal_stage"}


def test_a_deal_is_not_lost_without_a_reason(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    with pytest.raises(ValidationFailed) as exc:
        services.deal_stage_change(actor=actor(bob), deal=deal, stage=stage("Lost"))
    assert "lost_reason" in exc.value.errors
    assert DealStageChange.objects.filter(deal=deal).count() == 1
    reason = LostReason.objects.get(name="Price")
    deal = services.deal_stage_change(
        actor=actor(bob), deal=deal, stage=stage("Lost"), lost_reason=reason.pk
    )
    assert (deal.status, deal.lost_reason, deal.forecast_category) == ("lost", reason, "omitted")
    assert deal.closed_at is not None
    assert Entry.objects.filter(kind="deal_lost", data__deal=deal.pk).exists()


def test_winning_closes_and_reopening_clears_it(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    deal = services.deal_stage_change(actor=actor(bob), deal=deal, stage=stage("Won"))
    assert (deal.status, deal.forecast_category) == ("won", "closed") and deal.closed_at
    deal = services.deal_stage_change(actor=actor(bob), deal=deal, stage=stage("Negotiation"))
    assert (deal.status, deal.forecast_category, deal.closed_at) == ("open", "pipeline", None)


def test_a_stale_version_changes_nothing(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    services.deal_update(actor=actor(bob), deal=deal, data={"amount": "10"}, expected_version=1)
    with pytest.raises(VersionConflict):
        services.deal_stage_change(
            actor=actor(bob), deal=deal, stage=stage("Proposal"), expected_version=1
        )
    with pytest.raises(VersionConflict):
        services.deal_update(actor=actor(bob), deal=deal, data={"amount": "20"}, expected_version=1)
    deal.refresh_from_db()
    assert (deal.amount, deal.stage.name, deal.version) == (Decimal("10.00"), "Qualification", 2)


def test_another_teams_deal_is_not_found_and_a_teammates_is_changeable(personas):
    deal = make_deal(owner=personas["bob"])
    with pytest.raises(NotFound):
        selectors.deal_get(actor=personas["carl"], pk=deal.pk)
    with pytest.raises(NotFound):
        services.deal_update(actor=actor(personas["carl"]), deal=deal, data={"name": "Mine"})
    services.deal_update(actor=actor(personas["brenda"]), deal=deal, data={"name": "Ours"})
    with pytest.raises(PermissionDenied):
        services.deal_update(actor=actor(personas["rita"]), deal=deal, data={"name": "No"})


def test_a_sales_rep_may_not_reassign_a_deal(personas):
    deal = make_deal(owner=personas["bob"])
    with pytest.raises(ValidationFailed) as exc:
        services.deal_update(
            actor=actor(personas["bob"]), deal=deal, data={"owner": personas["brenda"].pk}
        )
    assert "owner" in exc.value.errors


# --- roles ------------------------------------------------------------------------------


def test_roles_are_unique_per_person_and_role_and_one_is_primary(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    dana = make_contact(owner=bob, full_name="Dana Decider")
    eve = make_contact(owner=bob, full_name="Eve Economic")
    services.deal_role_add(
        actor=actor(bob), deal=deal, contact=dana, role="decision_maker", is_primary=True
    )
    services.deal_role_add(actor=actor(bob), deal=deal, contact=dana, role="champion")
    services.deal_role_add(
        actor=actor(bob), deal=deal, contact=eve, role="economic_buyer", is_primary=True
    )
    with pytest.raises(ValidationFailed):
        services.deal_role_add(actor=actor(bob), deal=deal, contact=dana, role="champion")
    assert list(
        DealRole.objects.filter(deal=deal, is_primary=True).values_list("contact", flat=True)
    ) == [eve.pk]
    where = selectors.DealFilters(contact=dana.pk, role="decision_maker")
    assert [d.pk for d in selectors.deal_list(actor=bob, filters=where).items] == [deal.pk]
    where = selectors.DealFilters(contact=eve.pk, role="decision_maker")
    assert selectors.deal_list(actor=bob, filters=where).items == []


def test_a_role_needs_a_contact_the_actor_may_see(personas):
    deal = make_deal(owner=personas["bob"])
    stranger = make_contact(owner=personas["carl"])
    with pytest.raises(ValidationFailed) as exc:
        services.deal_role_add(
            actor=actor(personas["bob"]), deal=deal, contact=stranger, role="user"
        )
    assert exc.value.errors["contact"] == ["No such contact."]


# --- leads: the duplicate check on every path ------------------------------------------------


def test_a_known_person_becomes_a_lead_on_their_existing_contact(personas):
    acme = make_account(name="Acme Widgets", domains=["acme.example"])
    jane = make_contact(full_name="Jane Doe", emails=["jane.doe@acme.example"], account=acme)
    before = Contact.objects.count()
    lead = services.lead_create(
        actor=actor(personas["bob"]),
        data={"name": "Jane Doe", "email": "Jane.Doe@acme.example", "need": "50 seats"},
    )
    assert (lead.contact_id, lead.account_id) == (jane.pk, acme.pk)
    assert Contact.objects.count() == before
    assert Entry.objects.filter(kind="lead_created", links__contact=jane).exists()


def test_the_check_runs_whatever_the_actor_may_see(personas):
    # Sam (service) sees every contact; mia (marketing) too; a web form has no user at all.
    jane = make_contact(owner=personas["carl"], full_name="Jane Doe", emails=["jane@x.example"])
    lead = services.lead_create(
        actor=actor(personas["bob"]), data={"name": "Jane Doe", "email": "jane@x.example"}
    )
    assert lead.contact_id == jane.pk


def test_a_lead_form_post_finds_the_known_person_and_answers_alike(personas):
    jane = make_contact(full_name="Jane Doe", emails=["jane@x.example"])
    form, token = services.lead_form_create(actor=SYSTEM, data={"name": "Site"})
    outcome = services.lead_form_post(
        token=token,
        fields={"name": "Jane Doe", "email": "jane@x.example"},
        address="10.0.0.1",
        origin="",
    )
    assert outcome == "accepted"
    assert Lead.objects.get(form=form).contact_id == jane.pk
    assert (
        services.lead_form_post(token="nope", fields={"name": "A"}, address="1", origin="")
        == "unknown"
    )
    robot = services.lead_form_post(
        token=token, fields={"name": "Bot", "website": "http://spam"}, address="10.0.0.2", origin=""
    )
    assert robot == "spam" and Lead.objects.count() == 1


def test_a_lead_form_limits_each_address_and_checks_the_origin(personas):
    _, token = services.lead_form_create(
        actor=SYSTEM, data={"name": "Site", "allowed_origins": ["https://www.example.com"]}
    )
    post = {"token": token, "fields": {"name": "Ann Other"}, "address": "10.0.0.9"}
    assert services.lead_form_post(**post, origin="https://evil.example") == "invalid"
    outcomes = [services.lead_form_post(**post, origin="https://www.example.com") for _ in range(6)]
    assert outcomes == ["accepted"] * 4 + ["limited"] * 2  # 5 an hour, the refused one counted


def test_a_lead_on_a_named_contact_uses_it(personas):
    bob = personas["bob"]
    nora = make_contact(owner=bob, full_name="Nora North")
    lead = make_lead(actor=actor(bob), contact=nora.pk)
    assert lead.contact_id == nora.pk and lead.name == "Nora North"


# --- assignment and scoring -----------------------------------------------------------------


def test_assignment_rules_apply_in_order(personas):
    north = Team.objects.get(name="North")
    acme = make_account(owner=personas["carl"], name="Acme", domains=["acme.example"])
    AssignmentRule.objects.create(name="Owner", order=1, kind="account_owner")
    AssignmentRule.objects.create(
        name="France", order=2, kind="country", countries=["FR"], user=personas["brenda"]
    )
    AssignmentRule.objects.create(name="North", order=3, kind="round_robin", team=north)
    system = actor(personas["sam"])
    known = services.lead_create(actor=system, data={"name": "A", "email": "a@acme.example"})
    french = services.lead_create(actor=system, data={"name": "B", "country": "FR"})
    others = [services.lead_create(actor=system, data={"name": f"C{i}"}) for i in range(3)]
    assert known.owner == personas["carl"] and known.account == acme
    assert french.owner == personas["brenda"]
    owners = [o.owner.username for o in others]
    assert sorted(owners[:2]) == ["bob", "brenda"] and owners[2] == owners[0]


def test_a_sales_rep_keeps_the_lead_they_enter(personas):
    AssignmentRule.objects.create(
        name="RR", kind="round_robin", team=Team.objects.get(name="South")
    )
    lead = services.lead_create(actor=actor(personas["bob"]), data={"name": "Mine"})
    assert lead.owner == personas["bob"]


def test_score_rules_count_fit_and_activity(personas):
    jane = make_contact(full_name="Jane Doe", emails=["jane@x.example"])
    from rapport.timeline import services as timeline_services

    timeline_services.note_add(
        actor=SYSTEM, kind="contact", pk=jane.pk, body="Called about pricing"
    )
    ScoreRule.objects.create(name="Budget", kind="contains", field="budget", value="k", points=20)
    ScoreRule.objects.create(name="UK", kind="equals", field="country", value="gb", points=5)
    ScoreRule.objects.create(name="Active", kind="activity", days=30, min_entries=1, points=7)
    lead = services.lead_create(
        actor=SYSTEM,
        data={"name": "Jane Doe", "email": "jane@x.example", "budget": "50k", "country": "GB"},
    )
    assert lead.score == 32


# --- qualification and conversion ------------------------------------------------------------


def test_disqualifying_needs_a_reason(personas):
    bob = personas["bob"]
    lead = make_lead(owner=bob)
    with pytest.raises(ValidationFailed):
        services.lead_disqualify(actor=actor(bob), lead=lead, reason=" ")
    lead = services.lead_disqualify(actor=actor(bob), lead=lead, reason="Student project")
    assert (lead.status, lead.disqualify_reason) == ("disqualified", "Student project")
    lead = services.lead_qualify(actor=actor(bob), lead=lead, data={"budget": "10k"})
    assert (lead.status, lead.disqualify_reason, lead.budget) == ("qualified", "", "10k")


def test_conversion_links_what_exists_and_makes_what_does_not(personas):
    bob = personas["bob"]
    acme = make_account(owner=bob, name="Acme Widgets", domains=["acme.example"])
    lead = make_lead(
        actor=actor(bob), name="Sam New", email="sam.new@acme.example", need="CRM", role="CTO"
    )
    assert lead.contact_id is None and lead.account_id == acme.pk
    contacts = Contact.objects.count()
    lead, deal = services.lead_convert(actor=actor(bob), lead=lead, deal={"amount": "9000"})
    assert Contact.objects.count() == contacts + 1
    assert (deal.account_id, deal.primary_contact_id, deal.owner) == (acme.pk, lead.contact_id, bob)
    assert lead.contact.memberships.get().account_id == acme.pk
    assert DealRole.objects.get(deal=deal).role == "decision_maker"
    assert (lead.status, lead.converted_deal) == ("qualified", deal)
    again, same = services.lead_convert(actor=actor(bob), lead=lead)
    assert (
        same.pk == deal.pk and Deal.objects.count() == 1 and Contact.objects.count() == contacts + 1
    )
    assert Entry.objects.filter(kind="lead_converted", links__contact=lead.contact).exists()


def test_conversion_of_a_new_company_makes_the_account(personas):
    bob = personas["bob"]
    lead = make_lead(actor=actor(bob), name="Kim Lee", company_name="Brand New Co")
    lead, deal = services.lead_convert(actor=actor(bob), lead=lead)
    assert deal.account.name == "Brand New Co" and lead.contact.full_name == "Kim Lee"
    nameless = make_lead(actor=actor(bob), name="No Company")
    with pytest.raises(ValidationFailed) as exc:
        services.lead_convert(actor=actor(bob), lead=nameless)
    assert "company_name" in exc.value.errors


def test_a_service_agent_raises_a_lead_and_still_sees_it(personas):
    AssignmentRule.objects.create(
        name="RR", kind="round_robin", team=Team.objects.get(name="North")
    )
    jane = make_contact(full_name="Jane Doe")
    sam = personas["sam"]
    lead = services.lead_create(
        actor=actor(sam), data={"contact": jane.pk, "need": "A quote", "timing": "Q3"}
    )
    assert lead.owner in (personas["bob"], personas["brenda"]) and lead.created_by == sam
    assert selectors.lead_get(actor=sam, pk=lead.pk).pk == lead.pk
    with pytest.raises(NotFound):
        selectors.lead_get(actor=personas["carl"], pk=lead.pk)


def test_every_change_is_audited(personas):
    bob = personas["bob"]
    deal = make_deal(owner=bob)
    services.deal_update(actor=actor(bob), deal=deal, data={"amount": "12.5"})
    entry = AuditEntry.objects.filter(entity_kind="deal", entity_id=deal.pk, action="update").get()
    assert entry.changes["amount"] == ["0.00", "12.50"]
