"""Control characters (a NUL above all) in customer data: refused wherever text comes in,
left out wherever a legacy value goes out."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from openpyxl import load_workbook

from conftest import actor
from rapport.core.errors import ValidationFailed
from rapport.customers import services
from rapport.customers.models import Account, Contact, DataField
from rapport.customers.services import ContactParts
from rapport.customers.tests.factories import make_account, make_contact

NUL = "\x00"


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


def _xlsx(response) -> list[tuple]:
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    return list(book.active.iter_rows(values_only=True))


def test_a_nul_typed_in_the_contact_form_is_a_field_error_and_nothing_is_saved(client, personas):
    client.force_login(personas["bob"])

    response = client.post(
        "/contacts/new/", {"full_name": "Ann Lee", "job_title": f"Buyer{NUL}", "lifecycle": "lead"}
    )

    page = response.content.decode()
    assert response.status_code == 422
    assert 'id="f-job_title-error">Remove the invisible control character (NUL, U+0000)' in page
    assert not Contact.objects.exists()


def test_a_nul_in_the_full_name_is_said_of_the_full_name(client, personas):
    client.force_login(personas["bob"])

    response = client.post("/contacts/new/", {"full_name": f"Ann{NUL} Lee", "lifecycle": "lead"})

    assert response.status_code == 422
    assert (
        'id="f-full_name-error">Remove the invisible control character' in response.content.decode()
    )
    assert not Contact.objects.exists()


def test_a_nul_posted_to_the_api_is_refused_naming_each_field_and_nothing_is_written(
    api_client, personas
):
    response = api_client("bob").post(
        "/api/v1/contacts",
        {
            "full_name": "Ann Lee",
            "department": f"Sales{NUL}",
            "addresses": [{"street": f"1 High St{NUL}", "city": "London", "country": "GB"}],
            "phones": [{"number": f"+44 20 7946 0958{NUL}"}],
        },
        content_type="application/json",
    )

    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert {"department", "addresses[0].street", "phones[0].number"} <= set(errors)
    assert all("control character" in errors[k][0] for k in ("department", "addresses[0].street"))
    assert not Contact.objects.exists()


def test_a_nul_in_an_import_row_rejects_the_row_naming_its_column(personas):
    from rapport.ingest.tests.helpers import csv_bytes, run_import

    rows = [
        ["First name", "Last name", "Job title"],
        ["Ann", "Lee", f"Buyer{NUL}"],
        ["Bob", "Ray", "Engineer"],
    ]
    job = run_import(personas["bob"], csv_bytes(rows), source="oldcrm")

    assert (job.created, job.rejected) == (1, 1)
    rejection = job.rejections.get()
    assert (rejection.row, rejection.field) == (2, "Job title")
    assert "control character (NUL, U+0000)" in rejection.reason
    assert list(Contact.objects.values_list("given_name", flat=True)) == ["Bob"]


@pytest.mark.parametrize("column", ["City", "External id", "Company"])
def test_a_nul_in_an_import_cell_cleaned_by_the_importer_rejects_the_row(personas, column):
    # Address parts, external ids and the account's name are cleaned by the import itself,
    # not by the customer services: the same rule must hold there.
    from rapport.ingest.tests.helpers import csv_bytes, run_import

    header = ["First name", "Last name", column]
    rows = [header, ["Ann", "Lee", f"Lyon{NUL}"], ["Bob", "Ray", "Paris"]]
    job = run_import(personas["bob"], csv_bytes(rows), source="oldcrm")

    assert job.rejected == 1
    rejection = job.rejections.get()
    assert (rejection.row, rejection.field) == (2, column)
    assert "control character (NUL, U+0000)" in rejection.reason
    assert list(Contact.objects.values_list("given_name", flat=True)) == ["Bob"]


@pytest.mark.parametrize(
    "write",
    [
        lambda a: services.account_create(
            actor=a, data={"name": "Acme", "notes": f"Line 1\n{NUL}"}
        ),
        lambda a: services.account_create(actor=a, data={"name": "Acme", "tags": [f"vip{NUL}"]}),
        lambda a: services.contact_create(
            actor=a,
            data={"full_name": "Ann Lee"},
            parts=ContactParts(external_ids=[{"source": "erp", "external_id": f"C-1{NUL}"}]),
        ),
        lambda a: services.contact_create(
            actor=a, data={"full_name": "Ann Lee", "custom": {"nickname": f"Annie{NUL}"}}
        ),
        lambda a: services.datafield_create(
            actor=a, data={"entity": "contact", "label": f"Size{NUL}", "type": "text"}
        ),
        lambda a: services.datafield_create(
            actor=a,
            data={
                "entity": "contact",
                "label": "Tier",
                "type": "choice",
                "choices": ["A", f"B{NUL}"],
            },
        ),
    ],
    ids=[
        "account-notes",
        "tags",
        "external-id",
        "custom-text",
        "datafield-label",
        "datafield-choice",
    ],
)
def test_every_kind_of_text_refuses_a_nul(personas, write):
    DataField.objects.create(entity="contact", key="nickname", label="Nickname", type="text")
    with pytest.raises(ValidationFailed) as exc:
        write(actor(personas["alice"]))
    assert any("control character" in m for ms in exc.value.errors.values() for m in ms), (
        exc.value.errors
    )
    assert not Contact.objects.exists() and not Account.objects.exists()
    assert DataField.objects.count() == 1


def test_tabs_and_line_breaks_are_still_accepted_in_notes(personas):
    account = services.account_create(
        actor=actor(personas["alice"]), data={"name": "Acme", "notes": "Line 1\r\n\tLine 2"}
    )
    assert account.notes == "Line 1\r\n\tLine 2"


def _legacy(text: str) -> str:
    """A legacy value with control characters, as old data holds them (PostgreSQL never
    stored a NUL, so it has only the others)."""
    nul = NUL if connection.vendor == "sqlite" else ""
    return text.replace("|", f"{nul}\x01\x0b\x1f")


def test_an_export_of_legacy_values_with_control_characters_succeeds_in_csv_and_xlsx(
    client, personas
):
    DataField.objects.create(entity="contact", key="nickname", label="Nickname", type="text")
    acme = make_account(name="Acme")
    ann = make_contact(full_name="Ann Lee", account=acme)
    # Written as a legacy import would have: straight to the table, past the services.
    Contact.objects.filter(pk=ann.pk).update(
        job_title=_legacy("Head| of sales"),
        department=_legacy('|=HYPERLINK("http://x")'),
        custom={"nickname": _legacy("An|nie")},
    )
    Account.objects.filter(pk=acme.pk).update(name=_legacy("Ac|me"), notes=_legacy("a|b\nc"))
    client.force_login(personas["alice"])

    rows = _csv(client.get("/contacts/export.csv"))
    header, row = rows[0], rows[1]
    assert row[header.index("job_title")] == "Head of sales"
    assert row[header.index("department")] == '\'=HYPERLINK("http://x")'  # what it hid is inert
    assert row[header.index("custom.nickname")] == "Annie"
    assert row[header.index("account")] == "Acme"

    xlsx = client.get("/contacts/export.xlsx")
    assert xlsx.status_code == 200
    sheet = _xlsx(xlsx)
    assert sheet[1][sheet[0].index("job_title")] == "Head of sales"
    assert sheet[1][sheet[0].index("department")] == '\'=HYPERLINK("http://x")'

    accounts = _xlsx(client.get("/accounts/export.xlsx"))
    assert accounts[1][accounts[0].index("name")] == "Acme"
    assert accounts[1][accounts[0].index("notes")] == "ab\nc"


def test_the_api_export_of_legacy_values_succeeds_in_xlsx(api_client, personas):
    ann = make_contact(full_name="Ann Lee")
    Contact.objects.filter(pk=ann.pk).update(job_title=_legacy("Bu|yer"))

    response = api_client("alice").get("/api/v1/exports/contacts?format=xlsx")

    assert response.status_code == 200
    sheet = _xlsx(response)
    assert sheet[1][sheet[0].index("job_title")] == "Buyer"
