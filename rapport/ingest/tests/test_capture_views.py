"""The capture pages: a card photo read, corrected and saved; vCard and mail file uploads."""

from __future__ import annotations

import os
from email.message import EmailMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.customers.models import AccountMembership, Contact
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.tests.test_cardocr import SPECIMENS, render
from rapport.timeline.models import Attachment, Entry

CARD_URL = "/capture/card/"
VCARD_URL = "/capture/vcard/"
MAIL_URL = "/capture/mail/"

JANE = SPECIMENS[0]  # Jane Whitfield, Acme Widgets Ltd, jane.whitfield@acmewidgets.co.uk


@pytest.fixture
def web(client, personas):
    def login(name: str):
        client.force_login(personas[name])
        return client

    return login


def photo(name: str = "card.jpg", fmt: str = "JPEG") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, render(JANE, fmt=fmt), content_type=f"image/{fmt.lower()}")


def save_data(**changes: str) -> dict[str, str]:
    data = {
        "given_name": "Jane",
        "family_name": "Whitfield",
        "title": "Head of Sales",
        "company": "Acme Widgets Ltd",
        "emails": "jane.whitfield@acmewidgets.co.uk",
        "phone_work": "+44 20 7946 0958",
        "phone_mobile": "",
        "phone_fax": "",
        "website": "www.acmewidgets.co.uk",
        "street": "221B Baker Street",
        "city": "London",
        "postcode": "NW1 6XE",
        "region": "",
        "country": "GB",
        "event": "Web Summit 2026",
        "on_duplicate": "skip",
        "ocr_text": "",
        "save": "1",
    }
    return {**data, **changes}


def test_the_urls_are_named_in_the_ingest_namespace():
    assert reverse("ingest:capture-card") == CARD_URL
    assert reverse("ingest:capture-vcard") == VCARD_URL
    assert reverse("ingest:capture-mail") == MAIL_URL


def test_the_photo_page_asks_the_phone_camera_for_a_png_or_jpeg(web):
    page = web("bob").get(CARD_URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'accept="image/png,image/jpeg"' in html
    assert 'capture="environment"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "csrfmiddlewaretoken" in html


def test_a_photo_gives_the_correction_form_filled_in_and_the_text_read(web, personas):
    acme = make_account(name="Acme UK", domains=["acmewidgets.co.uk"], owner=personas["bob"])
    page = web("bob").post(CARD_URL, {"photo": photo()})
    assert page.status_code == 200
    form = page.context["form"]
    assert form.initial["given_name"] == "Jane"
    assert form.initial["family_name"] == "Whitfield"
    assert form.initial["title"] == "Head of Sales"
    assert form.initial["company"] == "Acme Widgets Ltd"
    assert form.initial["emails"] == "jane.whitfield@acmewidgets.co.uk"
    assert form.initial["phone_work"] == "+44 20 7946 0958"
    assert (form.initial["postcode"], form.initial["city"], form.initial["country"]) == (
        "NW1 6XE",
        "London",
        "GB",
    )
    html = page.content.decode()
    assert "Text read from the photo" in html and "221B Baker Street" in html
    assert page.context["suggestion"]["account"] == acme
    assert "found by e-mail domain" in html
    assert Contact.objects.count() == 0  # nothing saved before the user confirms


def test_saving_the_corrected_card_creates_the_contact_on_the_domains_account_with_a_timeline_entry(
    web, personas
):
    acme = make_account(name="Acme UK", domains=["acmewidgets.co.uk"], owner=personas["brenda"])
    page = web("bob").post(CARD_URL, save_data(title="Head of Sales EMEA"))
    assert page.status_code == 201
    contact = Contact.objects.get()
    assert (contact.given_name, contact.family_name, contact.job_title) == (
        "Jane",
        "Whitfield",
        "Head of Sales EMEA",
    )
    assert list(contact.emails.values_list("email", flat=True)) == [
        "jane.whitfield@acmewidgets.co.uk"
    ]
    assert list(contact.phones.values_list("e164", flat=True)) == ["+442079460958"]
    assert AccountMembership.objects.filter(contact=contact, account=acme).exists()
    entry = Entry.objects.get(kind="card")
    assert entry.summary == "Card collected at Web Summit 2026"
    assert entry.data["source"] == "card-photo"
    assert entry.links.filter(contact=contact).exists()
    html = page.content.decode()
    assert reverse("customers:contact-detail", args=[contact.pk]) in html
    assert "found by e-mail domain" in html


def test_an_account_the_user_may_not_see_is_neither_shown_nor_attached(web, personas):
    hidden = make_account(name="Acme UK", domains=["acmewidgets.co.uk"], owner=personas["carl"])
    client = web("bob")  # North team; carl is South
    page = client.post(CARD_URL, {"photo": photo()})
    assert page.context["suggestion"] == {"proposed": "Acme Widgets Ltd"}
    assert "Acme UK" not in page.content.decode()
    saved = client.post(CARD_URL, save_data())
    assert saved.status_code == 201
    assert not AccountMembership.objects.filter(account=hidden).exists()


def test_a_company_without_an_account_is_proposed(web):
    page = web("bob").post(CARD_URL, save_data(emails="jane@gmail.com"))
    assert page.status_code == 201
    assert "No account matches “Acme Widgets Ltd”" in page.content.decode()
    assert not AccountMembership.objects.exists()


def test_a_known_person_is_shown_as_the_duplicate_and_can_then_be_updated(web, personas):
    existing = make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],
    )
    client = web("bob")
    page = client.post(CARD_URL, save_data())
    assert page.status_code == 200
    assert page.context["duplicate"] == existing
    html = page.content.decode()
    assert reverse("customers:contact-detail", args=[existing.pk]) in html
    assert "Nothing was saved" in html
    assert page.context["form"]["on_duplicate"].value() == "update"
    assert Contact.objects.count() == 1 and not Entry.objects.filter(kind="card").exists()

    again = client.post(CARD_URL, save_data(on_duplicate="update"))
    assert again.status_code == 201
    assert Contact.objects.count() == 1
    existing.refresh_from_db()
    assert existing.job_title == "Head of Sales"
    assert existing.phones.filter(e164="+442079460958").exists()
    assert Entry.objects.filter(kind="card", links__contact=existing).exists()


