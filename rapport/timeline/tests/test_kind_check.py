"""The system check that every declared kind of timeline entry is registered."""

from rapport.ingest.capture import events as capture_events
from rapport.ingest.mail import events as mail_events
from rapport.timeline import events
from rapport.timeline.checks import check_timeline_kinds, events_modules


def test_the_apps_events_modules_are_found_and_their_kinds_registered():
    names = {m.__name__ for m in events_modules()}
    assert {
        "rapport.ingest.mail.events",
        "rapport.ingest.capture.events",
        "rapport.timeline.events",
    } <= names
    assert check_timeline_kinds() == []
    assert (
        events.KINDS["email"] == mail_events.EMAIL and events.KINDS["card"] == capture_events.CARD
    )


def test_a_declared_kind_left_unregistered_fails_the_check(monkeypatch):
    monkeypatch.delitem(events.KINDS, "card")
    errors = check_timeline_kinds()
    assert [(e.id, e.obj) for e in errors] == [("timeline.E001", "rapport.ingest.capture.events")]
    assert "'card'" in errors[0].msg
