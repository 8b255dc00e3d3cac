import codecs

import pytest

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.customers import selectors
from rapport.customers import services as customer_services
from rapport.customers.export import export_rows
from rapport.customers.models import (
    Account,
    AccountDomain,
    Contact,
    ContactEmail,
    ContactExternalId,
    DataField,
)
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.imports import undo
from rapport.ingest.models import ImportJob, ImportRecord
from rapport.ingest.tests.helpers import csv_bytes, run_import

HEADER = ["First name", "Last name", "E-mail", "Phone", "Company", "Website", "Job title", "Country", "Customer ID"]
ROWS = [
    HEADER,
    ["Ada", "Lovelace", "Ada@Analytical.example.org", "020 7946 0001", "Analytical Engines Ltd", "analytical.example.org", "Countess", "UK", "C-1"],
    ["Bob", "Smith", "bob@gmail.com", "+1 415 555 2671", "Acme Inc", "acme.example.com", "Buyer", "United States", "C-2"],
    ["Carol", "Jones", "carol@@broken", "12", "Acme", "", "", "", "C-3"],
    ["Dan", "Brown", "dan@acme.example.com", "", "", "", "Engineer", "", "C-4"],
]


@pytest.mark.django_db
def test_a_file_creates_contacts_with_values_normalised_as_everywhere_else(personas):
    job = run_import(personas["bob"], csv_bytes(ROWS), source="oldcrm")
    assert (job.state, job.created, job.rejected, job.rows_seen, job.total_rows) == ("done", 3, 1, 4, 4)
    ada = Contact.objects.get(given_name="Ada")
    assert ada.emails.get().email == "ada@analytical.example.org"
    assert ada.phones.get().e164 == "+442079460001"
    assert ada.addresses.get().country == "GB"
    assert ada.external_ids.get().external_id == "C-1" and ada.external_ids.get().source == "oldcrm"
    assert ada.owner == personas["bob"]
    assert ada.full_name == "Ada Lovelace" and ada.sort_name == "lovelace ada"
    bob = Contact.objects.get(given_name="Bob")
    assert bob.phones.get().e164 == "+14155552671"
    # A new account per company, keeping its domain; Dan is attached through his e-mail's domain.
    acme = Account.objects.get(normalized_name="acme")
    assert AccountDomain.objects.get(account=acme).domain == "acme.example.com"
    dan = Contact.objects.get(given_name="Dan")
    assert dan.memberships.get().account == acme and dan.memberships.get().is_primary
    assert job.accounts_created == 2
    # It is searchable straight away.
    assert [h.obj.pk for h in selectors.search(actor=personas["bob"], q="lovelace").contacts] == [ada.pk]


@pytest.mark.django_db
def test_a_rejected_row_names_its_row_field_and_reason_and_keeps_its_cells(personas):
    job = run_import(personas["bob"], csv_bytes(ROWS), source="oldcrm")
    rejection = job.rejections.get()
    assert rejection.row == 4 and rejection.field == "E-mail"
    assert "carol@@broken" in rejection.reason and "Phone: '12' is not a valid phone number" in rejection.reason
    assert rejection.cells == ROWS[3]
    assert not Contact.objects.filter(given_name="Carol").exists()


@pytest.mark.django_db
def test_the_same_file_twice_changes_nothing_the_second_time(personas):
    data = csv_bytes(ROWS)
    first = run_import(personas["bob"], data, source="oldcrm")
    before = (Contact.objects.count(), ContactEmail.objects.count(), Account.objects.count(), AuditEntry.objects.count())
    versions = dict(Contact.objects.values_list("pk", "version"))
    second = run_import(personas["bob"], data, source="oldcrm", on_match="overwrite")
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 1)
    assert (Contact.objects.count(), ContactEmail.objects.count(), Account.objects.count(), AuditEntry.objects.count()) == before
    assert dict(Contact.objects.values_list("pk", "version")) == versions
    assert first.checksum == second.checksum


@pytest.mark.django_db
def test_a_row_matches_by_external_id_then_by_email_and_fills_only_empty_fields(personas):
    ann = make_contact(full_name="Ann Lee", job_title="", emails=["ann@lee.example.com"])
    old = make_contact(full_name="Olga Old", job_title="CFO")
    ContactExternalId.objects.create(contact=old, source="oldcrm", external_id="X9")
    rows = [
        ["Name", "Email", "Title", "ID", "Mobile"],
        ["Ann Lee", "ANN@lee.example.com", "Director", "", "07911 123456"],
        ["Olga Renamed", "olga@new.example.com", "CEO", "X9", ""],
    ]
    job = run_import(personas["alice"], csv_bytes(rows), source="oldcrm")
    assert (job.created, job.updated) == (0, 2), (job.unchanged, job.skipped, list(job.rejections.values_list("reason", flat=True)))
    ann.refresh_from_db()
    old.refresh_from_db()
    assert ann.job_title == "Director" and ann.version == 2
    assert list(ann.phones.values_list("e164", "kind")) == [("+447911123456", "mobile")]
    assert old.job_title == "CFO" and old.full_name == "Olga Old"  # filled only what was empty
    assert "olga@new.example.com" in set(old.emails.values_list("email", flat=True))
    entry = AuditEntry.objects.filter(entity_kind="contact", entity_id=ann.pk, via="import").get()
    assert entry.changes["job_title"] == ["", "Director"] and entry.context["import"] == job.pk


