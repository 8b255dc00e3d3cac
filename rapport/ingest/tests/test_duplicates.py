"""Imports and the duplicate check: a row that looks like an existing contact."""

from __future__ import annotations

from rapport.customers.models import Contact, ContactPhone
from rapport.customers.tests.factories import make_account, make_contact
from rapport.identity.models import Candidate, Scan
from rapport.ingest.tests.helpers import csv_bytes, run_import

HEADER = ["First name", "Last name", "E-mail", "Phone", "Company"]


def test_match_mode_updates_the_near_certain_existing_contact(personas):
    acme = make_account(name="Acme")
    robert = make_contact(given_name="Robert", family_name="Smith", emails=["rsmith@acme.com"], phones=["+442079460018"], account=acme)
    data = csv_bytes([HEADER, ["Bob", "Smith", "bob.smith@gmail.com", "+44 20 7946 0018", "ACME Ltd."], ["Zoe", "Quill", "zoe@quill.org", "", ""]])
    job = run_import(personas["alice"], data, on_duplicate="match")
    assert (job.created, job.updated) == (1, 1)
    assert Contact.objects.filter(family_name="Smith").count() == 1
    assert set(robert.emails.values_list("email", flat=True)) == {"rsmith@acme.com", "bob.smith@gmail.com"}
    assert ContactPhone.objects.filter(contact=robert).count() == 1


def test_review_mode_creates_the_row_and_queues_the_pair_for_the_steward(personas, django_capture_on_commit_callbacks):
    robert = make_contact(given_name="Robert", family_name="Smith", emails=["rsmith@acme.com"], phones=["+442079460018"])
    data = csv_bytes([HEADER, ["Bob", "Smith", "bob.smith@gmail.com", "+44 20 7946 0018", "ACME Ltd."]])
    with django_capture_on_commit_callbacks(execute=True):
        job = run_import(personas["alice"], data)
    assert job.on_duplicate == "review" and job.created == 1
    bob = Contact.objects.get(given_name="Bob")
    scan = Scan.objects.get()
    assert scan.state == Scan.State.DONE, scan.error
    assert Candidate.objects.filter(kind="contact", left_id=robert.pk, right_id=bob.pk, status="open").exists()


def test_an_unknown_duplicate_setting_is_refused_before_anything_runs(personas):
    import pytest

    from rapport.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        run_import(personas["alice"], csv_bytes([HEADER, ["A", "B", "a@b.com", "", ""]]), on_duplicate="merge")
    assert "on_duplicate" in caught.value.errors
