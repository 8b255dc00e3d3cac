"""Sales pages and API operations, for the permission harness
(``rapport.core.testing.permissions``): bob's deal on bob's account, with bob's contact in a
role, and a lead of bob's."""

from __future__ import annotations

from rapport.core.testing.permissions import Case, World, expected_status, may, sees_owners_record
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
        actor=SYSTEM,
        data={
            "name": "Lena Lead",
            "email": "lena@elsewhere.example",
            "company_name": "Lena Co",
            "owner": bob.pk,
        },
    )
    ids.update(deal=deal.pk, deal_role=role.pk, lead=lead.pk, proposal_stage=stage("Proposal").pk)
    ids.update(pipeline=deal.pipeline_id, stage=deal.stage_id)
    from rapport.sales.forecasting import services as forecasting

    quota, _ = forecasting.quota_set(
        actor=SYSTEM, data={"user": bob.pk, "period": "2026-Q1", "amount": "5000"}
    )
    forecasting.adjustment_add(
        actor=SYSTEM, data={"user": bob.pk, "period": "2026-Q1", "amount": "900", "reason": "Late"}
    )
    ids.update(quota=quota.pk, bob_user=bob.pk)


def _on_bobs_account(persona: str, role: str, success: int) -> int:
    if not may(role, D, "add"):
        return 403
    return success if sees_owners_record(persona, role, A) else 422


def _convert(persona: str, role: str) -> int:
    plain = expected_status(
        Case("post", "/", parent=L, needs=((L, "change"), (D, "add"))), persona, role
    )
    # A new account and contact are made: the converter needs those rights too.
    if plain == 200 and not (may(role, A, "add") and may(role, C, "add")):
        return 403
    return plain


CASES: list[Case] = [
    # API.
    Case("get", "/leads", needs=((L, V),)),
    Case("post", "/leads", body={"name": "New Lead"}, success=201, needs=((L, "add"),)),
    Case("get", "/leads/{lead}", parent=L),
    Case("patch", "/leads/{lead}", body={"need": "More"}, parent=L, needs=((L, "change"),)),
    Case("delete", "/leads/{lead}", success=204, parent=L, needs=((L, "delete"),)),
    Case("post", "/leads/{lead}/qualify", body={"budget": "10k"}, parent=L, needs=((L, "change"),)),
    Case(
        "post",
        "/leads/{lead}/disqualify",
        body={"reason": "Student"},
        parent=L,
        needs=((L, "change"),),
    ),
    Case(
        "post",
        "/leads/{lead}/convert",
        body={"amount": "100"},
        parent=L,
        needs=((L, "change"), (D, "add")),
        # The conversion makes the contact and the account of the lead's company.
        expect=lambda persona, role: _convert(persona, role),
    ),
    Case("get", "/deals", needs=((D, V),)),
    Case(
        "post",
        "/deals",
        body={"name": "New deal", "account": "{account}"},
        success=201,
        needs=((D, "add"),),
        # The account must be one the caller may see (carl: another team's, so 422).
        expect=lambda persona, role: _on_bobs_account(persona, role, 201),
    ),
    Case("get", "/deals/{deal}", parent=D),
    Case("patch", "/deals/{deal}", body={"amount": "12.50"}, parent=D, needs=((D, "change"),)),
    Case("delete", "/deals/{deal}", success=204, parent=D, needs=((D, "delete"),)),
    Case(
        "post",
        "/deals/{deal}/stage",
        body={"stage": "{proposal_stage}"},
        parent=D,
        needs=((D, "change"),),
    ),
    Case("get", "/deals/{deal}/history", parent=D),
    Case("get", "/deals/{deal}/roles", parent=D),
    Case(
        "post",
        "/deals/{deal}/roles",
        body={"contact": "{contact}", "role": "champion"},
        success=201,
        parent=D,
        needs=((D, "change"),),
    ),
    Case(
        "delete", "/deals/{deal}/roles/{deal_role}", success=204, parent=D, needs=((D, "change"),)
    ),
    Case("get", "/pipelines", needs=((S, V),)),
    Case("post", "/pipelines", body={"name": "Renewals"}, success=201, needs=((S, "add"),)),
    Case("get", "/pipelines/{pipeline}", needs=((S, V),)),
    Case("patch", "/pipelines/{pipeline}", body={"currency": "GBP"}, needs=((S, V), (S, "change"))),
    Case(
        "post",
        "/pipelines/{pipeline}/stages",
        body={"name": "Demo", "probability": "0.3"},
        success=201,
        needs=((S, V), (S, "add")),
    ),
    Case("patch", "/stages/{stage}", body={"probability": "0.2"}, needs=((S, V), (S, "change"))),
    # The first stage has deals in its history: it cannot be deleted (422) by those who may.
    Case(
        "delete",
        "/stages/{stage}",
        success=422,
        needs=((S, V), (S, "delete")),
    ),
    # Forecasting: quotas and adjustments are the sales setup's (managers and admins set
    # them); the forecast, its months and learned probabilities read deals.
    Case("get", "/quotas", needs=((S, V),)),
    Case(
        "post",
        "/quotas",
        body={"user": "{bob_user}", "period": "2026-Q2", "amount": "7000"},
        success=201,
        needs=((S, V), (S, "change")),
    ),
    Case("delete", "/quotas/{quota}", success=204, needs=((S, V), (S, "change"))),
    Case("get", "/forecast-adjustments", needs=((D, V),)),
    Case(
        "post",
        "/forecast-adjustments",
        body={"user": "{bob_user}", "period": "2026-Q1", "amount": "800", "reason": "Slipped"},
        success=201,
        needs=((S, "change"), (D, V)),
    ),
    Case("get", "/forecast", needs=((D, V),)),
    Case("get", "/forecast", query="?period=2026-Q1&as_of=2026-01-15", needs=((D, V),)),
    Case("get", "/forecast/months", needs=((D, V),)),
    Case("get", "/pipelines/{pipeline}/learned-probabilities", needs=((D, V),)),
    # Pages.
    Case("get", url="sales:home", needs=((D, V),)),
    Case("get", url="sales:deal-list", needs=((D, V),)),
    Case("get", url="sales:reports", needs=((D, V),)),
    Case("get", url="sales:reports", query="?format=csv", needs=((D, V), (D, "export"))),
    Case(
        "get",
        url="sales:reports",
        query="?format=csv&chart=win-rate-rep",
        needs=((D, V), (D, "export")),
    ),
    Case("get", url="sales:reports", query="?as_of=2026-01-15", needs=((D, V),)),
    Case("get", url="sales:reports", query="?chart=stage-probabilities", needs=((D, V),)),
    Case(
        "post",
        url="sales:forecast-adjust",
        body={"user": "{bob_user}", "period": "2026-Q1", "amount": "5", "reason": "Call"},
        success=302,
        needs=((S, "change"), (D, V)),
    ),
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
    Case(
        "post",
        url="sales:deal-task-add",
        args=("deal",),
        body={"kind": "call", "title": "Call back"},
        success=302,
        parent=D,
        needs=(("task", "add"),),
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