@pytest.mark.django_db
def test_overwrite_replaces_values_and_skip_leaves_matches_alone(personas):
    old = make_contact(full_name="Olga Old", job_title="CFO", emails=["olga@old.example.com"])
    rows = [["Email", "Title", "First name", "Last name"], ["olga@old.example.com", "CEO", "Olga", "Newname"]]
    skipped = run_import(personas["alice"], csv_bytes(rows), on_match="skip")
    assert (skipped.skipped, skipped.updated) == (1, 0)
    old.refresh_from_db()
    assert old.job_title == "CFO"
    job = run_import(personas["alice"], csv_bytes(rows), on_match="overwrite")
    old.refresh_from_db()
    assert (job.updated, old.job_title, old.full_name) == (1, "CEO", "Olga Newname")
    assert [h.obj.pk for h in selectors.search(actor=personas["alice"], q="newname").contacts] == [old.pk]


@pytest.mark.django_db
def test_a_repeated_email_in_one_file_updates_the_contact_made_by_its_first_row(personas):
    rows = [["Name", "Email", "Title"], ["Eve Adams", "eve@x.example.com", ""], ["Eve Adams", "eve@x.example.com", "Chemist"]]
    job = run_import(personas["alice"], csv_bytes(rows))
    assert (job.created, job.updated) == (1, 1)
    assert Contact.objects.get().job_title == "Chemist"


@pytest.mark.django_db
def test_a_contact_outside_the_users_visibility_is_not_matched_nor_changed(personas):
    theirs = make_contact(full_name="Tom South", owner=personas["carl"], emails=["tom@south.example.com"])
    rows = [["Name", "Email", "Title"], ["Tom South", "tom@south.example.com", "Boss"]]
    job = run_import(personas["bob"], csv_bytes(rows))
    # As if carl's contact did not exist: bob gets his own (the duplicate scan may pair them).
    assert (job.created, job.updated, job.rejected) == (1, 0, 0)
    theirs.refresh_from_db()
    assert theirs.job_title == ""


@pytest.mark.django_db
def test_data_dictionary_fields_are_validated_and_required_ones_enforced_on_new_rows(personas):
    DataField.objects.create(entity="contact", key="tier", label="Tier", type="choice", choices=["gold", "silver"], required=True)
    rows = [["Name", "Tier"], ["Gil Gold", "gold"], ["Pat Plain", ""], ["Bad Tier", "bronze"]]
    job = run_import(personas["alice"], csv_bytes(rows))
    assert job.created == 1 and Contact.objects.get().custom == {"tier": "gold"}
    reasons = dict(job.rejections.values_list("row", "reason"))
    assert "required" in reasons[3] and "bronze" in reasons[4]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("latin-1", ";"), ("cp1252", "|")],
)
def test_encodings_and_delimiters_are_detected(personas, encoding, delimiter):
    rows = [["Nom", "Prénom", "Courriel", "Société"], ["Müller", "Zoë", "zoe@muller.example.de", "Bäckerei \"Süß\"; GmbH"], ["Ødegård", "Åse", "ase@x.example.no", "Fjord AS"]]
    job = run_import(personas["alice"], csv_bytes(rows, encoding=encoding, delimiter=delimiter), filename="liste.csv")
    assert job.rejected == 0, list(job.rejections.values_list("reason", flat=True))
    assert set(Contact.objects.values_list("full_name", flat=True)) == {"Zoë Müller", "Åse Ødegård"}
    assert Account.objects.filter(name='Bäckerei "Süß"; GmbH').exists()


@pytest.mark.django_db
def test_quoted_newlines_stay_inside_their_cell(personas):
    data = b'Name,Email,Street,City\r\n"Ann Lee",ann@x.example.com,"1 High St\nFlat 2",London\r\n'
    job = run_import(personas["alice"], data)
    assert job.created == 1 and job.total_rows == 1
    assert Contact.objects.get().addresses.get().street == "1 High St Flat 2"


