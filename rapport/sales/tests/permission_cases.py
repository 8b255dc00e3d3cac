"""Sales pages and API operations, for the permission harness
(``rapport.core.testing.permissions``): bob's deal on bob's account, with bob's contact in a
role, and a lead of bob's."""

from __future__ import annotations

from rapport.core.testing.permissions import Case, World
from rapport.customers.tests.factories import SYSTEM
from rapport.sales import services
from rapport.sales.tests.factories import stage

DEPENDS = ("customers",)
D, L, S, C, A, V = "deal", "lead", "salessetup", "contact", "account", "view"


def build(world: World) -> None:
    bob = world.users["bob"]
    ids = world.ids
    deal = services.deal_create(
        actor=SYSTEM,
        data={
            "name": "Northwind renewal",
            "account": ids["account"],
            "owner": bob.pk,
            "amount": "1000",
        },
    )
    role = services.deal_role_add(
        actor=SYSTEM, deal=deal, contact=ids["contact"], role="decision_maker"
    )
    lead = services.lead_create(
        actor=SYSTEM, data={"name": "Lena Lead", "email": "lena@elsewhere.example", "owner": bob.pk}
    )
    ids.update(deal=deal.pk, deal_role=role.pk, lead=lead.pk, proposal_stage=stage("Proposal").pk)
    ids.update(pipeline=deal.pipeline_id, stage=deal.stage_id)


CASES: list[Case] = [
    # Pages.
    Case("get", url="sales:home", needs=((D, V),)),
    Case("get", url="sales:deal-list", needs=((D, V),)),
    Case("get", url="sales:deal-create", needs=((D, "add"),)),
    Case("get", url="sales:deal-detail", args=("deal",), parent=D),
    Case("get", url="sales:deal-edit", args=("deal",), parent=D, needs=((D, "change"),)),
    Case(
        "post",
        url="sales:deal-move",
        args=("deal",),
        body={"stage": "{proposal_stage}"},
        success=302,
        parent=D,
        needs=((D, "change"),),
    ),
    Case(
        "post",
        url="sales:deal-role-add",
        args=("deal",),
        body={"contact": "{contact}", "role": "champion"},
        success=302,
        parent=D,
        needs=((D, "change"),),
    ),
    Case(
        "post",
        url="sales:deal-role-remove",
        args=("deal", "deal_role"),
        success=302,
        parent=D,
        needs=((D, "change"),),
    ),
    Case("get", url="sales:leads", needs=((L, V),)),
    Case("get", url="sales:lead-create", needs=((L, "add"),)),
    Case("get", url="sales:lead-detail", args=("lead",), parent=L),
    Case("get", url="sales:lead-edit", args=("lead",), parent=L, needs=((L, "change"),)),
    Case(
        "post",
        url="sales:lead-status",
        args=("lead",),
        body={"action": "work"},
        success=302,
        parent=L,
        needs=((L, "change"),),
    ),
    Case(
        "get", url="sales:lead-convert", args=("lead",), parent=L, needs=((L, "change"), (D, "add"))
    ),
    Case("get", url="sales:lead-from-caller", args=("contact",), parent=C, needs=((L, "add"),)),
    Case("get", url="sales:contact-deals", args=("contact",), parent=C, needs=((D, V),)),
    Case("get", url="sales:account-deals", args=("account",), parent=A, needs=((D, V),)),
]