def test_corrections_that_are_still_wrong_are_shown_next_to_their_field(web):
    page = web("bob").post(
        CARD_URL,
        save_data(given_name="", family_name="", emails="jane@@acme", phone_work="12", country=""),
    )
    assert page.status_code == 422
    errors = page.context["form"].errors
    assert "family_name" in errors and "emails" in errors and "phone_work" in errors
    assert "country" in errors  # an address needs its country
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("noise.png", os.urandom(4000), "not an image Rapport can read"),
        ("cut.jpg", render(JANE, fmt="JPEG")[:5000], "damaged or incomplete"),
        ("card.pdf", b"%PDF-1.4\n%%EOF\n", "not an image Rapport can read"),
    ],
)
def test_an_unreadable_photo_is_a_clear_error_naming_the_file(web, name, data, reason):
    page = web("bob").post(CARD_URL, {"photo": SimpleUploadedFile(name, data)})
    assert page.status_code == 422
    html = page.content.decode()
    assert f"{name}: " in html and reason in html


def test_a_photo_over_the_size_limit_is_refused(web, settings):
    settings.RAPPORT_CARD_IMAGE_MAX_BYTES = 10_000
    page = web("bob").post(CARD_URL, {"photo": photo()})
    assert page.status_code == 422
    assert "photos of cards may be at most" in page.content.decode()


def test_the_card_can_be_typed_in_without_a_photo(web):
    page = web("bob").get(CARD_URL + "?manual=1")
    assert page.status_code == 200 and "Save contact" in page.content.decode()


@pytest.mark.parametrize("url", [CARD_URL, VCARD_URL, MAIL_URL])
def test_a_read_only_user_may_not_use_the_capture_pages(web, url):
    assert web("rita").get(url).status_code == 403
    assert web("rita").post(url, {}).status_code == 403


@pytest.mark.parametrize("url", [CARD_URL, VCARD_URL, MAIL_URL])
def test_the_pages_need_a_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "login" in response["Location"]


def test_posting_without_the_csrf_token_is_refused(personas):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["bob"])
    assert client.post(CARD_URL, save_data()).status_code == 403
    assert Contact.objects.count() == 0


# --- vCard files ---------------------------------------------------------------------------

TWO_CARDS = b"""BEGIN:VCARD
VERSION:3.0
N:Kline;Robert;;;
FN:Robert Kline
ORG:Northwind Traders Inc.
EMAIL;TYPE=work:rkline@northwind.com
TEL;TYPE=work:+1 212 736 5000
END:VCARD
BEGIN:VCARD
VERSION:4.0
FN:
EMAIL:nobody@northwind.com
END:VCARD
BEGIN:VCARD
VERSION:4.0
N:Laurent;Sophie;;;
FN:Sophie Laurent
EMAIL:sophie.laurent@lumiere.fr
TEL;VALUE=uri;TYPE=cell:tel:+33-6-12-34-56-78
END:VCARD
"""


def test_a_vcard_file_with_many_cards_gives_a_result_per_card_and_names_the_bad_one(web, personas):
    northwind = make_account(name="Northwind Traders", owner=personas["bob"])
    page = web("bob").post(
        VCARD_URL,
        {
            "file": SimpleUploadedFile("contacts.vcf", TWO_CARDS, content_type="text/vcard"),
            "on_duplicate": "skip",
            "event": "Expo",
        },
    )
    assert page.status_code == 200
    summary = page.context["summary"]
    assert [r.outcome for r in summary.results] == ["created", "created"]
    assert [str(p) for p in summary.problems] == [
        "card 2 (line 9): The card has no name (N or FN)."
    ]
    html = page.content.decode()
    assert "card 2 (line 9): The card has no name" in html
    robert = Contact.objects.get(family_name="Kline")
    assert AccountMembership.objects.filter(contact=robert, account=northwind).exists()
    assert Entry.objects.filter(kind="card", summary="Card collected at Expo").count() == 2


