"""Service's API operations and pages, for the permission harness
(``rapport.core.testing.permissions``): bob's case on bob's contact, and a kind an admin
added. Cases are seen by team for agents (sam has none of bob's), by all for the rest."""

from __future__ import annotations

from rapport.core.testing.permissions import Case, World
from rapport.customers.models import Contact
from rapport.service import services
from rapport.service.escalation import services as escalation
from rapport.service.sla import calendars, policies
from rapport.service.tests.factories import SYSTEM, make_case

DEPENDS = ("customers",)
K, C, A, S, V = "case", "contact", "account", "servicesetup", "view"
CHANGE = ((K, "change"),)


def build(world: World) -> None:
    calendar = calendars.calendar_create(
        actor=SYSTEM,
        data={"name": "Office", "time_zone": "Europe/Berlin", "is_default": True,
              "periods": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)]},
    )  # fmt: skip
    policy = policies.policy_create(
        actor=SYSTEM,
        data={"name": "Default", "first_response_minutes": 60, "resolution_minutes": 960},
    )
    contact = Contact.objects.get(pk=world.ids["contact"])
    case = make_case(contact=contact, owner=world.users["bob"], subject="Chair broke")
    kind = services.casekind_create(actor=SYSTEM, data={"key": "warranty", "name": "Warranty"})
    question = escalation.escalation_request(
        actor=SYSTEM, case=case, to_user=world.users["mo"].pk, question="Refund?"
    )
    world.ids.update(
        case=case.pk, casekind=kind.pk, calendar=calendar.pk, policy=policy.pk,
        escalation=question.pk,
    )  # fmt: skip


