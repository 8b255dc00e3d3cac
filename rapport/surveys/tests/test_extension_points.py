"""Surveys in the shared registries: a merge moves invitations and answers and an unmerge
puts them back; export holds them and erasure removes them; the timeline kind is known."""

from __future__ import annotations

import pytest

from conftest import actor
from rapport.core import privacy
from rapport.customers.tests.factories import make_contact
from rapport.identity import services as identity
from rapport.surveys.models import Answer, Invitation, SurveyResponse
from rapport.surveys.tests.factories import answer, invite, make_csat_survey
from rapport.timeline import events

pytestmark = pytest.mark.django_db


def test_a_merge_moves_invitations_and_answers_and_an_unmerge_puts_them_back(personas):
    stella = actor(personas["stella"])
    keep = make_contact(full_name="Dana Doe", emails=["dana@a.example"])
    gone = make_contact(full_name="Dana Doe", emails=["dana@b.example"])
    survey = make_csat_survey(cap_count=0)
    answer(invite(survey, keep, object_kind="case", object_id=1, touchpoint="case_resolved"), 5)
    answer(invite(survey, gone, object_kind="case", object_id=2, touchpoint="case_resolved"), 2)
    merge = identity.records_merge(
        actor=stella, kind="contact", survivor_id=keep.pk, merged_ids=[gone.pk]
    )
    assert set(Invitation.objects.values_list("contact_id", flat=True)) == {keep.pk}
    assert set(SurveyResponse.objects.values_list("contact_id", flat=True)) == {keep.pk}
    identity.merge_undo(actor=stella, merge=merge)
    assert SurveyResponse.objects.get(score=2).contact_id == gone.pk
    assert Invitation.objects.get(object_id=2).contact_id == gone.pk


def test_export_holds_invitations_and_answers_and_erasure_removes_them():
    ann = make_contact(emails=["ann@example.com"])
    other = make_contact(emails=["bo@example.com"])
    survey = make_csat_survey(cap_count=0)
    answer(
        invite(survey, ann, object_kind="case", object_id=1, touchpoint="case_resolved"),
        3,
        "Ann's words",
    )
    answer(
        invite(survey, other, object_kind="case", object_id=2, touchpoint="case_resolved"),
        4,
        "Bo's words",
    )
    data = privacy.export_all(contact_id=ann.pk)["surveys"]
    assert [i["to_address"] for i in data["invitations"]] == ["ann@example.com"]
    texts = [a["text"] for r in data["responses"] for a in r["answers"]]
    assert "Ann's words" in texts and "Bo's words" not in texts
    from rapport.surveys.privacy import surveys_erase

    assert surveys_erase(actor=None, contact_id=ann.pk) > 0
    assert not Invitation.objects.filter(contact=ann).exists()
    assert not Answer.objects.filter(text="Ann's words").exists()
    assert Answer.objects.filter(text="Bo's words").exists()


def test_the_answer_kind_is_registered():
    assert "survey_answer" in events.KINDS