def test_uploading_the_same_vcard_again_skips_the_duplicates(web):
    client = web("bob")
    upload = lambda: SimpleUploadedFile("c.vcf", TWO_CARDS)  # noqa: E731
    client.post(VCARD_URL, {"file": upload(), "on_duplicate": "skip"})
    page = client.post(VCARD_URL, {"file": upload(), "on_duplicate": "skip"})
    assert [r.outcome for r in page.context["summary"].results] == ["skipped", "skipped"]
    assert Contact.objects.count() == 2
    assert "Already a contact" in page.content.decode()


def test_a_file_that_is_no_vcard_says_so(web):
    page = web("bob").post(
        VCARD_URL, {"file": SimpleUploadedFile("x.vcf", b"hello"), "on_duplicate": "skip"}
    )
    assert "No vCard in the file" in page.content.decode()


def test_a_vcard_file_over_the_limit_is_refused(web, settings):
    settings.RAPPORT_VCARD_UPLOAD_MAX_BYTES = 100
    page = web("bob").post(
        VCARD_URL, {"file": SimpleUploadedFile("c.vcf", TWO_CARDS), "on_duplicate": "skip"}
    )
    assert page.status_code == 422
    assert "c.vcf is" in page.content.decode() and "at most 100" in page.content.decode()


# --- mail files ----------------------------------------------------------------------------

BIG = 50 * 1024 * 1024


def mail_bytes(
    *, subject: str = "Quote", attachment: bytes | None = None, name: str = "big.zip"
) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Jane Whitfield <jane.whitfield@acmewidgets.co.uk>"
    msg["To"] = "bob@example.org"
    msg["Subject"] = subject
    msg["Message-ID"] = f"<{subject.replace(' ', '-')}@acmewidgets.co.uk>"
    msg["Date"] = "Mon, 16 Nov 2026 10:00:00 +0000"
    msg.set_content("Please find our quote attached.\n\nJane")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="zip", filename=name)
    return msg.as_bytes()


def test_a_message_with_a_50_mb_attachment_is_stored_and_the_attachment_left_out_with_its_reason(
    web, personas
):
    jane = make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],  # mail lands only on contacts the uploader may see
    )
    raw = mail_bytes(attachment=b"\0" * BIG)
    assert len(raw) > BIG
    page = web("bob").post(MAIL_URL, {"file": SimpleUploadedFile("quote.eml", raw)})
    assert page.status_code == 200
    summary = page.context["summary"]
    [message] = summary.messages
    assert message.status == "stored"
    assert message.skipped == [
        {
            "filename": "big.zip",
            "content_type": "application/zip",
            "size": BIG,
            "reason": "larger than 26,214,400 bytes",
        }
    ]
    entry = Entry.objects.get(kind="email")
    assert entry.links.filter(contact=jane).exists()
    assert not Attachment.objects.exists()
    html = page.content.decode()
    assert "Attachment big.zip (50.0\xa0MB) left out: larger than 26,214,400 bytes" in html


def test_an_mbox_gives_a_line_per_message_with_duplicates_unmatched_and_errors(web, personas):
    make_contact(
        given_name="Jane",
        family_name="Whitfield",
        emails=["jane.whitfield@acmewidgets.co.uk"],
        owner=personas["bob"],
    )
    stranger = mail_bytes(subject="Hello").replace(
        b"jane.whitfield@acmewidgets.co.uk", b"someone@initech.com"
    )
    box = b""
    for raw in (
        mail_bytes(subject="One"),
        mail_bytes(subject="One"),
        stranger,
        b"Subject: x\n\nno sender\n",
    ):
        box += b"From sender@example.com Mon Nov 16 10:00:00 2026\n" + raw + b"\n"
    page = web("bob").post(MAIL_URL, {"file": SimpleUploadedFile("box.mbox", box)})
    assert page.status_code == 200
    statuses = [m.status for m in page.context["summary"].messages]
    assert statuses == ["stored", "duplicate", "unmatched", "error"]
    html = page.content.decode()
    assert "message 4" in html and "no sender" in html
    assert "someone@initech.com" in html


def test_a_mail_file_over_the_limit_is_refused_with_the_limit(web, settings):
    settings.RAPPORT_MAIL_UPLOAD_MAX_BYTES = 1000
    page = web("bob").post(MAIL_URL, {"file": SimpleUploadedFile("big.mbox", b"x" * 2000)})
    assert page.status_code == 422
    assert "big.mbox is 2,000 bytes; a mail file may be at most 1,000." in page.content.decode()
    assert not Entry.objects.exists()
