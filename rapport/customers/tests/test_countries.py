"""Countries as people write them, on every path that reads one (one normalize function)."""

from __future__ import annotations

from conftest import actor
from rapport.customers import services
from rapport.customers.models import Contact
from rapport.customers.tests.factories import make_contact


def test_an_import_row_with_a_country_in_german_is_created(personas):
    from rapport.ingest.tests.helpers import csv_bytes, run_import

    rows = [
        ["First name", "Last name", "City", "Country", "Phone"],
        ["Anna", "Schmidt", "Berlin", "Deutschland", "030 901820"],
        ["Jan", "de Vries", "Utrecht", "Holland", ""],
    ]
    job = run_import(personas["bob"], csv_bytes(rows), source="oldcrm")

    assert (job.created, job.rejected) == (2, 0)
    anna = Contact.objects.get(given_name="Anna")
    assert anna.addresses.get().country == "DE"
    assert anna.phones.get().e164 == "+4930901820"  # read as a German number, the row's country
    assert Contact.objects.get(given_name="Jan").addresses.get().country == "NL"


def test_an_address_and_an_account_take_a_country_in_french(personas):
    alice = actor(personas["alice"])
    ann = make_contact(full_name="Ann Lee")
    address = services.part_add(
        actor=alice, parent=ann, part="addresses", data={"city": "Genève", "country": "Suisse"}
    )
    assert address.country == "CH"
    account = services.account_create(actor=alice, data={"name": "Acme", "country": "Royaume-Uni"})
    assert account.country == "GB"
