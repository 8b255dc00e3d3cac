"""The timeline over the API: a record's timeline, entries, notes and the phone screen pop."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from rapport.customers.models import AccountMembership
from rapport.customers.tests.factories import make_account, make_contact
from rapport.timeline import events
from rapport.timeline.models import Entry

API = "/api/v1"


def _at(minutes: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(minutes=minutes)


def _post(client, path, body):
    return client.post(f"{API}{path}", body, content_type="application/json")


def test_contact_timeline_is_newest_first_in_pages(personas, api_client):
    ann = make_contact(emails=["ann@acme.com"])
    for i in range(7):
        events.record(kind="call", summary=f"touch {i}", contacts=[ann.pk], occurred_at=_at(i))
    client = api_client("alice")
    first = client.get(f"{API}/contacts/{ann.pk}/timeline?size=3").json()
    assert [i["summary"] for i in first["items"]] == ["touch 0", "touch 1", "touch 2"]
    assert first["items"][0]["kind_label"] == "Call" and first["items"][0]["role"] == "about"
    seen = [i["summary"] for i in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"{API}/contacts/{ann.pk}/timeline", {"size": 3, "cursor": cursor})
        seen += [i["summary"] for i in page.json()["items"]]
        cursor = page.json()["next_cursor"]
    assert seen == [f"touch {i}" for i in range(7)]


def test_timeline_list_takes_a_constant_number_of_queries(
    personas, api_client, django_assert_max_num_queries
):
    ann = make_contact(emails=["ann@acme.com"])
    for i in range(40):
        events.record(kind="email", summary=f"mail {i}", contacts=[ann.pk], occurred_at=_at(i))
    client = api_client("alice")
    with django_assert_max_num_queries(6):
        response = client.get(f"{API}/contacts/{ann.pk}/timeline?size=40")
    assert len(response.json()["items"]) == 40


def test_timeline_filters_by_kind_channel_department_dates_and_words(personas, api_client):
    acme = make_account(name="Acme", domains=["acme.com"])
    ann = make_contact(emails=["ann@acme.com"], account=acme)
    events.record(kind="call", summary="Renewal call", contacts=[ann.pk], occurred_at=_at(10))
    events.record(
        kind="email",
        summary="Invoice",
        body="the pricing sheet",
        contacts=[ann.pk],
        occurred_at=_at(20),
        department="service",
    )
    events.record(kind="meeting", summary="Kick-off", contacts=[ann.pk], occurred_at=_at(60 * 48))
    client = api_client("alice")
    url = f"{API}/contacts/{ann.pk}/timeline"

    def summaries(**params):
        response = client.get(url, params)
        assert response.status_code == 200, response.content
        return [i["summary"] for i in response.json()["items"]]

    assert summaries(kind="call,email") == ["Renewal call", "Invoice"]
    assert client.get(f"{url}?kind=call&kind=meeting").json()["items"][1]["summary"] == "Kick-off"
    assert summaries(channel="phone") == ["Renewal call"]
    assert summaries(department="service") == ["Invoice"]
    assert summaries(since=_at(60).isoformat()) == ["Renewal call", "Invoice"]
    assert summaries(until=_at(60).isoformat()) == ["Kick-off"]
    assert summaries(q="PRICING") == ["Invoice"]
    # The account shows its people's touches, marked as coming through them.
    items = client.get(f"{API}/accounts/{acme.pk}/timeline").json()["items"]
    assert [(i["summary"], i["role"]) for i in items][0] == ("Renewal call", "via")
    bad = client.get(url, {"channel": "pigeon"})
    assert bad.status_code == 422 and "channel" in bad.json()["errors"]


def test_timeline_size_is_capped_at_100(personas, api_client):
    ann = make_contact(emails=["ann@acme.com"])
    response = api_client("alice").get(f"{API}/contacts/{ann.pk}/timeline?size=101")
    assert response.status_code == 422 and "size" in response.json()["errors"]


def test_a_sales_rep_gets_404_for_another_teams_contact_timeline(personas, api_client):
    theirs = make_contact(owner=personas["carl"], emails=["zed@acme.com"])
    ours = make_contact(owner=personas["brenda"], emails=["amy@acme.com"])
    client = api_client("bob")
    assert client.get(f"{API}/contacts/{theirs.pk}/timeline").status_code == 404
    assert client.get(f"{API}/contacts/{ours.pk}/timeline").status_code == 200
    entry = events.record(kind="call", summary="Private", contacts=[theirs.pk])
    assert client.get(f"{API}/timeline/entries/{entry.pk}").status_code == 404


def test_posting_an_entry_twice_with_one_external_id_makes_one_entry(personas, api_client):
    ann = make_contact(owner=personas["bob"], emails=["ann@acme.com"])
    body = {
        "kind": "call",
        "summary": "Inbound call",
        "contacts": [ann.pk],
        "direction": "in",
        "duration_seconds": 95,
        "outcome": "answered",
        "source": "pbx",
        "external_id": "call-1234",
    }
    client = api_client("bob")
    first = _post(client, "/timeline/entries", body)
    assert first.status_code == 201, first.content
    entry = first.json()
    assert first["Location"] == f"{API}/timeline/entries/{entry['id']}"
    assert entry["staff"] == "bob" and entry["channel"] == "phone"
    assert entry["duration_seconds"] == 95 and entry["source"] == "pbx"
    again = _post(client, "/timeline/entries", body)
    assert again.status_code == 200 and again.json()["id"] == entry["id"]
    assert Entry.objects.count() == 1
    read = client.get(f"{API}/timeline/entries/{entry['id']}")
    assert read.status_code == 200 and read.json()["summary"] == "Inbound call"


def test_an_invalid_entry_is_422_naming_the_fields(personas, api_client):
    client = api_client("alice")
    response = _post(
        client, "/timeline/entries", {"kind": "telepathy", "summary": " ", "channel": "pigeon"}
    )
    assert response.status_code == 422
    assert {"kind", "summary", "channel", "contacts"} <= set(response.json()["errors"])
    unknown = _post(client, "/timeline/entries", {"kind": "call", "summary": "x", "mood": "ok"})
    assert unknown.status_code == 422 and "mood" in unknown.json()["errors"]
    assert Entry.objects.count() == 0


def test_a_note_is_posted_and_its_html_runs_no_script(personas, api_client):
    acme = make_account(name="Acme", domains=["acme.com"])
    ann = make_contact(emails=["ann@acme.com"])
    client = api_client("alice")
    response = _post(
        client,
        f"/contacts/{ann.pk}/notes",
        {"body": "**Wants** a demo <script>alert(1)</script>"},
    )
    assert response.status_code == 201, response.content
    note = response.json()
    assert note["kind"] == "note" and note["staff"] == "alice"
    assert "<strong>Wants</strong>" in note["body_html"]
    assert "<script" not in note["body_html"] and "<script>" in note["body"]
    listed = client.get(f"{API}/contacts/{ann.pk}/timeline").json()["items"]
    assert [i["id"] for i in listed] == [note["id"]]
    on_account = _post(client, f"/accounts/{acme.pk}/notes", {"body": "Budget approved"})
    assert on_account.status_code == 201 and on_account.json()["summary"] == "Budget approved"
    empty = _post(client, f"/contacts/{ann.pk}/notes", {"body": "  "})
    assert empty.status_code == 422 and "body" in empty.json()["errors"]


def test_a_read_only_user_cannot_post_a_note(personas, api_client):
    ann = make_contact(emails=["ann@acme.com"])
    response = _post(api_client("rita"), f"/contacts/{ann.pk}/notes", {"body": "Hello"})
    assert response.status_code == 403
    assert Entry.objects.count() == 0


def _caller():
    acme = make_account(name="Acme", domains=["acme.com"])
    ann = make_contact(
        full_name="Ann Archer", emails=["ann@acme.com"], phones=["+44 20 7946 0958"], account=acme
    )
    AccountMembership.objects.filter(contact=ann, account=acme).update(
        buying_role="decision_maker", rank=1
    )
    for i in range(7):
        events.record(kind="call", summary=f"call {i}", contacts=[ann.pk], occurred_at=_at(i))
    make_contact(full_name="Someone Else", emails=["else@acme.com"], phones=["+44 20 7946 0000"])
    return acme, ann


def test_lookup_finds_the_caller_however_the_number_is_typed(personas, api_client):
    acme, ann = _caller()
    client = api_client("alice")
    for params in ({"phone": "020 7946 0958", "region": "GB"}, {"phone": "+44 (0)20 7946 0958"}):
        response = client.get(f"{API}/lookup", params)
        assert response.status_code == 200, response.content
        found = response.json()
        assert found["phone"] == "+442079460958"
        assert [c["id"] for c in found["contacts"]] == [ann.pk]
        contact = found["contacts"][0]
        assert contact["full_name"] == "Ann Archer"
        assert contact["accounts"] == [
            {
                "account_id": acme.pk,
                "account_name": "Acme",
                "is_primary": True,
                "buying_role": "decision_maker",
                "rank": 1,
            }
        ]
        assert [e["summary"] for e in contact["entries"]] == [f"call {i}" for i in range(5)]


def test_lookup_reads_a_national_number_in_the_callers_region(personas, api_client):
    ann = make_contact(emails=["ann@acme.com"], phones=["+1 202 555 0143"])
    found = api_client("alice").get(f"{API}/lookup", {"phone": "(202) 555-0143", "region": "US"})
    assert [c["id"] for c in found.json()["contacts"]] == [ann.pk]


def test_lookup_returns_nothing_for_an_unknown_number(personas, api_client):
    _caller()
    response = api_client("alice").get(f"{API}/lookup", {"phone": "+44 20 7946 0123"})
    assert response.status_code == 200
    assert response.json()["contacts"] == [] and response.json()["accounts"] == []


def test_lookup_shows_only_records_the_caller_may_see(personas, api_client):
    make_contact(owner=personas["carl"], emails=["zed@acme.com"], phones=["+44 20 7946 0958"])
    found = api_client("bob").get(f"{API}/lookup", {"phone": "+44 20 7946 0958"})
    assert found.status_code == 200 and found.json()["contacts"] == []


def test_lookup_finds_accounts_and_contacts_by_email(personas, api_client):
    acme = make_account(name="Acme", domains=["acme.com"], phone="+44 20 7946 0001", country="GB")
    ann = make_contact(emails=["ann@acme.com"])
    client = api_client("alice")
    by_phone = client.get(f"{API}/lookup", {"phone": "020 7946 0001"}).json()
    assert [a["id"] for a in by_phone["accounts"]] == [acme.pk]
    by_email = client.get(f"{API}/lookup", {"q": "Ann@Acme.com"}).json()
    assert [c["id"] for c in by_email["contacts"]] == [ann.pk]
    assert client.get(f"{API}/lookup").status_code == 422


def test_lookup_takes_a_constant_number_of_queries_per_contact(
    personas, api_client, django_assert_max_num_queries
):
    acme = make_account(name="Acme", domains=["acme.com"])
    globex = make_account(name="Globex", domains=["globex.com"])
    for n in range(4):
        person = make_contact(emails=[f"p{n}@acme.com"], phones=["+44 20 7946 0958"], account=acme)
        AccountMembership.objects.create(contact=person, account=globex)
        for i in range(6):
            events.record(kind="call", summary=f"call {i}", contacts=[person.pk])
    client = api_client("alice")
    # A few for the request, one per open-items provider (proposals), then three per
    # contact: its visibility, its page, attachments.
    with django_assert_max_num_queries(7 + 3 * 4):
        response = client.get(f"{API}/lookup", {"phone": "+44 20 7946 0958"})
    assert len(response.json()["contacts"]) == 4


def test_the_openapi_schema_lists_the_timeline_paths(personas, api_client):
    paths = api_client("alice").get(f"{API}/openapi.json").json()["paths"]
    for path in (
        "/api/v1/contacts/{contact_id}/timeline",
        "/api/v1/accounts/{account_id}/timeline",
        "/api/v1/timeline/entries",
        "/api/v1/timeline/entries/{entry_id}",
        "/api/v1/contacts/{contact_id}/notes",
        "/api/v1/accounts/{account_id}/notes",
        "/api/v1/lookup",
    ):
        assert path in paths, path
    listing = paths["/api/v1/contacts/{contact_id}/timeline"]["get"]["responses"]["200"]
    assert "TimelinePage" in str(listing)


def test_an_entry_posted_with_a_nul_in_its_summary_is_refused(personas, api_client):
    ann = make_contact(owner=personas["bob"], emails=["ann@acme.com"])
    response = _post(
        api_client("bob"),
        "/timeline/entries",
        {"kind": "call", "summary": "In\u0000bound call", "contacts": [ann.pk]},
    )
    assert response.status_code == 422 and "control character" in response.json()["errors"]["summary"][0]
    assert not Entry.objects.exists()
