"""Imports see what the importer may see: carl (South) names North's records by id, by
name, by e-mail and by domain, and each is answered as if it did not exist."""

from __future__ import annotations

import pytest

from rapport.customers import services as customer_services
from rapport.customers.models import Account, AccountMembership, Contact
from rapport.customers.tests.factories import SYSTEM, make_account, make_contact
from rapport.ingest.imports import selectors
from rapport.ingest.models import ImportJob
from rapport.ingest.tests.helpers import csv_bytes, run_import, upload

pytestmark = pytest.mark.django_db

MISSING_ID = 987_654


@pytest.fixture
def north(personas):
    """North's account and one of its people, owned by bob."""
    account = make_account(
        name="Northwind Traders", owner=personas["bob"], domains=["northwind.example"]
    )
    person = make_contact(
        full_name="Nora North",
        owner=personas["bob"],
        emails=["nora@northwind.example"],
        account=account,
    )
    return account, person


def _rejection(job: ImportJob) -> tuple[str, str]:
    rejection = job.rejections.get()
    return rejection.field, rejection.reason


def _carls_links() -> set[int]:
    return set(
        AccountMembership.objects.filter(contact__owner__username="carl").values_list(
            "account_id", flat=True
        )
    )


def test_an_account_id_of_another_team_is_not_found_like_a_missing_one(personas, north):
    account, _ = north
    mapping = {"Name": "full_name", "Account": "account_id"}
    hidden = run_import(
        personas["carl"],
        csv_bytes([["Name", "Account"], ["Sam South", account.pk]]),
        mapping=mapping,
    )
    missing = run_import(
        personas["carl"],
        csv_bytes([["Name", "Account"], ["Sam South", MISSING_ID]]),
        mapping=mapping,
    )
    assert hidden.rejected == missing.rejected == 1
    field, reason = _rejection(hidden)
    assert (field, reason.replace(str(account.pk), "N")) == (
        _rejection(missing)[0],
        _rejection(missing)[1].replace(str(MISSING_ID), "N"),
    )
    assert field == "account_id" and _carls_links() == set()


def test_an_account_name_of_another_team_makes_a_new_account(personas, north):
    account, _ = north
    rows = csv_bytes([["Name", "Company"], ["Sam South", "Northwind Traders"]])
    mapping = {"Name": "full_name", "Company": "account.name"}
    job = run_import(personas["carl"], rows, mapping=mapping)
    assert (job.created, job.accounts_created, job.rejected) == (1, 1, 0)
    made = Account.objects.exclude(pk=account.pk).get()
    assert made.owner == personas["carl"] and _carls_links() == {made.pk}


def test_an_account_name_of_another_team_is_refused_as_unknown_when_accounts_are_not_created(
    personas, north
):
    mapping = {"Name": "full_name", "Company": "account.name"}
    hidden = run_import(
        personas["carl"],
        csv_bytes([["Name", "Company"], ["Sam South", "Northwind Traders"]]),
        mapping=mapping,
        create_accounts=False,
    )
    unknown = run_import(
        personas["carl"],
        csv_bytes([["Name", "Company"], ["Sam South", "Nowhere Ltd"]]),
        mapping=mapping,
        create_accounts=False,
    )
    field, reason = _rejection(hidden)
    assert field == _rejection(unknown)[0] == "account.name"
    assert reason.replace("Northwind Traders", "X") == _rejection(unknown)[1].replace(
        "Nowhere Ltd", "X"
    )
    assert _carls_links() == set() and not Contact.objects.filter(owner=personas["carl"]).exists()


def test_an_email_domain_of_another_teams_account_links_nothing(personas, north):
    job = run_import(
        personas["carl"], csv_bytes([["Name", "Email"], ["Sam South", "sam@northwind.example"]])
    )
    assert (job.created, job.rejected) == (1, 0)
    assert _carls_links() == set()


def test_a_website_of_another_teams_account_is_refused_without_naming_it(personas, north):
    account, _ = north
    rows = csv_bytes(
        [["Name", "Company", "Website"], ["Sam South", "South Traders", "northwind.example"]]
    )
    job = run_import(
        personas["carl"],
        rows,
        mapping={"Name": "full_name", "Company": "account.name", "Website": "account.domain"},
    )
    field, reason = _rejection(job)
    assert field == "account.domain" and "already in use" in reason
    assert str(account.pk) not in reason and "Northwind" not in reason
    assert Account.objects.count() == 1 and _carls_links() == set()


def test_an_email_of_another_teams_contact_is_a_new_contact_and_says_nobodys_name(personas, north):
    _, nora = north
    rows = csv_bytes([["Name", "Email", "Title"], ["Nora North", "nora@northwind.example", "Spy"]])
    job = run_import(personas["carl"], rows)
    assert (job.created, job.updated, job.rejected) == (1, 0, 0)
    nora.refresh_from_db()
    assert nora.job_title == ""
    assert Contact.objects.get(owner=personas["carl"]).job_title == "Spy"


