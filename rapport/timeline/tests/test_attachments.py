"""E-mail attachments are downloads, only for those who may see a record the entry is on."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from django.urls import reverse

from rapport.audit.services import Actor
from rapport.customers.tests.factories import make_contact
from rapport.ingest.mail import services as mail
from rapport.timeline.models import Entry

HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"
PDF = b"%PDF-1.4\n% a quote\n%%EOF\n"


@pytest.fixture
def entry(personas) -> Entry:
    make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],
    )
    msg = EmailMessage()
    msg["From"] = "jane.whitfield@acmewidgets.co.uk"
    msg["To"] = "bob@example.org"
    msg["Subject"] = "Quote"
    msg["Message-ID"] = "<quote-1@acmewidgets.co.uk>"
    msg.set_content("Quote attached.")
    msg.add_attachment(
        b"name,qty\nchair,40\n", maintype="text", subtype="csv", filename="seats.csv"
    )
    msg.add_attachment(HTML, maintype="text", subtype="html", filename="page.html")
    _, result = mail.receive(msg.as_bytes(), actor=Actor(user=None, via="system"))
    assert result.entry is not None
    return result.entry


def _url(entry: Entry, name: str) -> str:
    att = entry.attachments.get(name=name)
    return reverse("timeline:attachment", args=[entry.pk, att.pk])


def test_someone_who_sees_the_contact_downloads_the_file_as_an_attachment(client, personas, entry):
    client.force_login(personas["brenda"])  # bob's team
    response = client.get(_url(entry, "seats.csv"))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"name,qty\nchair,40\n"
    assert response["Content-Disposition"] == 'attachment; filename="seats.csv"'
    assert response["Content-Type"] == "text/csv"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_html_is_never_served_as_html(client, personas, entry):
    client.force_login(personas["bob"])
    response = client.get(_url(entry, "page.html"))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in response["Content-Security-Policy"]


def test_someone_who_cannot_see_the_contact_gets_404(client, personas, entry):
    client.force_login(personas["carl"])  # the other team
    assert client.get(_url(entry, "seats.csv")).status_code == 404


def test_an_attachment_id_that_is_not_the_entrys_is_404(client, personas, entry):
    client.force_login(personas["bob"])
    att = entry.attachments.get(name="seats.csv")
    response = client.get(reverse("timeline:attachment", args=[entry.pk, att.pk + 999]))
    assert response.status_code == 404


def test_the_timeline_links_each_attachment(client, personas, entry):
    client.force_login(personas["bob"])
    contact_id = entry.links.get().contact_id
    page = client.get(reverse("timeline:contact-panel", args=[contact_id]))
    assert _url(entry, "seats.csv") in page.content.decode()


def test_the_api_serves_the_same_download_with_the_same_rule(api_client, entry):
    att = entry.attachments.get(name="seats.csv")
    path = f"/api/v1/timeline/entries/{entry.pk}/attachments/{att.pk}"
    ok = api_client("bob").get(path)
    assert ok.status_code == 200
    assert b"".join(ok.streaming_content) == b"name,qty\nchair,40\n"
    assert ok["Content-Disposition"] == 'attachment; filename="seats.csv"'
    assert ok["X-Content-Type-Options"] == "nosniff"
    assert api_client("carl").get(path).status_code == 404
    listed = api_client("bob").get(f"/api/v1/timeline/entries/{entry.pk}").json()
    assert {"id": att.pk, "name": "seats.csv", "url": path}.items() <= listed["attachments"][
        0
    ].items()
