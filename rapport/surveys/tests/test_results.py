"""A survey's figures: CSAT, % satisfied and NPS with their intervals, distributions,
breakdowns, filters, the answers list (only people the reader may see) and the CSV."""

from __future__ import annotations

import csv
import io
import math

import pytest
from django.test import Client
from django.urls import reverse

from rapport.customers.tests.factories import make_contact
from rapport.surveys import selectors, services, stats
from rapport.surveys.tests.factories import answer, invite, make_csat_survey, make_nps_survey


def test_wilson_interval_matches_the_textbook_figures():
    # 81 of 263 (Newcombe 1998, "Two-sided confidence intervals for the single proportion",
    # example (c)): Wilson's interval 0.2553 to 0.3662.
    e = stats.wilson(81, 263)
    assert round(e.value, 2) == 30.80 and round(e.low, 2) == 25.53 and round(e.high, 2) == 36.62
    assert stats.wilson(0, 10).low == 0 and stats.wilson(10, 10).high == 100
    assert stats.wilson(0, 0) == stats.NONE


def test_nps_and_its_interval_from_the_counts():
    e = stats.nps(promoters=50, detractors=20, n=100)
    assert e.value == pytest.approx(30.0)
    p, d = 0.5, 0.2
    half = 100 * stats.Z95 * math.sqrt((p + d - (p - d) ** 2) / 100)
    assert e.low == pytest.approx(30 - half) and e.high == pytest.approx(30 + half)
    assert stats.nps(10, 0, 10).high == 100  # clipped
    assert stats.nps(0, 0, 0) == stats.NONE


def test_the_mean_and_its_interval():
    e = stats.mean({1: 1, 5: 1})
    assert e.value == 3 and e.low == pytest.approx(3 - stats.Z95 * math.sqrt(8 / 2))
    assert stats.mean({4: 1}).low is None


@pytest.fixture
def csat_answers(personas):
    """Six answers after cases: scores 5, 5, 4, 3, 2, 1, two of them on carl's book."""
    survey = make_csat_survey(cap_count=0)
    bob, carl = personas["bob"], personas["carl"]
    scores = [
        (5, bob, "Great"),
        (5, bob, ""),
        (4, bob, "Good"),
        (3, carl, "Slow"),
        (2, carl, ""),
        (1, bob, "Bad"),
    ]
    for i, (score, owner, comment) in enumerate(scores):
        person = make_contact(full_name=f"Person {i}", emails=[f"p{i}@example.com"], owner=owner)
        inv = invite(survey, person, touchpoint="case_resolved", object_kind="case", object_id=100 + i,
                     department="service" if i < 4 else "sales")  # fmt: skip
        answer(inv, score, comment)
    return survey


def test_csat_figures_count_every_answer(csat_answers, personas):
    r = selectors.survey_results(
        actor=personas["mo"], survey=csat_answers, filters=selectors.Filters()
    )
    assert (r.invited, r.answered, r.response_rate) == (6, 6, 100.0)
    csat = r.questions[0]
    assert csat.distribution == [("1", 1), ("2", 1), ("3", 1), ("4", 1), ("5", 2)]
    assert csat.average.value == pytest.approx(20 / 6)
    assert csat.satisfied.value == pytest.approx(50.0)
    assert csat.satisfied.low == pytest.approx(stats.wilson(3, 6).low)
    assert r.questions[1].answered == 4  # the comments
    groups = {b.label: (b.answered, round(b.headline.value, 1)) for b in r.by_group}
    assert groups == {
        "Contact center · A case was resolved": (4, 75.0),
        "Sales · A case was resolved": (2, 0.0),
    }
    assert sum(b.answered for b in r.by_month) == 6


def test_filters_narrow_the_figures_and_bad_ones_name_the_field(csat_answers, personas):
    only_sales = selectors.Filters.parse({"department": "sales"})
    r = selectors.survey_results(actor=personas["mo"], survey=csat_answers, filters=only_sales)
    assert r.answered == 2 and r.questions[0].average.value == 1.5
    with pytest.raises(services.ValidationFailed) as exc:
        selectors.Filters.parse({"department": "legal", "since": "yesterday"})
    assert set(exc.value.errors) == {"department", "since"}