@pytest.mark.django_db
def test_an_xlsx_file_imports_like_a_csv(personas):
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in ROWS:
        sheet.append(row)
    sheet.append(["Eve", "Xl", "eve@xl.example.com", 442079460002, "", "", "", "", 5])  # numbers as numbers
    buf = io.BytesIO()
    book.save(buf)
    job = run_import(personas["alice"], buf.getvalue(), filename="people.xlsx", source="oldcrm")
    assert (job.created, job.rejected, job.file_format) == (4, 1, "xlsx")
    eve = Contact.objects.get(given_name="Eve")
    assert eve.phones.get().e164 == "+442079460002"
    assert eve.external_ids.get().external_id == "5"


@pytest.mark.django_db
def test_a_broken_file_is_refused_before_anything_is_stored(personas):
    from rapport.core.errors import ValidationFailed
    from rapport.ingest.tests.helpers import upload

    with pytest.raises(ValidationFailed) as exc:
        upload(personas["alice"], codecs.BOM_UTF8 + b"Name,Name\nA,B\n")
    assert "appears twice" in exc.value.errors["file"][0]
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_an_export_reimports_without_changing_anything(personas):
    alice = personas["alice"]
    acme = make_account(name="Acme", domains=["acme.example.com"])
    DataField.objects.create(entity="contact", key="score", label="Score", type="number")
    c = make_contact(full_name="Ann Lee", job_title="=HYPERLINK(evil)", emails=["ann@acme.example.com", "ann@home.example.com"], phones=["+442079460958"])
    customer_services.part_add(actor=actor(alice), parent=c, part="memberships", data={"account": acme.pk, "is_primary": True})
    customer_services.part_add(actor=actor(alice), parent=c, part="external_ids", data={"source": "erp", "external_id": "E1"})
    customer_services.contact_update(actor=actor(alice), contact=Contact.objects.get(pk=c.pk), data={"tags": ["vip", "beta"], "custom": {"score": 7}})
    make_contact(full_name="Bo Bare")
    headers, rows = export_rows(actor=actor(alice), kind="contact", filters=selectors.ListFilters())
    data = csv_bytes([headers, *rows])
    assert b"'=HYPERLINK(evil)" in data  # the export made it inert
    state = sorted(Contact.objects.values_list("pk", "version", "job_title", "full_name"))
    audit_count = AuditEntry.objects.count()
    job = run_import(alice, data, filename="export.csv", on_match="overwrite")
    assert job.mapping["id"] == "id"
    assert (job.created, job.updated, job.unchanged, job.rejected) == (0, 0, 2, 0), list(job.rejections.values_list("reason", flat=True))
    assert sorted(Contact.objects.values_list("pk", "version", "job_title", "full_name")) == state
    assert AuditEntry.objects.count() == audit_count


@pytest.mark.django_db
def test_undo_reverts_exactly_the_imports_creations_and_changes(personas):
    alice = personas["alice"]
    ann = make_contact(full_name="Ann Lee", emails=["ann@lee.example.com"])
    rows = [["Name", "Email", "Title", "Company", "Tags"], ["Ann Lee", "ann@lee.example.com", "Director", "", "vip"], ["New Person", "new@p.example.com", "", "Newco", ""]]
    job = run_import(alice, csv_bytes(rows))
    assert (job.created, job.updated, job.accounts_created) == (1, 1, 1)
    job.state = ImportJob.State.UNDOING
    job.save()
    done = undo.undo_run(job.pk, actor(alice))
    assert (done.state, done.undone, done.undo_refused) == ("undone", 3, 0)
    ann.refresh_from_db()
    assert ann.job_title == "" and list(ann.tags.all()) == [] and ann.version == 3
    assert not Contact.objects.filter(full_name="New Person").exists()
    assert not Account.objects.filter(name="Newco").exists()
    assert AuditEntry.objects.filter(entity_kind="contact", entity_id=ann.pk, context__undo=True).exists()


@pytest.mark.django_db
def test_undo_leaves_a_record_someone_changed_since_and_says_who(personas):
    alice, bob = personas["alice"], personas["bob"]
    rows = [["Name", "Email"], ["Kept Person", "kept@p.example.com"], ["Gone Person", "gone@p.example.com"]]
    job = run_import(alice, csv_bytes(rows))
    kept = Contact.objects.get(full_name="Kept Person")
    kept.owner = bob
    kept.save()
    customer_services.contact_update(actor=actor(bob), contact=kept, data={"job_title": "Edited later"})
    job.state = ImportJob.State.UNDOING
    job.save()
    done = undo.undo_run(job.pk, actor(alice))
    assert (done.undone, done.undo_refused) == (1, 1)
    refused = ImportRecord.objects.get(undo_status="refused")
    assert refused.object_id == kept.pk and "bob changed this contact" in refused.undo_reason
    assert Contact.objects.filter(pk=kept.pk, job_title="Edited later").exists()
    assert not Contact.objects.filter(full_name="Gone Person").exists()


