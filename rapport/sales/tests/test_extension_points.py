"""Sales in the shared registries: merges move deals, roles and leads and unmerges put them
back; the screen pop lists a caller's open deals; export and erasure reach sales' rows."""

from __future__ import annotations

from conftest import actor
from rapport.core import privacy
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.identity import services as identity
from rapport.sales import services
from rapport.sales.models import Deal, DealRole, Lead
from rapport.sales.tests.factories import make_deal, make_lead, stage
from rapport.timeline.events import open_items


def test_a_merge_moves_roles_deals_and_leads_and_an_unmerge_puts_them_back(personas):
    stella = actor(personas["stella"])
    keep = make_contact(full_name="Dana Doe", emails=["dana@a.example"])
    gone = make_contact(full_name="Dana Doe", emails=["dana@b.example"])
    deal = make_deal(owner=personas["bob"], primary_contact=gone.pk)
    other = make_deal(owner=personas["bob"])
    services.deal_role_add(actor=SYSTEM, deal=deal, contact=keep, role="champion")
    twin = services.deal_role_add(actor=SYSTEM, deal=deal, contact=gone, role="champion")
    moved = services.deal_role_add(actor=SYSTEM, deal=other, contact=gone, role="blocker")
    lead = make_lead(contact=gone.pk)
    merge = identity.records_merge(
        actor=stella, kind="contact", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    assert sorted(DealRole.objects.filter(contact=keep).values_list("role", flat=True)) == [
        "blocker",
        "champion",
    ]
    assert not DealRole.objects.filter(pk=twin.pk).exists()  # the same role twice: kept once
    assert Deal.objects.get(pk=deal.pk).primary_contact_id == keep.pk
    assert Lead.objects.get(pk=lead.pk).contact_id == keep.pk
    identity.merge_undo(actor=stella, merge=merge)
    assert DealRole.objects.get(pk=twin.pk).contact_id == gone.pk
    assert DealRole.objects.get(pk=moved.pk).contact_id == gone.pk
    assert Deal.objects.get(pk=deal.pk).primary_contact_id == gone.pk
    assert Lead.objects.get(pk=lead.pk).contact_id == gone.pk


def test_an_account_merge_moves_its_deals(personas):
    stella = actor(personas["stella"])
    keep, gone = make_account(name="Acme Ltd"), make_account(name="Acme Limited")
    deal = make_deal(owner=personas["bob"], account=gone)
    merge = identity.records_merge(
        actor=stella, kind="account", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    assert Deal.objects.get(pk=deal.pk).account_id == keep.pk
    identity.merge_undo(actor=stella, merge=merge)
    assert Deal.objects.get(pk=deal.pk).account_id == gone.pk


def test_the_screen_pop_lists_a_callers_open_deals_that_the_agent_may_see(personas):
    dana = make_contact(full_name="Dana Doe")
    open_deal = make_deal(owner=personas["bob"], name="Open one")
    won = make_deal(owner=personas["bob"], name="Done one")
    services.deal_stage_change(actor=SYSTEM, deal=won, stage=stage("Won"))
    for deal in (open_deal, won):
        services.deal_role_add(actor=SYSTEM, deal=deal, contact=dana, role="user")
    items = open_items(personas["sam"], [dana.pk])[dana.pk]
    assert [i.title.split(" · ")[0] for i in items if i.kind == "deal"] == ["Open one"]
    assert [i for i in open_items(personas["carl"], [dana.pk])[dana.pk] if i.kind == "deal"] == []


def test_export_and_erasure_reach_leads_and_roles(personas):
    dana = make_contact(full_name="Dana Doe")
    deal = make_deal(owner=personas["bob"], primary_contact=dana.pk)
    services.deal_role_add(actor=SYSTEM, deal=deal, contact=dana, role="decision_maker")
    make_lead(contact=dana.pk, need="Wants 10 seats")
    exported = privacy.export_all(contact_id=dana.pk)["sales"]
    assert exported["leads"][0]["need"] == "Wants 10 seats"
    assert exported["deal_roles"][0]["role"] == "decision_maker"
    assert exported["primary_contact_of_deals"] == [deal.pk]
    privacy.erase_all(actor=SYSTEM, contact_id=dana.pk)
    assert not Lead.objects.filter(contact=dana).exists()
    assert not DealRole.objects.filter(contact=dana).exists()
    assert Deal.objects.get(pk=deal.pk).primary_contact_id is None
