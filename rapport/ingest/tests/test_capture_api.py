"""The capture endpoints: vCard files, card photos (read only) and mail files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.customers.models import AccountMembership, Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.tests.test_capture_views import BIG, TWO_CARDS, mail_bytes
from rapport.ingest.tests.test_cardocr import SPECIMENS, render
from rapport.timeline.models import Entry

API = "/api/v1"
PROBLEM = "application/problem+json"


def test_a_vcard_file_as_multipart_gives_per_card_results(api_client, personas):
    northwind = make_account(name="Northwind Traders", owner=personas["bob"])
    response = api_client("bob").post(
        f"{API}/capture/vcard",
        {"file": SimpleUploadedFile("c.vcf", TWO_CARDS), "event": "Expo", "on_duplicate": "skip"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["created"], body["updated"], body["skipped"]) == (2, 0, 0)
    robert = body["results"][0]
    assert robert["name"] == "Robert Kline" and robert["outcome"] == "created"
    assert (robert["account_id"], robert["account_how"]) == (northwind.pk, "name")
    assert body["results"][1]["proposed_account"] == ""
    assert body["problems"] == [
        {"position": 2, "line": 9, "message": "card 2 (line 9): The card has no name (N or FN)."}
    ]
    entry = Entry.objects.get(pk=robert["entry_id"])
    assert entry.summary == "Card collected at Expo"


def test_a_vcard_as_the_body_and_update_on_duplicate(api_client, personas):
    existing = make_contact(
        given_name="Robert",
        family_name="Kline",
        emails=["rkline@northwind.com"],
        owner=personas["bob"],
    )
    response = api_client("bob").post(
        f"{API}/capture/vcard?on_duplicate=update", data=TWO_CARDS, content_type="text/vcard"
    )
    assert response.status_code == 200
    first = response.json()["results"][0]
    assert (first["outcome"], first["contact_id"], first["duplicate_of"]) == (
        "updated",
        existing.pk,
        existing.pk,
    )
    assert existing.phones.filter(e164="+12127365000").exists()


def test_vcard_errors_are_problems(api_client, settings):
    client = api_client("bob")
    bad_choice = client.post(
        f"{API}/capture/vcard?on_duplicate=merge", data=TWO_CARDS, content_type="text/vcard"
    )
    assert bad_choice.status_code == 422 and bad_choice["Content-Type"] == PROBLEM
    assert "on_duplicate" in bad_choice.json()["errors"]
    wrong_type = client.post(f"{API}/capture/vcard", data=b"{}", content_type="application/json")
    assert wrong_type.status_code == 422
    assert "text/vcard" in wrong_type.json()["detail"]
    settings.RAPPORT_VCARD_UPLOAD_MAX_BYTES = 100
    big = client.post(f"{API}/capture/vcard", {"file": SimpleUploadedFile("c.vcf", TWO_CARDS)})
    assert big.status_code == 413 and big["Content-Type"] == PROBLEM
    assert "c.vcf is" in big.json()["detail"]


def test_a_card_photo_gives_text_and_fields_and_saves_nothing(api_client, personas):
    acme = make_account(name="Acme UK", domains=["acmewidgets.co.uk"], owner=personas["bob"])
    jane = SPECIMENS[0]
    response = api_client("bob").post(
        f"{API}/capture/card-image",
        {"image": SimpleUploadedFile("card.png", render(jane), content_type="image/png")},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert "Acme Widgets Ltd" in body["text"]
    fields = body["fields"]
    assert (fields["given_name"], fields["family_name"]) == ("Jane", "Whitfield")
    assert fields["emails"] == [jane.email]
    assert fields["phones"][0]["e164"] == jane.e164
    assert fields["address"]["postcode"] == "NW1 6XE"
    assert fields["sources"]["company"] == "Acme Widgets Ltd"
    assert body["account"] == {
        "account_id": acme.pk,
        "account_name": "Acme UK",
        "how": "domain",
        "proposed": "",
    }
    assert (body["width"], body["height"]) == (1050, 600)
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("noise.png", b"\x89PNX" + b"\x07" * 3000, "not an image Rapport can read"),
        ("cut.jpg", render(SPECIMENS[0], fmt="JPEG")[:4000], "damaged or incomplete"),
    ],
)
def test_an_unreadable_photo_is_a_422_problem_naming_the_file(api_client, name, data, reason):
    response = api_client("bob").post(
        f"{API}/capture/card-image", {"image": SimpleUploadedFile(name, data)}
    )
    assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["detail"].startswith(f"{name}: ") and reason in body["detail"]
    assert reason in body["errors"]["image"][0]


def test_a_photo_request_without_an_image_or_too_big_is_refused(api_client, settings):
    client = api_client("bob")
    missing = client.post(f"{API}/capture/card-image", {})
    assert missing.status_code == 422 and missing.json()["errors"] == {"image": ["Required."]}
    settings.RAPPORT_CARD_IMAGE_MAX_BYTES = 1000
    big = client.post(
        f"{API}/capture/card-image", {"image": SimpleUploadedFile("c.png", render(SPECIMENS[0]))}
    )
    assert big.status_code == 413


def test_a_mail_file_with_a_50_mb_attachment_is_stored_without_it(api_client, personas):
    jane = make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],  # mail lands only on contacts the uploader may see
    )
    raw = mail_bytes(attachment=b"\0" * BIG)
    response = api_client("bob").post(
        f"{API}/capture/mail", {"file": SimpleUploadedFile("quote.eml", raw)}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["read"], body["stored"], body["errors"]) == (1, 1, 0)
    [message] = body["messages"]
    assert message["skipped_attachments"] == [
        {
            "filename": "big.zip",
            "content_type": "application/zip",
            "size": BIG,
            "reason": "larger than 26,214,400 bytes",
        }
    ]
    assert Entry.objects.get(pk=message["entry_id"]).links.filter(contact=jane).exists()


def test_a_mail_file_over_the_limit_is_413(api_client, settings):
    settings.RAPPORT_MAIL_UPLOAD_MAX_BYTES = 100
    response = api_client("bob").post(
        f"{API}/capture/mail", {"file": SimpleUploadedFile("q.eml", mail_bytes())}
    )
    assert response.status_code == 413 and "at most 100 bytes" in response.json()["detail"]


@pytest.mark.parametrize(
    ("path", "field", "data"),
    [
        ("/capture/vcard", "file", TWO_CARDS),
        ("/capture/card-image", "image", b"x"),
        ("/capture/mail", "file", b"x"),
    ],
)
def test_a_read_only_token_may_not_capture_and_no_token_is_401(
    api_client, client, path, field, data
):
    upload = {field: SimpleUploadedFile("f", data)}
    forbidden = api_client("rita").post(f"{API}{path}", upload)
    assert forbidden.status_code == 403 and forbidden["Content-Type"] == PROBLEM
    assert client.post(f"{API}{path}", {field: SimpleUploadedFile("f", data)}).status_code == 401
    assert not Contact.objects.exists() and not AccountMembership.objects.exists()
