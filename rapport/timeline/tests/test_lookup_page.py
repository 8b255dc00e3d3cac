"""The agent's "who is calling" page and the quick call log."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from rapport.customers.tests.factories import make_account, make_contact
from rapport.timeline import events
from rapport.timeline.models import Entry


def test_an_agent_types_a_number_and_sees_who_it_is_with_todays_touch_first(client, personas):
    acme = make_account(name="Acme")
    ann = make_contact(
        given_name="Ann", family_name="Lee", phones=["+44 20 7946 0958"], account=acme
    )
    events.record(
        kind="email",
        summary="Old quote",
        contacts=[ann.pk],
        occurred_at=timezone.now() - dt.timedelta(days=3),
    )
    events.record(
        kind="email", summary="Invoice sent this morning", contacts=[ann.pk], direction="out"
    )
    client.force_login(personas["sam"])
    page = client.get("/lookup/", {"q": "020 7946 0958", "region": "GB"}).content.decode()
    assert "Ann Lee" in page and "Acme" in page
    assert page.index("Invoice sent this morning") < page.index("Old quote")
    assert "Earlier today" in page and "Log this call" in page
    nobody = client.get("/lookup/", {"q": "+44 20 7946 0000"}).content.decode()
    assert "Nobody you may see" in nobody and "Ann Lee" not in nobody


def test_a_call_logged_from_the_pop_lands_on_the_timeline(client, personas):
    ann = make_contact(given_name="Ann", family_name="Lee", phones=["+44 20 7946 0958"])
    client.force_login(personas["sam"])
    response = client.post(
        f"/contacts/{ann.pk}/calls/",
        {
            "direction": "in",
            "minutes": "2.5",
            "outcome": "resolved",
            "notes": "Asked about <b>invoice</b>",
            "q": "02079460958",
            "region": "GB",
        },
    )
    assert response.status_code == 302 and "/lookup/?q=02079460958" in response["Location"]
    call = Entry.objects.get(kind="call")
    assert (call.direction, call.duration_seconds, call.outcome, call.staff) == (
        "in",
        150,
        "resolved",
        personas["sam"],
    )
    assert call.summary == "Inbound call: resolved"
    page = client.get("/lookup/", {"q": "02079460958", "region": "GB"}).content.decode()
    assert "Inbound call: resolved" in page and "<b>invoice</b>" not in page


def test_who_may_not_change_contacts_cannot_log_and_sees_only_their_records(client, personas):
    theirs = make_contact(
        given_name="Carl's",
        family_name="Client",
        phones=["+44 20 7946 0959"],
        owner=personas["carl"],
    )
    client.force_login(personas["bob"])  # North team
    assert "Client" not in client.get("/lookup/", {"q": "+44 20 7946 0959"}).content.decode()
    client.force_login(personas["rita"])
    page = client.get("/lookup/", {"q": "+44 20 7946 0959"}).content.decode()
    assert "Client" in page and "Log this call" not in page
    assert (
        client.post(
            f"/contacts/{theirs.pk}/calls/", {"direction": "in", "minutes": "1"}
        ).status_code
        == 403
    )
    assert not Entry.objects.exists()
