"""The timeline panel on a contact's and an account's page, and adding a note there."""

from __future__ import annotations

import datetime as dt
import html
import re

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from rapport.customers.tests.factories import make_account, make_contact
from rapport.timeline import events
from rapport.timeline.models import Attachment, Entry

HTMX = {"HX-Request": "true"}


def _panel_url(kind: str, pk: int) -> str:
    return reverse(f"timeline:{kind}-panel", args=[pk])


def _note_url(kind: str, pk: int) -> str:
    return reverse(f"timeline:{kind}-note-add", args=[pk])


def _ago(**delta: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(**delta)


def _summaries(page: str) -> list[str]:
    return re.findall(r'<p class="tl-summary">([^<]*)</p>', page)


def _more_url(page: str) -> str:
    found = re.search(r'class="tl-more"><a class="btn" href="([^"]+)"', page)
    assert found, "no Show older link"
    return html.unescape(found.group(1))


def test_the_panel_lists_entries_newest_first_with_todays_under_earlier_today(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    events.record(kind="email", summary="Old quote", contacts=[ann.pk], occurred_at=_ago(days=3))
    events.record(
        kind="call", summary="Morning call", contacts=[ann.pk], occurred_at=_ago(seconds=20)
    )
    events.record(kind="meeting", summary="Kick-off", contacts=[ann.pk], occurred_at=_ago(days=10))
    events.record(kind="note", summary="Just now", contacts=[ann.pk], occurred_at=_ago(seconds=5))
    client.force_login(personas["alice"])

    page = client.get(_panel_url("contact", ann.pk), headers=HTMX).content.decode()

    assert _summaries(page) == ["Just now", "Morning call", "Old quote", "Kick-off"]
    today, older = page.split("Earlier today", 1)[1].split('class="tl-day"', 1)
    assert "Just now" in today and "Morning call" in today and "Old quote" not in today
    three_days_ago = timezone.localtime(_ago(days=3)).date()
    assert f"{three_days_ago:%A} {three_days_ago.day} {three_days_ago:%B %Y}" in older
    assert "<html" not in page  # the fragment, for htmx


def test_the_panel_without_htmx_is_a_whole_page_with_the_records_name(client, personas):
    acme = make_account(name="Acme Corp", domains=["acme.com"])
    ann = make_contact(emails=["ann@acme.com"], account=acme)
    events.record(kind="email", summary="Quote sent", contacts=[ann.pk], direction="out")
    client.force_login(personas["alice"])

    page = client.get(_panel_url("account", acme.pk)).content.decode()

    assert "<html" in page and "Timeline of Acme Corp" in page
    assert _summaries(page) == ["Quote sent"]  # a contact's touch is on its account's timeline
    assert "E-mail · outbound" in page


def test_the_filter_form_narrows_the_panel_to_one_kind(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    for i in range(4):
        events.record(
            kind="call" if i % 2 else "email",
            summary=f"touch {i}",
            contacts=[ann.pk],
            occurred_at=_ago(hours=i),
        )
    client.force_login(personas["alice"])

    page = client.get(
        _panel_url("contact", ann.pk), {"kind": "call"}, headers=HTMX
    ).content.decode()

    assert _summaries(page) == ["touch 1", "touch 3"]
    assert '<option value="call" selected>' in page


def test_show_older_loads_the_next_page_by_cursor_keeping_the_filters(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    for i in range(30):
        events.record(
            kind="call", summary=f"call {i}", contacts=[ann.pk], occurred_at=_ago(hours=i)
        )
    events.record(kind="email", summary="an e-mail", contacts=[ann.pk], occurred_at=_ago(hours=40))
    client.force_login(personas["alice"])

    first = client.get(
        _panel_url("contact", ann.pk), {"kind": "call"}, headers=HTMX
    ).content.decode()
    assert _summaries(first) == [f"call {i}" for i in range(25)]
    more = _more_url(first)
    assert "cursor=" in more and "kind=call" in more

    second = client.get(more, headers=HTMX).content.decode()

    assert _summaries(second) == [f"call {i}" for i in range(25, 30)]
    assert 'id="timeline"' not in second  # only the entries, appended in place of the button
    assert "tl-more" not in second  # the last page


def test_a_note_by_service_comes_first_with_its_formatting_and_no_script(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    events.record(
        kind="call", summary="Earlier call", contacts=[ann.pk], occurred_at=_ago(minutes=5)
    )
    client.force_login(personas["sam"])
    body = "Was **very** happy with the beta\n\n<script>alert('x')</script>"

    response = client.post(_note_url("contact", ann.pk), {"body": body}, headers=HTMX)

    page = response.content.decode()
    assert response.status_code == 200
    assert _summaries(page)[0] == "Was very happy with the beta"
    assert _summaries(page)[1] == "Earlier call"
    assert "<strong>very</strong>" in page
    assert "<script>alert" not in page
    note = Entry.objects.get(kind="note")
    assert note.staff == personas["sam"] and note.department == "service"


def test_a_note_without_javascript_redirects_to_the_panel(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    client.force_login(personas["sam"])

    response = client.post(_note_url("contact", ann.pk), {"body": "Called back"})

    assert response.status_code == 302 and response["Location"] == _panel_url("contact", ann.pk)
    assert Entry.objects.filter(kind="note", summary="Called back").exists()


def test_an_empty_note_shows_the_error_next_to_the_textarea(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    client.force_login(personas["sam"])

    response = client.post(_note_url("contact", ann.pk), {"body": "   "}, headers=HTMX)

    assert response.status_code == 422
    page = response.content.decode()
    assert re.search(r'<textarea id="tl-note-body"[^>]*aria-invalid="true"', page)
    assert '<p class="error" id="tl-note-error">Write the note.</p>' in page
    assert not Entry.objects.exists()


def test_read_only_sees_no_note_form_and_may_not_post_one(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    client.force_login(personas["rita"])

    page = client.get(_panel_url("contact", ann.pk), headers=HTMX)
    posted = client.post(_note_url("contact", ann.pk), {"body": "hello"}, headers=HTMX)

    assert page.status_code == 200 and 'name="body"' not in page.content.decode()
    assert posted.status_code == 403
    assert not Entry.objects.exists()


def test_sales_in_another_team_gets_404_for_the_panel_and_the_note(client, personas):
    theirs = make_contact(owner=personas["carl"], emails=["ann@acme.com"])  # South team
    client.force_login(personas["bob"])  # North team

    assert client.get(_panel_url("contact", theirs.pk)).status_code == 404
    assert client.post(_note_url("contact", theirs.pk), {"body": "hi"}).status_code == 404
    assert not Entry.objects.exists()


def test_the_sales_owner_sees_the_note_form(client, personas):
    mine = make_contact(owner=personas["bob"], emails=["ann@acme.com"])
    client.force_login(personas["bob"])

    page = client.get(_panel_url("contact", mine.pk), headers=HTMX).content.decode()

    assert f'hx-post="{_note_url("contact", mine.pk)}"' in page
    assert "**bold**, *italic*, lists, links" in page


def test_the_record_pages_load_the_panel_after_the_page(client, personas):
    acme = make_account(domains=["acme.com"])
    ann = make_contact(emails=["ann@acme.com"], account=acme)
    client.force_login(personas["alice"])

    contact_page = client.get(reverse("customers:contact-detail", args=[ann.pk])).content.decode()
    account_page = client.get(reverse("customers:account-detail", args=[acme.pk])).content.decode()

    assert f'hx-get="{_panel_url("contact", ann.pk)}" hx-trigger="load"' in contact_page
    assert f'href="{_panel_url("contact", ann.pk)}"' in contact_page  # without JavaScript
    assert f'hx-get="{_panel_url("account", acme.pk)}" hx-trigger="load"' in account_page


def test_a_long_body_is_folded_and_attachments_are_listed(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    entry = events.record(kind="email", summary="Long", contacts=[ann.pk], body="word " * 300)
    Attachment.objects.create(entry=entry, file="timeline/quote.pdf", name="quote.pdf", size=2048)
    client.force_login(personas["alice"])

    page = client.get(_panel_url("contact", ann.pk), headers=HTMX).content.decode()

    assert '<details class="tl-fold">' in page
    assert "quote.pdf" in page


def _fill(contact_pk: int, n: int, staff: list) -> None:
    for i in range(n):
        entry = events.record(
            kind="call" if i % 2 else "note",
            summary=f"touch {i}",
            contacts=[contact_pk],
            staff=staff[i % len(staff)],
            body=f"**point** {i}",
            body_format="markdown" if i % 2 == 0 else "text",
            occurred_at=_ago(hours=i * 7),
        )
        Attachment.objects.create(entry=entry, file=f"timeline/{i}.pdf", name=f"{i}.pdf")


def test_the_panel_takes_as_many_queries_for_30_entries_as_for_5(
    client, personas, django_assert_max_num_queries
):
    staff = [personas[n] for n in ("alice", "sam", "mo", "bob")]
    few, many = make_contact(emails=["few@acme.com"]), make_contact(emails=["many@acme.com"])
    _fill(few.pk, 5, staff)
    _fill(many.pk, 30, staff)
    client.force_login(personas["alice"])
    client.get(_panel_url("contact", few.pk), headers=HTMX)  # warm the session and caches

    with CaptureQueriesContext(connection) as baseline:
        assert (
            len(
                _summaries(client.get(_panel_url("contact", few.pk), headers=HTMX).content.decode())
            )
            == 5
        )
    # Two queries of slack: the session may be saved on one request and not the other;
    # a query per entry would add 25.
    with django_assert_max_num_queries(len(baseline.captured_queries) + 2):
        page = client.get(_panel_url("contact", many.pk), headers=HTMX).content.decode()
    assert len(_summaries(page)) == 25 and "24.pdf" in page


def test_a_calls_duration_shows_on_its_timeline_entry(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    events.record(kind="call", summary="Renewal call", contacts=[ann.pk], duration_seconds=720)
    events.record(kind="call", summary="Missed call", contacts=[ann.pk], occurred_at=_ago(minutes=1))
    client.force_login(personas["sam"])

    page = client.get(_panel_url("contact", ann.pk), headers=HTMX).content.decode()

    assert page.count('class="tl-duration"') == 1
    assert '<span class="tl-duration" title="Duration">12 min</span>' in page


def test_a_call_logged_on_the_web_shows_the_minutes_typed(client, personas):
    ann = make_contact(given_name="Ann", family_name="Lee", phones=["+44 20 7946 0958"])
    client.force_login(personas["sam"])
    client.post(f"/contacts/{ann.pk}/calls/", {"direction": "out", "minutes": "65", "outcome": ""})

    page = client.get(_panel_url("contact", ann.pk), headers=HTMX).content.decode()

    assert '<span class="tl-duration" title="Duration">1 h 5 min</span>' in page


def test_durations_are_written_in_seconds_minutes_or_hours():
    from rapport.timeline.views import duration_text

    assert [duration_text(s) for s in (None, 0, 45, 95, 720, 3600, 3900)] == [
        "", "", "45 s", "2 min", "12 min", "1 h", "1 h 5 min",
    ]  # fmt: skip


def test_a_note_with_a_nul_shows_the_error_and_saves_nothing(client, personas):
    ann = make_contact(emails=["ann@acme.com"])
    client.force_login(personas["sam"])

    response = client.post(_note_url("contact", ann.pk), {"body": "Hi\x00"}, headers=HTMX)

    assert response.status_code == 422
    assert "control character (NUL, U+0000)" in response.content.decode()
    assert not Entry.objects.exists()
