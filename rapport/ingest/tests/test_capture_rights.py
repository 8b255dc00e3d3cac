"""Who may capture is decided in the capture services, so every path (pages, API, the
command line) refuses the same people, before anything is read or stored."""

from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from conftest import actor
from rapport.core.errors import PermissionDenied
from rapport.customers.models import Contact
from rapport.ingest.capture import services as capture_services
from rapport.ingest.capture import vcard
from rapport.ingest.mail import services as mail
from rapport.timeline.models import Entry

HERE = Path(__file__).parent
CARD = HERE / "vcards" / "jane-doe-3.0.vcf"
MESSAGE = HERE / "mail" / "plain.eml"


def test_a_read_only_user_cannot_capture_a_vcard_file(personas):
    with pytest.raises(PermissionDenied):
        vcard.ingest_bytes(CARD.read_bytes(), actor=actor(personas["rita"]))
    assert not Contact.objects.exists()


def test_a_read_only_user_cannot_capture_one_card(personas):
    card = vcard.parse(CARD.read_bytes())[0][0]
    with pytest.raises(PermissionDenied):
        vcard.capture(card, actor=actor(personas["rita"]))
    assert not Contact.objects.exists()


def test_a_read_only_user_cannot_have_a_card_photo_read(personas):
    with pytest.raises(PermissionDenied):
        capture_services.card_read(actor=actor(personas["rita"]), data=b"not even an image")


def test_a_read_only_user_cannot_ingest_a_mail_file(personas):
    with pytest.raises(PermissionDenied):
        mail.ingest_file(MESSAGE, actor(personas["rita"]))
    assert not Entry.objects.exists()


def test_the_command_line_refuses_the_same_users(personas):
    with pytest.raises(CommandError):
        call_command("ingest", "vcard", str(CARD), "--user", "rita")
    with pytest.raises(CommandError):
        call_command("ingest", "mail", str(MESSAGE), "--user", "rita")
    assert not Contact.objects.exists() and not Entry.objects.exists()


def test_a_sales_user_captures_a_card(personas):
    summary = vcard.ingest_bytes(CARD.read_bytes(), actor=actor(personas["bob"]))
    assert summary.count("created") == 1