CASES = [
    # API
    Case("get", "/cases", needs=((K, V),)),
    Case(
        "post",
        "/cases",
        body=lambda w: {"contact": w.ids["contact"], "subject": "New question"},
        success=201,
        needs=((K, "add"),),
    ),
    Case("get", "/cases/{case}", parent=K),
    Case("patch", "/cases/{case}", body={"topic": "Chairs"}, parent=K, needs=CHANGE),
    Case("delete", "/cases/{case}", success=204, parent=K, needs=((K, "delete"),)),
    Case("post", "/cases/{case}/status", body={"status": "open"}, parent=K, needs=CHANGE),
    Case("post", "/cases/{case}/assign", body={"owner": None}, parent=K, needs=CHANGE),
    Case("get", "/cases/{case}/status-changes", parent=K),
    Case("get", "/cases/{case}/messages", parent=K),
    Case(
        "post",
        "/cases/{case}/replies",
        body={"body": "Thanks"},
        success=201,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        "/cases/{case}/notes",
        body={"body": "Check it"},
        success=201,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        "/cases/{case}/calls",
        body={"direction": "out"},
        success=201,
        parent=K,
        needs=CHANGE,
    ),
    Case("get", "/case-kinds", needs=((S, V),)),
    Case(
        "post",
        "/case-kinds",
        body={"key": "loan", "name": "Loan"},
        success=201,
        needs=((S, V), (S, "add")),
    ),
    Case(
        "patch", "/case-kinds/{casekind}", body={"name": "Guarantee"}, needs=((S, V), (S, "change"))
    ),
    Case("delete", "/case-kinds/{casekind}", success=204, needs=((S, V), (S, "delete"))),
    # Service goals and escalation
    Case("get", "/service-calendars", needs=((S, V),)),
    Case(
        "post",
        "/service-calendars",
        body={
            "name": "Night",
            "time_zone": "UTC",
            "periods": [{"weekday": 0, "start": "22:00", "end": "24:00"}],
        },
        success=201,
        needs=((S, V), (S, "add")),
    ),
    Case("get", "/service-calendars/{calendar}", needs=((S, V),)),
    Case(
        "patch",
        "/service-calendars/{calendar}",
        body={"country": "DE"},
        needs=((S, V), (S, "change")),
    ),
    Case("delete", "/service-calendars/{calendar}", success=204, needs=((S, V), (S, "delete"))),
    Case(
        "post",
        "/service-calendars/{calendar}/days",
        body={"days": [{"date": "2026-12-24", "name": "Christmas Eve"}]},
        needs=((S, V), (S, "change")),
    ),
    Case("get", "/service-policies", needs=((S, V),)),
    Case(
        "post",
        "/service-policies",
        body={"name": "Urgent", "priority": 1, "first_response_minutes": 15},
        success=201,
        needs=((S, V), (S, "add")),
    ),
    Case(
        "patch",
        "/service-policies/{policy}",
        body={"warn_percent": 75},
        needs=((S, V), (S, "change")),
    ),
    Case("delete", "/service-policies/{policy}", success=204, needs=((S, V), (S, "delete"))),
    Case("get", "/escalation-rules", needs=((S, V),)),
    Case(
        "post",
        "/escalation-rules",
        body={"name": "Lead", "trigger": "at_risk", "recipient": "team_lead"},
        success=201,
        needs=((S, V), (S, "add")),
    ),
    Case("get", "/cases/{case}/targets", parent=K),
    Case("get", "/cases/{case}/escalations", parent=K),
    Case(
        "post",
        "/cases/{case}/escalations",
        body=lambda w: {"question": "Why?", "to_user": w.users["mo"].pk},
        success=201,
        parent=K,
        needs=CHANGE,
    ),
    # mo, asked, may change every case anyway: the rule is the case's change right
    Case(
        "post",
        "/case-escalations/{escalation}/answer",
        body={"answer": "Yes"},
        parent=K,
        needs=CHANGE,
    ),
    Case("get", "/service-notifications", needs=((K, V),)),
    Case("post", "/service-notifications/read", body={}, needs=((K, V),)),
    # Pages
    Case("get", url="service:home", needs=((K, V),)),
    Case("get", url="service:case-create", needs=((K, "add"),)),
    Case(
        "post",
        url="service:case-create",
        body=lambda w: {
            "contact": w.ids["contact"],
            "subject": "Call",
            "kind": "inquiry",
            "priority": "3",
            "channel": "phone",
        },
        success=302,
        needs=((K, "add"),),
    ),
    Case("get", url="service:case-detail", args=("case",), parent=K),
    # "Show earlier history": the case's rights decide; a message not of the case gives an
    # empty list, so any id exercises them.
    Case("get", url="service:case-history", args=("case",), query="?before=2147483647", parent=K),
    Case("get", url="service:case-edit", args=("case",), parent=K, needs=CHANGE),
    Case(
        "post",
        url="service:case-edit",
        args=("case",),
        body={
            "subject": "Chair broke again",
            "kind": "inquiry",
            "priority": "2",
            "channel": "phone",
        },
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:case-status",
        args=("case",),
        body={"status": "open"},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:case-reply",
        args=("case",),
        body={"body": "Thanks"},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:case-note",
        args=("case",),
        body={"body": "Note"},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:case-call",
        args=("case",),
        body={"direction": "in"},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:case-assign",
        args=("case",),
        body={"owner": ""},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:case-escalate",
        args=("case",),
        body=lambda w: {"question": "Why?", "to_user": str(w.users["mo"].pk)},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case(
        "post",
        url="service:escalation-answer",
        args=("escalation",),
        body={"answer": "Yes"},
        success=302,
        parent=K,
        needs=CHANGE,
    ),
    Case("post", url="service:notifications-read", success=302, needs=((K, V),)),
    # The service reports: over the cases one may see; the CSV needs the export right
    Case("get", url="service:reports", needs=((K, V),)),
    Case("get", url="service:reports", query="?by=agent&period=12m", needs=((K, V),)),
    Case(
        "get",
        url="service:reports",
        query="?format=csv&figure=csat",
        needs=((K, V), (K, "export")),
    ),
    Case("get", url="service:contact-cases", args=("contact",), parent=C, needs=((K, V),)),
    Case("get", url="service:account-cases", args=("account",), parent=A, needs=((K, V),)),
]
