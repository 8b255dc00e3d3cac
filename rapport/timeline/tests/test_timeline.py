"""The timeline's core: recording entries, reading a record's timeline, notes, merges."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from conftest import actor
from rapport.core.errors import NotFound, PermissionDenied, ValidationFailed
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity import services as identity
from rapport.timeline import events, selectors, services
from rapport.timeline.models import Entry, EntryLink
from rapport.timeline.render import body_html


def _at(minutes: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def test_an_entry_lands_on_each_contact_and_on_their_accounts(personas):
    acme = make_account(name="Acme")
    ann = make_contact(account=acme)
    bob = make_contact()
    entry = events.record(
        kind="email", summary="Quote sent", contacts=[ann.pk, bob.pk], direction="out"
    )
    assert set(
        EntryLink.objects.filter(entry=entry).values_list("contact_id", "account_id", "role")
    ) == {
        (ann.pk, None, "about"),
        (bob.pk, None, "about"),
        (None, acme.pk, "via"),
    }
    assert entry.channel == "email"  # the kind's default


def test_the_same_message_delivered_twice_is_one_entry(personas):
    ann = make_contact()
    first = events.record(
        kind="email", summary="Hello", contacts=[ann.pk], source="imap", external_id="<abc@mail>"
    )
    again = events.record(
        kind="email", summary="Hello", contacts=[ann.pk], source="imap", external_id="<abc@mail>"
    )
    assert first.pk == again.pk and Entry.objects.count() == 1


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="register_kind"):
        events.record(kind="telepathy", summary="?", contacts=[])


def test_timeline_is_newest_first_in_pages_with_constant_queries(
    personas, django_assert_max_num_queries
):
    ann = make_contact()
    for i in range(30):
        events.record(
            kind="call" if i % 2 else "email",
            summary=f"touch {i}",
            contacts=[ann.pk],
            occurred_at=_at(i),
        )
    with django_assert_max_num_queries(8):
        page = selectors.timeline(actor=personas["alice"], kind="contact", pk=ann.pk, size=10)
        summaries = [link.entry.summary for link in page.items]
    assert summaries == [f"touch {i}" for i in range(10)]
    second = selectors.timeline(
        actor=personas["alice"], kind="contact", pk=ann.pk, size=10, cursor=page.next_cursor
    )
    assert [link.entry.summary for link in second.items] == [f"touch {i}" for i in range(10, 20)]
    calls = selectors.timeline(
        actor=personas["alice"],
        kind="contact",
        pk=ann.pk,
        filters=selectors.Filters(kinds=["call"]),
        size=50,
    )
    assert {link.entry.kind for link in calls.items} == {"call"} and len(calls.items) == 15
    found = selectors.timeline(
        actor=personas["alice"],
        kind="contact",
        pk=ann.pk,
        filters=selectors.Filters(q="touch 29"),
        size=50,
    )
    assert [link.entry.summary for link in found.items] == ["touch 29"]


def test_a_timeline_is_only_read_by_who_may_see_the_record(personas):
    theirs = make_contact(owner=personas["carl"])  # South team
    events.record(kind="note", summary="private", contacts=[theirs.pk])
    with pytest.raises(NotFound):
        selectors.timeline(actor=personas["bob"], kind="contact", pk=theirs.pk)
    entry = Entry.objects.get()
    with pytest.raises(NotFound):
        selectors.entry_get(actor=personas["bob"], pk=entry.pk)
    assert selectors.entry_get(actor=personas["carl"], pk=entry.pk) == entry


def test_a_note_is_rendered_with_its_formatting_and_without_any_script(personas):
    ann = make_contact()
    entry = services.note_add(
        actor=actor(personas["sam"]),
        kind="contact",
        pk=ann.pk,
        body="**Beta test**: liked it\n\n- fast\n- <script>alert(1)</script>\n\n[x](javascript:alert(2)) <img src=x onerror=alert(3)>",
    )
    html = body_html(entry)
    assert "<strong>Beta test</strong>" in html and "<li>fast</li>" in html
    assert (
        "<script" not in html
        and "javascript:" not in html
        and "onerror" not in html
        and "<img" not in html
    )
    assert (
        entry.summary == "Beta test: liked it"
        and entry.department == "service"
        and entry.staff == personas["sam"]
    )


def test_a_read_only_user_may_not_add_a_note_and_an_empty_note_is_refused(personas):
    ann = make_contact()
    with pytest.raises(PermissionDenied):
        services.note_add(actor=actor(personas["rita"]), kind="contact", pk=ann.pk, body="hello")
    with pytest.raises(ValidationFailed):
        services.note_add(actor=actor(personas["alice"]), kind="contact", pk=ann.pk, body="   ")
    assert not Entry.objects.exists()


def test_an_integration_posts_a_call_once_whatever_the_retries(personas):
    ann = make_contact()
    data = {
        "kind": "call",
        "summary": "Inbound call",
        "contacts": [ann.pk],
        "direction": "in",
        "duration_seconds": 95,
        "outcome": "resolved",
        "source": "pbx",
        "external_id": "call-17",
    }
    first = services.entry_add(actor=actor(personas["alice"], via="api"), data=data)
    second = services.entry_add(actor=actor(personas["alice"], via="api"), data=data)
    assert first.pk == second.pk and first.duration_seconds == 95 and first.channel == "phone"
    with pytest.raises(ValidationFailed) as caught:
        services.entry_add(
            actor=actor(personas["alice"]),
            data={"kind": "call", "summary": "", "direction": "sideways"},
        )
    assert {"summary", "direction", "contacts"} <= set(caught.value.errors)


def test_timeline_entries_follow_a_merge_and_come_back_on_unmerge(personas):
    a, b = make_contact(), make_contact()
    on_a = events.record(kind="call", summary="a's call", contacts=[a.pk])
    on_b = events.record(kind="email", summary="b's mail", contacts=[b.pk])
    both = events.record(kind="meeting", summary="met both", contacts=[a.pk, b.pk])
    merge = identity.records_merge(
        actor=actor(personas["stella"]), kind="contact", survivor_id=a.pk, merged_ids=[b.pk]
    )
    page = selectors.timeline(actor=personas["alice"], kind="contact", pk=a.pk, size=10)
    assert sorted(link.entry_id for link in page.items) == sorted(
        [on_a.pk, on_b.pk, both.pk]
    )  # each once
    identity.merge_undo(actor=actor(personas["stella"]), merge=merge)
    assert sorted(
        EntryLink.objects.filter(contact_id=b.pk).values_list("entry_id", flat=True)
    ) == sorted([on_b.pk, both.pk])
    assert sorted(
        EntryLink.objects.filter(contact_id=a.pk).values_list("entry_id", flat=True)
    ) == sorted([on_a.pk, both.pk])


@pytest.mark.parametrize(
    ("first_line", "title"),
    [
        ("**Renewal** call with _Anna_ about [the quote](https://example.com/q)", "Renewal call with Anna about the quote"),
        ("## Pricing & `API` access", "Pricing & API access"),
        ("- **Follow up** next week", "Follow up next week"),
    ],
)  # fmt: skip
def test_a_notes_title_is_the_plain_text_of_its_first_line(personas, first_line, title):
    ann = make_contact()
    entry = services.note_add(
        actor=actor(personas["alice"]), kind="contact", pk=ann.pk, body=f"{first_line}\n\nMore."
    )
    assert entry.summary == title
    assert "<strong>" in str(body_html(entry)) or "<code>" in str(body_html(entry))


def test_a_note_with_a_nul_is_refused_naming_the_body(personas):
    ann = make_contact()
    with pytest.raises(ValidationFailed) as exc:
        services.note_add(
            actor=actor(personas["alice"]), kind="contact", pk=ann.pk, body="Called\x00 back"
        )
    assert "control character" in exc.value.errors["body"][0]
    assert not Entry.objects.exists()


def test_an_integrations_entry_with_a_nul_is_refused_field_by_field(personas):
    ann = make_contact()
    with pytest.raises(ValidationFailed) as exc:
        services.entry_add(
            actor=actor(personas["alice"]),
            data={"kind": "call", "summary": "In\x00bound", "outcome": "ok\x01", "contacts": [ann.pk]},
        )
    assert set(exc.value.errors) == {"summary", "outcome"}
    assert not Entry.objects.exists()


def test_a_received_message_is_kept_without_its_control_characters(personas):
    ann = make_contact()
    entry = events.record(
        kind="email",
        summary="Sub\x00ject",
        body="Hello\x00 there\x0b\r\nBye",
        contacts=[ann.pk],
        data={"subject": "Sub\x00ject", "to": ["a\x00@example.com"]},
    )
    entry.refresh_from_db()
    assert (entry.summary, entry.body) == ("Subject", "Hello there\r\nBye")
    assert entry.data == {"subject": "Subject", "to": ["a@example.com"]}
