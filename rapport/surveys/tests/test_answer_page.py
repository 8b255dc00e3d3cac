"""The person's answer page: a signed link, no login, CSRF-protected, one answer."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from rapport.customers.tests.factories import make_contact
from rapport.surveys import services
from rapport.surveys.models import Invitation, SurveyResponse
from rapport.surveys.tests.factories import invite, make_csat_survey, make_nps_survey
from rapport.timeline.models import Entry, EntryLink


def _url(inv: Invitation) -> str:
    return reverse("surveys:answer", args=[services.answer_link(inv)])


def _form(client: Client, url: str) -> tuple[str, bytes]:
    page = client.get(url)
    assert page.status_code == 200
    return page.cookies["csrftoken"].value, page.content


@pytest.fixture
def nps_invitation(db) -> Invitation:
    survey = make_nps_survey(department="marketing")
    return invite(survey, make_contact(full_name="Pia Promoter", emails=["pia@example.com"]))


def test_the_page_needs_no_login_and_records_every_kind_of_answer(nps_invitation):
    client = Client(enforce_csrf_checks=True)
    url = _url(nps_invitation)
    token, content = _form(client, url)
    assert b'name="viewport"' in content and b"Would you recommend us?" in content
    nps, single, multiple, text = nps_invitation.survey.questions.all()
    done = client.post(url, {
        f"q{nps.pk}": "9", f"q{single.pk}": "Quality", f"q{multiple.pk}": ["Lamps", "Chairs"],
        f"q{text.pk}": "Great <b>lamps</b>", "csrfmiddlewaretoken": token,
    })  # fmt: skip
    assert done.status_code == 200 and b"Thank you" in done.content
    response = SurveyResponse.objects.get()
    got = {a.question_id: (a.number, a.choices, a.text) for a in response.answers.all()}
    assert got == {
        nps.pk: (9, [], ""), single.pk: (None, ["Quality"], ""),
        multiple.pk: (None, ["Lamps", "Chairs"], ""), text.pk: (None, [], "Great <b>lamps</b>"),
    }  # fmt: skip
    entry = Entry.objects.get(kind="survey_answer")
    assert EntryLink.objects.filter(entry=entry, contact_id=nps_invitation.contact_id).exists()
    assert entry.department == "marketing" and entry.data["score"] == 9
    assert entry.summary.startswith("Would you recommend us?: NPS 9/10")


def test_a_post_without_the_csrf_token_is_refused(nps_invitation):
    client = Client(enforce_csrf_checks=True)
    nps = nps_invitation.survey.questions.first()
    response = client.post(_url(nps_invitation), {f"q{nps.pk}": "10"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()


def test_a_second_submit_changes_nothing(nps_invitation):
    client = Client(enforce_csrf_checks=True)
    url = _url(nps_invitation)
    token, _ = _form(client, url)
    nps = nps_invitation.survey.questions.first()
    client.post(url, {f"q{nps.pk}": "3", "csrfmiddlewaretoken": token})
    again = client.post(url, {f"q{nps.pk}": "10", "csrfmiddlewaretoken": token})
    assert again.status_code == 200 and b"cannot be changed" in again.content
    assert list(SurveyResponse.objects.values_list("score", flat=True)) == [3]
    assert Entry.objects.filter(kind="survey_answer").count() == 1
    assert b"cannot be changed" in client.get(url).content


def test_bad_values_name_the_question_and_write_nothing(nps_invitation):
    client = Client(enforce_csrf_checks=True)
    url = _url(nps_invitation)
    token, _ = _form(client, url)
    nps, single, multiple, text = nps_invitation.survey.questions.all()
    page = client.post(url, {f"q{nps.pk}": "11", f"q{single.pk}": "Nope", f"q{text.pk}": "kept",
                             "csrfmiddlewaretoken": token})  # fmt: skip
    assert page.status_code == 422
    assert (
        b"Choose a number from 0 to 10." in page.content
        and b"Choose from the list." in page.content
    )
    assert b">kept</textarea>" in page.content
    missing = client.post(url, {f"q{text.pk}": "only text", "csrfmiddlewaretoken": token})
    assert missing.status_code == 422 and b"Please answer this question." in missing.content
    assert not SurveyResponse.objects.exists()


def test_a_score_in_the_link_is_preselected_but_not_recorded(db):
    survey = make_csat_survey()
    inv = invite(survey, make_contact(emails=["ann@example.com"]))
    csat = survey.questions.first()
    page = Client().get(_url(inv) + f"?q{csat.pk}=4")
    assert page.status_code == 200 and b'value="4" checked' in page.content
    assert not SurveyResponse.objects.exists()


def test_a_forged_or_altered_link_is_a_clear_404(nps_invitation):
    client = Client()
    link = services.answer_link(nps_invitation)
    for bad in (link[:-2] + "xx", "nothing", link.replace(nps_invitation.token, "A" * 24)):
        page = client.get(reverse("surveys:answer", args=[bad]))
        assert page.status_code == 404 and b"Link not valid" in page.content


def test_an_expired_invitation_shows_that_the_survey_closed(nps_invitation):
    Invitation.objects.filter(pk=nps_invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    client = Client(enforce_csrf_checks=True)
    page = client.get(_url(nps_invitation))
    assert page.status_code == 410 and b"closed" in page.content
    nps_invitation.refresh_from_db()
    with pytest.raises(services.SurveyClosed):
        services.response_submit(invitation=nps_invitation, values={})
    assert not SurveyResponse.objects.exists()


def test_the_answer_page_fits_a_phone(nps_invitation):
    content = Client().get(_url(nps_invitation)).content.decode()
    # A tap target per score and labelled choices, in a form that posts to itself.
    assert content.count('type="radio"') >= 11 + 3 and 'method="post"' in content
    assert "surveys/surveys.css" in content
