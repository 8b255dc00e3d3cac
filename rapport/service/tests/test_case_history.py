"""A long case's page shows its latest messages and asks for the earlier ones: each window
of the history holds every message and status change once, escaped, for the case's
agents only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import actor
from rapport.service import selectors, services
from rapport.service.tests.factories import make_case
from rapport.service.tests.test_views import _client, desk, nora  # noqa: F401
from rapport.users.models import Team, User

pytestmark = pytest.mark.django_db
LATEST = selectors.THREAD_LATEST


@pytest.fixture
def long_case(personas, desk, nora):  # noqa: F811
    sam = personas["sam"]
    case = make_case(contact=nora, actor=actor(sam), subject="Long one")
    for i in range(LATEST + 12):
        services.case_note_add(actor=actor(sam), case=case, body=f"Note number {i:03d}")
        if i == 5:
            services.case_status_change(actor=actor(sam), case=case, status="waiting_customer")
        if i == LATEST + 5:
            services.case_status_change(actor=actor(sam), case=case, status="open")
    return case


def test_the_case_page_shows_the_latest_messages_and_a_way_to_the_earlier(personas, long_case):
    body = _client(personas["sam"]).get(reverse("service:case-detail", args=[long_case.pk]))
    text = body.content.decode()
    shown = [i for i in range(LATEST + 12) if f"Note number {i:03d}" in text]
    assert shown == list(range(12, LATEST + 12))
    assert "Show earlier history" in text
    history = reverse("service:case-history", args=[long_case.pk])
    assert f'hx-get="{history}?before=' in text
    assert "?all=1" in text  # without JavaScript: the whole history


def test_the_earlier_history_holds_every_item_not_shown_once(personas, long_case):
    sam = personas["sam"]
    first = selectors.case_detail(actor=sam, pk=long_case.pk)
    earlier = selectors.case_history_before(
        actor=sam, pk=long_case.pk, before=first.earlier_before or 0
    )
    assert earlier.earlier_before is None  # the 12 earlier ones fit in one window
    everything = selectors.case_detail(actor=sam, pk=long_case.pk, latest=None)

    def key(item):
        return ("m", item.message.pk) if item.message else ("c", item.change.pk)

    windows = [key(i) for i in earlier.thread] + [key(i) for i in first.thread]
    assert windows == [key(i) for i in everything.thread]
    assert len(set(windows)) == len(windows)

    response = _client(sam).get(
        reverse("service:case-history", args=[long_case.pk]), {"before": first.earlier_before}
    )
    text = response.content.decode()
    assert "Note number 000" in text and "Note number 011" in text
    assert "Note number 012" not in text and "Show earlier history" not in text
    assert "Waiting on customer" in text  # the status change among the earlier messages


def test_the_whole_history_without_javascript(personas, long_case):
    url = reverse("service:case-detail", args=[long_case.pk])
    text = _client(personas["sam"]).get(url, {"all": "1"}).content.decode()
    assert all(f"Note number {i:03d}" in text for i in range(LATEST + 12))
    assert "Show earlier history" not in text


def test_the_earlier_history_is_escaped_and_only_for_the_cases_agents(personas, desk, nora):  # noqa: F811
    sam = personas["sam"]
    case = make_case(contact=nora, actor=actor(sam), subject="Tricky")
    services.case_note_add(actor=actor(sam), case=case, body="<script>alert(1)</script>")
    for i in range(LATEST):
        services.case_note_add(actor=actor(sam), case=case, body=f"Later {i}")
    before = selectors.case_detail(actor=sam, pk=case.pk).earlier_before
    url = reverse("service:case-history", args=[case.pk])
    text = _client(sam).get(url, {"before": before}).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text and "<script>alert" not in text

    outsider = User.objects.create_user(username="otto", role="service")
    outsider.teams.add(Team.objects.create(name="Elsewhere"))
    assert _client(outsider).get(url, {"before": before}).status_code == 404
    assert _client(sam).get(url, {"before": "x"}).status_code == 404
