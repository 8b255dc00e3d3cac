"""Surveys' API operations and pages, for the permission harness
(``rapport.core.testing.permissions``): a CSAT survey, an invitation after bob's case and
its answer on bob's contact.

The person's answer page (``surveys:answer``, a signed link, no login) is exempt in the
harness and tested in test_answer_page.py."""

from __future__ import annotations

from rapport.core.testing.permissions import Case, World
from rapport.customers.models import Contact
from rapport.surveys.tests.factories import answer, invite, make_csat_survey, make_survey

DEPENDS = ("customers", "service")
K, C, V = "survey", "contact", "view"


def build(world: World) -> None:
    contact = Contact.objects.get(pk=world.ids["contact"])
    survey = make_csat_survey()
    inv = invite(
        survey, contact, touchpoint="case_resolved", object_kind="case",
        object_id=world.ids["case"], department="service",
    )  # fmt: skip
    answer(inv, 4, "Quick and friendly")
    manual = make_survey(name="Product ideas", trigger="manual", department="marketing")
    world.ids.update(survey=survey.pk, manual_survey=manual.pk)


NEW = {
    "name": "After the meeting",
    "trigger": "meeting_held",
    "department": "sales",
    "questions": [{"kind": "rating", "text": "How useful was the meeting?", "required": True}],
}

CASES: list[Case] = [
    Case("get", "/surveys", needs=((K, V),)),
    Case("post", "/surveys", body=NEW, success=201, needs=((K, "add"),)),
    Case("get", "/surveys/{survey}", needs=((K, V),)),
    Case("patch", "/surveys/{survey}", body={"active": False}, needs=((K, "change"),)),
    Case(
        "post",
        "/surveys/{manual_survey}/send",
        body=lambda w: {"contact_ids": [w.ids["contact"]]},
        needs=((K, "add"),),
    ),
    Case("get", "/surveys/{survey}/results", needs=((K, V),)),
    Case("get", "/surveys/{survey}/answers", needs=((K, V),)),
    Case("get", "/survey-comments", needs=((K, V),)),
    Case("get", url="surveys:home", needs=((K, V),)),
    Case("get", url="surveys:survey-detail", args=("survey",), needs=((K, V),)),
    Case("get", url="surveys:survey-export", args=("survey",), needs=((K, V), (K, "export"))),
    Case("get", url="surveys:contact-panel", args=("contact",), parent=C, needs=((K, V),)),
    Case("get", url="surveys:case-panel", args=("case",), parent="case", needs=((K, V),)),
]
