"""Dates in imported files (issue 13): the common forms are read, and a date that cannot be
read leaves that field empty and is reported, while the rest of the row is imported."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from rapport.customers.models import Contact, DataField
from rapport.ingest.imports import selectors
from rapport.ingest.tests.helpers import csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db
MAPPING = {"Name": "full_name", "Phone": "phone", "Born": "custom.born"}


@pytest.fixture
def born(db):
    from rapport.core import cache

    field = DataField.objects.create(
        entity="contact", key="born", label="Born", type="date", is_identifying=True
    )
    cache.clear()
    return field


def _born(name: str) -> str | None:
    return Contact.objects.get(full_name=name).custom.get("born")


def test_common_date_forms_are_read_and_a_bad_date_is_a_field_problem_not_a_lost_row(
    personas, born, api_client
):
    rows = [
        ["Name", "Phone", "Born"],
        ["Ann Iso", "", "1985-03-12"],
        ["Bea Compact", "", "19850312"],
        ["Cai Slash", "", "12/03/1985"],  # the import's region (GB) writes the day first
        ["Dee Words", "", "March 12, 1985"],
        ["Eli Bad", "020 7946 0001", "31/31/1985"],
        ["Fay Zero", "", "0000-00-00"],
    ]
    job = upload(personas["carl"], csv_bytes(rows), region="GB", mapping=MAPPING)
    preview = {r.row: r for r in selectors.preview(job=job)}
    assert preview[6].match == "new contact" and preview[6].problems == []
    assert preview[6].field_problems == [
        (
            "Born",
            "'31/31/1985' is not a date: there is no day 31 in month 31 of 1985. The field was left empty.",
        )
    ]
    done = run_import(personas["carl"], csv_bytes(rows), region="GB", mapping=MAPPING)
    assert (done.created, done.rejected, done.field_problems) == (6, 0, 1)
    assert [_born(n) for n in ("Ann Iso", "Bea Compact", "Cai Slash", "Dee Words")] == [
        "1985-03-12"
    ] * 4
    eli = Contact.objects.get(full_name="Eli Bad")
    assert "born" not in eli.custom and eli.phones.get().e164 == "+442079460001"
    assert _born("Fay Zero") is None
    body = api_client("carl").get(f"/api/v1/imports/{done.pk}").json()
    assert body["field_problems"] == 1
    assert (
        body["field_problem_rows"][0]["row"] == 6
        and body["field_problem_rows"][0]["field"] == "Born"
    )
    page = api_client("carl").get(f"/api/v1/imports/{job.pk}/preview").json()
    assert page[4]["field_problems"][0]["field"] == "Born"


def test_an_american_import_reads_slashed_dates_month_first(personas, born):
    rows = [["Name", "Born"], ["Gus Us", "03/12/1985"]]
    run_import(
        personas["carl"],
        csv_bytes(rows),
        region="US",
        mapping={"Name": "full_name", "Born": "custom.born"},
    )
    assert _born("Gus Us") == "1985-03-12"


def test_workbook_date_cells_and_serial_days_are_dates(personas, born):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Name", "Born"])
    sheet.append(["Hal Cell", dt.date(1985, 3, 12)])
    sheet.append(["Ida Serial", 31118])
    buf = io.BytesIO()
    book.save(buf)
    done = run_import(
        personas["carl"],
        buf.getvalue(),
        filename="people.xlsx",
        mapping={"Name": "full_name", "Born": "custom.born"},
    )
    assert (done.created, done.field_problems) == (2, 0)
    assert _born("Hal Cell") == _born("Ida Serial") == "1985-03-12"