def test_a_contact_id_of_another_team_is_not_found_like_a_missing_one(personas, north):
    _, nora = north
    mapping = {"Id": "id", "Name": "full_name", "Title": "job_title"}
    hidden = run_import(
        personas["carl"],
        csv_bytes([["Id", "Name", "Title"], [nora.pk, "Nora North", "Spy"]]),
        mapping=mapping,
    )
    missing = run_import(
        personas["carl"],
        csv_bytes([["Id", "Name", "Title"], [MISSING_ID, "Nora North", "Spy"]]),
        mapping=mapping,
    )
    field, reason = _rejection(hidden)
    assert (field, reason.replace(str(nora.pk), "N")) == ("id", "id: No contact with id N.")
    assert _rejection(missing) == ("id", f"id: No contact with id {MISSING_ID}.")
    nora.refresh_from_db()
    assert nora.job_title == ""


def test_an_external_id_of_another_teams_contact_is_refused_without_naming_it(personas, north):
    _, nora = north
    customer_services.part_add(
        actor=SYSTEM, parent=nora, part="external_ids", data={"source": "crm", "external_id": "N-1"}
    )
    job = run_import(
        personas["carl"],
        csv_bytes([["Name", "Customer ID"], ["Sam South", "N-1"]]),
        filename="crm.csv",
        mapping={"Name": "full_name", "Customer ID": "external_id"},
    )
    field, reason = _rejection(job)
    assert (field, reason) == (
        "external_id",
        "external_id: The external id crm:N-1 is already in use.",
    )
    assert job.created == 0 and nora.external_ids.get().external_id == "N-1"


def test_the_preview_shows_another_teams_contact_as_a_new_contact(personas, north):
    job = upload(
        personas["carl"], csv_bytes([["Name", "Email"], ["Nora North", "nora@northwind.example"]])
    )
    rows = selectors.preview(job=job)
    assert [r.match for r in rows] == ["new contact"]


def test_the_preview_says_a_row_repeats_an_earlier_row_and_the_run_makes_one_contact(personas):
    data = csv_bytes([
        ["Name", "Email"],
        ["Eve Adams", "eve@x.example.com"],
        ["Adam Eve", "adam@x.example.com"],
        ["Eve Adams", "EVE@x.example.com"],
    ])  # fmt: skip
    job = upload(personas["carl"], data)
    assert [r.match for r in selectors.preview(job=job)] == [
        "new contact",
        "new contact",
        "repeats row 2: updates the contact that row adds",
    ]
    done = run_import(personas["carl"], data)
    assert (done.created, done.rejected) == (2, 0)
    assert Contact.objects.filter(emails__email="eve@x.example.com").count() == 1


# --- accounts files -------------------------------------------------------------------------


def test_an_accounts_file_naming_another_teams_account_by_id_is_not_found_like_a_missing_one(
    personas, north
):
    account, _ = north
    mapping = {"Id": "id", "Company": "name", "Industry": "industry"}
    hidden = run_import(
        personas["carl"],
        csv_bytes([["Id", "Company", "Industry"], [account.pk, "Northwind Traders", "Spying"]]),
        kind="accounts",
        mapping=mapping,
    )
    missing = run_import(
        personas["carl"],
        csv_bytes([["Id", "Company", "Industry"], [MISSING_ID, "Northwind Traders", "Spying"]]),
        kind="accounts",
        mapping=mapping,
    )
    assert _rejection(hidden) == ("id", f"No account with id {account.pk}.")
    assert _rejection(missing) == ("id", f"No account with id {MISSING_ID}.")
    account.refresh_from_db()
    assert account.industry == ""


def test_an_accounts_file_naming_another_teams_account_by_name_makes_carl_his_own(personas, north):
    account, _ = north
    job = run_import(
        personas["carl"],
        csv_bytes([["Company", "Industry"], ["Northwind Traders", "Spying"]]),
        kind="accounts",
    )
    assert (job.created, job.updated, job.rejected) == (1, 0, 0)
    account.refresh_from_db()
    assert account.industry == ""
    assert Account.objects.exclude(pk=account.pk).get().owner == personas["carl"]


def test_an_accounts_file_with_another_teams_domain_is_refused_without_naming_it(personas, north):
    account, _ = north
    job = run_import(
        personas["carl"],
        csv_bytes([["Company", "Website"], ["South Traders", "northwind.example"]]),
        kind="accounts",
    )
    field, reason = _rejection(job)
    assert (field, reason) == (
        "domains[0].domain",
        "domains[0].domain: northwind.example already belongs to another account.",
    )
    assert Account.objects.count() == 1
