"""A row with no e-mail, id or external id that describes the same person as an earlier
row of the file (issue 11, item 17: "the import preview says 'new contact' for a row
repeated in the file") is a repeat: the preview says so and the run makes one contact,
also when it is resumed between the two rows."""

from __future__ import annotations

import pytest

from rapport.customers.models import Contact
from rapport.ingest.imports import engine, selectors
from rapport.ingest.models import ImportJob
from rapport.ingest.tests.helpers import csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

ROWS = [
    ["First name", "Last name", "Phone", "Company", "Tags"],
    ["Kim", "Keyless", "020 7946 0001", "Acme", ""],
    ["Kim", "Keyless", "020 7946 0999", "Acme", ""],  # another phone: another person
    ["KIM", " keyless ", "+44 20 7946 0001", "ACME", ""],  # row 2 written another way
    ["Kim", "Keyless", "020 7946 0001", "Acme", "vip"],  # row 2 again, with a tag
]


def test_the_preview_says_a_keyless_row_repeats_an_earlier_one(personas):
    job = upload(personas["carl"], csv_bytes(ROWS), region="GB")
    assert [r.match for r in selectors.preview(job=job)] == [
        "new contact",
        "new contact",
        "repeats row 2: updates the contact that row adds",
        "repeats row 2: updates the contact that row adds",
    ]


def test_a_repeated_keyless_row_updates_the_contact_the_earlier_row_made(personas):
    done = run_import(personas["carl"], csv_bytes(ROWS), region="GB")
    assert (done.created, done.updated, done.unchanged, done.rejected) == (2, 1, 1, 0)
    kims = Contact.objects.filter(family_name="Keyless")
    assert kims.count() == 2
    first = kims.get(phones__e164="+442079460001")
    assert list(first.tags.values_list("name", flat=True)) == ["vip"]


def test_a_run_resumed_between_a_row_and_its_repeat_still_makes_one_contact(personas, settings):
    settings.IMPORT_BATCH_ROWS = 1
    job = upload(personas["carl"], csv_bytes(ROWS), region="GB")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)

    def killed(current: ImportJob) -> None:
        if current.rows_done >= 3:
            raise KeyboardInterrupt  # the worker dies after rows 2 and 3

    with pytest.raises(KeyboardInterrupt):
        engine.run(job.pk, processes=0, progress=killed)
    job.refresh_from_db()
    assert (job.state, job.rows_done, job.created) == (ImportJob.State.FAILED, 3, 2)
    engine.run(job.pk, processes=0)
    engine.run(job.pk, processes=0)  # finished: a second call does nothing
    job.refresh_from_db()
    assert (job.state, job.created, job.updated + job.unchanged) == (ImportJob.State.DONE, 2, 2)
    assert Contact.objects.filter(family_name="Keyless").count() == 2


def test_namesakes_told_apart_by_their_company_are_two_contacts(personas):
    rows = [["Name", "Company"], ["Jo Bloggs", "Acme"], ["Jo Bloggs", "Globex"]]
    done = run_import(personas["carl"], csv_bytes(rows))
    assert done.created == 2
