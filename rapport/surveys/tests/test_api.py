"""The surveys API: define, change, send to a list, results, answers, comments."""

from __future__ import annotations

import pytest

from rapport.consent.tests.factories import withdraw
from rapport.customers.tests.factories import make_contact
from rapport.surveys.models import Invitation, Survey
from rapport.surveys.tests.factories import answer, invite, make_csat_survey

pytestmark = pytest.mark.django_db

NEW = {
    "name": "Event feedback",
    "trigger": "manual",
    "department": "marketing",
    "questions": [
        {"kind": "rating", "text": "How was the event?", "required": True},
        {"kind": "single", "text": "Will you come again?", "choices": ["Yes", "No"]},
    ],
}


def test_a_survey_is_defined_with_its_questions(api_client):
    mia = api_client("mia")
    made = mia.post("/api/v1/surveys", NEW, content_type="application/json")
    assert made.status_code == 201, made.content
    body = made.json()
    assert [q["kind"] for q in body["questions"]] == ["rating", "single"]
    changed = mia.patch(f"/api/v1/surveys/{body['id']}", {"active": False, "cap_count": 2},
                        content_type="application/json")  # fmt: skip
    assert changed.status_code == 200 and changed.json()["active"] is False
    assert Survey.objects.get().cap_count == 2


def test_bad_definitions_are_problems_naming_the_field(api_client):
    mia = api_client("mia")
    bad = {
        **NEW,
        "trigger": "birthday",
        "questions": [{"kind": "single", "text": "Pick", "choices": ["One"]}],
    }
    response = mia.post("/api/v1/surveys", bad, content_type="application/json")
    assert response.status_code == 422
    assert response["Content-Type"].startswith("application/problem+json")
    errors = response.json()["errors"]
    assert "trigger" in errors and "questions[0].choices" in errors
    assert not Survey.objects.exists()


def test_questions_cannot_be_replaced_once_answered(api_client):
    survey = make_csat_survey()
    answer(invite(survey, make_contact(emails=["a@example.com"])), 5)
    response = api_client("mia").patch(
        f"/api/v1/surveys/{survey.pk}",
        {"questions": NEW["questions"]},
        content_type="application/json",
    )
    assert response.status_code == 422 and "questions" in response.json()["errors"]


def test_sending_to_a_list_counts_who_was_skipped_and_why(api_client):
    survey = Survey.objects.get(
        pk=api_client("mia")
        .post("/api/v1/surveys", NEW, content_type="application/json")
        .json()["id"]
    )
    ok = make_contact(emails=["ok@example.com"])
    no = make_contact(emails=["no@example.com"])
    withdraw(no, "surveys")
    bare = make_contact(full_name="No Mail", emails=[])
    response = api_client("mia").post(
        f"/api/v1/surveys/{survey.pk}/send", {"contact_ids": [ok.pk, no.pk, bare.pk, ok.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json() == {"invited": 1, "skipped": {"consent": 1, "no_address": 1}}
    again = api_client("mia").post(
        f"/api/v1/surveys/{survey.pk}/send",
        {"contact_ids": [ok.pk]},
        content_type="application/json",
    )
    assert again.json() == {"invited": 0, "skipped": {"already": 1}}
    assert Invitation.objects.filter(status="invited").count() == 1


def test_a_rep_may_read_results_but_not_send(api_client):
    survey = make_csat_survey()
    answer(invite(survey, make_contact(emails=["a@example.com"])), 4, "Fine")
    bob = api_client("bob")
    results = bob.get(f"/api/v1/surveys/{survey.pk}/results")
    assert results.status_code == 200
    csat = results.json()["questions"][0]
    assert csat["distribution"]["4"] == 1 and csat["satisfied_percent"]["value"] == 100.0
    assert bob.post(f"/api/v1/surveys/{survey.pk}/send", {"contact_ids": [1]},
                    content_type="application/json").status_code == 403  # fmt: skip
    comments = api_client("mo").get("/api/v1/survey-comments?department=service")
    assert [c["text"] for c in comments.json()] == ["Fine"]