@pytest.mark.django_db
def test_an_accounts_file_creates_and_matches_accounts_through_the_services(personas):
    rows = [["Company", "Website", "Industry", "Employees", "Country"], ["Acme Ltd", "https://www.acme.example.com/", "Tools", "120", "DE"], ["Bad Co", "not a domain", "", "", ""]]
    job = run_import(personas["alice"], csv_bytes(rows), kind="accounts")
    assert (job.created, job.rejected) == (1, 1)
    acme = Account.objects.get()
    assert (acme.size, acme.country, acme.domains.get().domain) == ("50-249", "DE", "acme.example.com")
    again = run_import(personas["alice"], csv_bytes(rows), kind="accounts", on_match="overwrite")
    assert (again.created, again.unchanged) == (0, 1)


@pytest.mark.django_db
def test_a_rows_country_decides_how_its_national_phone_number_is_read(personas):
    rows = [["Name", "Phone", "Country"], ["Hans Berg", "030 901820", "Germany"], ["Jo Doe", "(415) 555-2671", "US"], ["Al Lon", "020 7946 0958", ""]]
    job = run_import(personas["alice"], csv_bytes(rows), region="GB")
    assert job.rejected == 0
    assert set(Contact.objects.values_list("phones__e164", flat=True)) == {"+4930901820", "+14155552671", "+442079460958"}


@pytest.mark.django_db
def test_a_contacts_history_names_the_import_and_row_on_the_web_and_in_the_api(personas, client, api_client):
    job = run_import(personas["bob"], csv_bytes([["Name", "Email"], ["Ann Lee", "ann@lee.example.com"]]))
    ann = Contact.objects.get()
    client.force_login(personas["bob"])
    page = client.get(f"/contacts/{ann.pk}/").content.decode()
    assert f'href="/imports/{job.pk}/">#{job.pk}</a>, row 2' in page
    history = api_client("bob").get(f"/api/v1/contacts/{ann.pk}/history").json()
    [entry] = history["items"] if isinstance(history, dict) else history
    assert (entry["via"], entry["import_id"], entry["changes"]["emails"]) == ("import", job.pk, [None, ["ann@lee.example.com"]])


@pytest.mark.django_db
def test_an_import_whose_worker_went_silent_is_queued_again_and_finishes(personas, settings, django_capture_on_commit_callbacks):
    import datetime as dt

    from django.utils import timezone

    from rapport.ingest.imports import services
    from rapport.ingest.tests.helpers import upload

    job = upload(personas["alice"], csv_bytes([["Name", "Email"], ["Ann Lee", "ann@lee.example.com"]]))
    live = upload(personas["alice"], csv_bytes([["Name", "Email"], ["Bo Live", "bo@live.example.com"]]))
    long_ago = timezone.now() - dt.timedelta(seconds=settings.IMPORT_STALE_SECONDS + 5)
    ImportJob.objects.filter(pk=job.pk).update(state="running", heartbeat_at=long_ago, run_token="dead")
    ImportJob.objects.filter(pk=live.pk).update(state="running", heartbeat_at=timezone.now(), run_token="alive")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.imports_resume_stale() == [job.pk]
    job.refresh_from_db()
    assert (job.state, job.created) == ("done", 1)
    assert ImportJob.objects.get(pk=live.pk).state == "running"  # a live run is left alone


@pytest.mark.django_db
def test_a_cancelled_import_stops_after_the_batch_in_progress(personas, settings):
    from rapport.ingest.imports import engine
    from rapport.ingest.tests.helpers import upload

    settings.IMPORT_BATCH_ROWS = 2
    rows = [["Name", "Email"]] + [[f"Person {i}", f"p{i}@x.example.com"] for i in range(10)]
    job = upload(personas["alice"], csv_bytes(rows))
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)

    def cancel_after_first_batch(current: ImportJob) -> None:
        ImportJob.objects.filter(pk=current.pk).update(cancel_requested=True)

    engine.run(job.pk, processes=0, progress=cancel_after_first_batch)
    job.refresh_from_db()
    assert (job.state, job.created, job.rows_done) == ("cancelled", 2, 3)
    assert Contact.objects.count() == 2


@pytest.mark.django_db
def test_a_cancelled_accounts_import_stops_too(personas, settings, monkeypatch):
    from rapport.ingest.imports import accounts, engine
    from rapport.ingest.tests.helpers import upload

    monkeypatch.setattr(accounts, "BATCH", 2)
    rows = [["Company"]] + [[f"Firm {i}"] for i in range(6)]
    job = upload(personas["alice"], csv_bytes(rows), kind="accounts")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
    engine.run(job.pk, processes=0, progress=lambda current: ImportJob.objects.filter(pk=current.pk).update(cancel_requested=True))
    job.refresh_from_db()
    assert (job.state, job.created) == ("cancelled", 2)
    assert Account.objects.count() == 2