def test_nps_results(personas):
    survey = make_nps_survey()
    for i, score in enumerate([10, 9, 8, 7, 6, 0]):
        answer(invite(survey, make_contact(emails=[f"n{i}@example.com"])), score)
    r = selectors.survey_results(actor=personas["mia"], survey=survey, filters=selectors.Filters())
    nps = r.questions[0]
    assert (nps.promoters, nps.passives, nps.detractors) == (2, 2, 2)
    assert nps.nps.value == pytest.approx(0.0) and nps.nps.low < 0 < nps.nps.high
    assert r.headline_kind == "nps"


def test_the_answers_list_shows_only_people_the_reader_may_see(csat_answers, personas):
    every = selectors.survey_answers(
        actor=personas["mo"], survey=csat_answers, filters=selectors.Filters()
    )
    bobs = selectors.survey_answers(
        actor=personas["bob"], survey=csat_answers, filters=selectors.Filters()
    )
    assert len(every) == 6 and len(bobs) == 4
    comments = selectors.free_text_answers(actor=personas["bob"])
    assert sorted(a.text for a in comments) == ["Bad", "Good", "Great"]
    got = comments[0]
    assert got.response.contact.full_name.startswith("Person") and got.response.department


def test_the_results_page_and_the_csv(csat_answers, personas, django_assert_max_num_queries):
    client = Client()
    client.force_login(personas["mo"])
    url = reverse("surveys:survey-detail", args=[csat_answers.pk])
    with django_assert_max_num_queries(30):
        page = client.get(url)
    assert page.status_code == 200
    text = page.content.decode()
    assert "% satisfied (4–5)" in text and "50.0%" in text and "Great" in text
    assert 'id="chart-q0"' in text and 'id="chart-month"' in text
    bad = client.get(url + "?since=nope")
    assert bad.status_code == 422 and "A date as YYYY-MM-DD." in bad.content.decode()
    export = client.get(
        reverse("surveys:survey-export", args=[csat_answers.pk]) + "?department=service"
    )
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["response_id", "submitted_at", "contact_id"]
    assert len(rows) == 5 and {r[4] for r in rows[1:]} == {"service"}


def test_a_comment_that_looks_like_a_formula_is_inert_in_the_csv(personas):
    survey = make_csat_survey()
    answer(invite(survey, make_contact(emails=["f@example.com"])), 4, '=HYPERLINK("x")')
    headers, rows = selectors.export_rows(
        actor=personas["mo"], survey=survey, filters=selectors.Filters()
    )
    from rapport.customers.export import csv_chunks, inert

    out = "".join(csv_chunks(headers, rows))
    (row,) = list(csv.reader(io.StringIO(out.lstrip("\ufeff"))))[1:]
    assert row[-1] == inert('=HYPERLINK("x")') and not row[-1].startswith("=")


def test_the_case_and_contact_panels_show_the_answer(personas):
    from rapport.service.tests.factories import make_case

    sam = personas["sam"]
    ann = make_contact(full_name="Ann Panel", emails=["ann@example.com"])
    case = make_case(contact=ann, owner=sam)
    survey = make_csat_survey()
    answer(
        invite(survey, ann, touchpoint="case_resolved", object_kind="case", object_id=case.pk),
        2,
        "Took a week",
    )
    client = Client()
    client.force_login(sam)
    panel = client.get(reverse("surveys:case-panel", args=[case.pk]), HTTP_HX_REQUEST="true")
    assert (
        panel.status_code == 200
        and b"Took a week" in panel.content
        and b"<html" not in panel.content
    )
    contact = client.get(reverse("surveys:contact-panel", args=[ann.pk]))
    assert contact.status_code == 200 and b"Took a week" in contact.content
    detail = client.get(reverse("service:case-detail", args=[case.pk]))
    assert reverse("surveys:case-panel", args=[case.pk]).encode() in detail.content
