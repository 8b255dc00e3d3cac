"""Deals and leads from CSV/XLSX files through the import engine: accounts and people
matched through the importer's visibility, roles, won and lost deals, the duplicate check
for leads, row problems, preview, idempotent re-runs, resume, undo, the web and the API."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from rapport.audit.models import AuditEntry
from rapport.customers.models import Account
from rapport.customers.tests.factories import make_account, make_contact
from rapport.ingest.imports import engine, selectors, undo
from rapport.ingest.imports.kinds import external_key
from rapport.ingest.models import ImportJob, ImportRecord
from rapport.ingest.tests.helpers import csv_bytes, run_import, upload
from rapport.sales.models import Deal, DealRole, DealStageChange, Lead
from rapport.sales.tests.factories import make_deal, make_lead

pytestmark = pytest.mark.django_db

DEAL_HEADERS = ["Deal name", "Company", "Website", "Amount", "Currency", "Close date", "Stage", "Lost reason", "Contact email", "Contact role", "Contacts", "Owner", "Deal ID"]  # fmt: skip


def deals_file(*rows: list[str]) -> bytes:
    return csv_bytes([DEAL_HEADERS, *rows])


@pytest.fixture
def north(personas):
    bob = personas["bob"]
    account = make_account(owner=bob, name="Northwind Traders", domains=["northwind.example"])
    dana = make_contact(owner=bob, full_name="Dana Decider", emails=["dana@northwind.example"])
    ivo = make_contact(owner=bob, full_name="Ivo Influencer", emails=["ivo@northwind.example"])
    return {"account": account, "dana": dana, "ivo": ivo}


def test_the_mapping_is_suggested_from_the_headers(personas):
    job = upload(personas["bob"], deals_file(), kind="deals")
    assert job.mapping["Deal name"] == "name"
    assert job.mapping["Company"] == "account.name"
    assert job.mapping["Close date"] == "expected_close"
    assert job.mapping["Contact email"] == "contact.email"
    assert job.mapping["Contact role"] == "contact.role"
    assert job.mapping["Deal ID"] == "external_id"


def test_a_deal_row_matches_its_account_and_people_and_gives_them_roles(personas, north):
    bob = personas["bob"]
    job = run_import(bob, deals_file(["Chairs for HQ", "Northwind Traders", "", "€12,500.50", "", "2027-01-31", "Proposal", "", "dana@northwind.example", "Economic buyer", "ivo@northwind.example:champion", "", "D-1"]), kind="deals")  # fmt: skip
    assert (job.state, job.created, job.rejected) == ("done", 1, 0)
    deal = Deal.objects.get()
    assert (deal.account, deal.primary_contact, deal.amount, deal.currency, deal.stage.name, str(deal.expected_close)) == (
        north["account"], north["dana"], Decimal("12500.50"), "EUR", "Proposal", "2027-01-31",
    )  # fmt: skip
    assert deal.owner == bob  # the importer, as by hand
    roles = {(r.contact_id, r.role, r.is_primary) for r in DealRole.objects.filter(deal=deal)}
    assert roles == {
        (north["dana"].pk, "economic_buyer", True),
        (north["ivo"].pk, "champion", False),
    }
    entry = (
        AuditEntry.objects.filter(entity_kind="deal", entity_id=deal.pk, action="create")
        .order_by("id")
        .first()
    )
    assert (entry.via, entry.context["import"], entry.context["row"]) == ("import", job.pk, 2)
    assert ImportRecord.objects.get(job=job).key == external_key(job.source, "D-1")


def test_the_account_is_found_by_domain_and_another_teams_account_is_not_seen(personas, north):
    carl_account = make_account(owner=personas["carl"], name="Southwind Ltd")
    job = run_import(
        personas["bob"],
        deals_file(
            ["By domain", "Whatever Inc", "www.northwind.example", "100", "", "", "", "", "", "", "", "", ""],
            ["Hidden", "Southwind Ltd", "", "100", "", "", "", "", "", "", "", "", ""],
        ),
        kind="deals", create_accounts=False,
    )  # fmt: skip
    assert (job.created, job.rejected) == (1, 1)
    assert Deal.objects.get().account == north["account"]
    rejection = job.rejections.get()
    assert (rejection.row, rejection.field) == (3, "account.name")
    assert "No account you can see is called 'Southwind Ltd'" in rejection.reason
    assert not Deal.objects.filter(account=carl_account).exists()


def test_an_unknown_company_becomes_an_account_when_the_import_may_create_them(personas):
    job = run_import(personas["bob"], deals_file(["New logo", "Brand New Co", "brandnew.example", "900", "GBP", "", "", "", "", "", "", "", ""]), kind="deals")  # fmt: skip
    assert (job.created, job.accounts_created) == (1, 1)
    account = Account.objects.get(name="Brand New Co")
    assert list(account.domains.values_list("domain", flat=True)) == ["brandnew.example"]
    assert Deal.objects.get().account == account


def test_an_unknown_person_is_a_field_problem_and_the_deal_is_imported(personas, north):
    job = run_import(personas["bob"], deals_file(["Desks", "Northwind Traders", "", "10", "", "", "", "", "nobody@northwind.example", "", "", "", ""]), kind="deals")  # fmt: skip
    assert (job.created, job.field_problems) == (1, 1)
    row, field, reason = job.field_problem_rows[0]
    assert (row, field) == (2, "contact.email") and "nobody@northwind.example" in reason
    assert Deal.objects.get().primary_contact is None


def test_won_and_lost_deals_close_on_their_close_date_and_lost_needs_a_reason(personas, north):
    lost_reason = "Price"
    job = run_import(
        personas["bob"],
        deals_file(
            ["Won one", "Northwind Traders", "", "100", "", "2026-03-01", "Won", "", "", "", "", "", ""],
            ["Lost one", "Northwind Traders", "", "100", "", "2026-04-01", "Lost", lost_reason, "", "", "", "", ""],
            ["Lost, no reason", "Northwind Traders", "", "100", "", "2026-04-01", "Lost", "", "", "", "", "", ""],
            ["Bad stage", "Northwind Traders", "", "100", "", "", "Maybe", "", "", "", "", "", ""],
        ),
        kind="deals",
    )  # fmt: skip
    assert (job.created, job.rejected) == (2, 2)
    won = Deal.objects.get(name="Won one")
    assert (won.status, won.closed_at.date().isoformat()) == ("won", "2026-03-01")
    assert DealStageChange.objects.filter(deal=won).count() == 2  # opened, then won
    lost = Deal.objects.get(name="Lost one")
    assert (lost.status, lost.lost_reason.name) == ("lost", "Price")
    problems = {r.row: (r.field, r.reason) for r in job.rejections.all()}
    assert problems[4][0] == "lost_reason"
    assert problems[5][0] == "stage" and "No stage named 'Maybe'" in problems[5][1]


def test_a_bad_role_amount_or_owner_rejects_the_row_naming_the_field(personas, north):
    job = run_import(
        personas["bob"],
        deals_file(
            ["A", "Northwind Traders", "", "100", "", "", "", "", "dana@northwind.example", "Boss", "", "", ""],
            ["B", "Northwind Traders", "", "lots", "", "", "", "", "", "", "", "", ""],
            ["C", "Northwind Traders", "", "100", "", "", "", "", "", "", "", "nosuchuser", ""],
            ["D", "Northwind Traders", "", "100", "", "31/31/2026", "", "", "", "", "", "", ""],
        ),
        kind="deals",
    )  # fmt: skip
    assert (job.created, job.rejected) == (0, 4)
    fields = dict(job.rejections.values_list("row", "field"))
    assert fields == {2: "contact.role", 3: "amount", 4: "owner", 5: "expected_close"}
    rejected = "".join(selectors.rejected_rows_csv(job=job))
    assert "row 2: 'Boss' is not one of" in rejected


def test_importing_the_same_deals_file_twice_adds_nothing(personas, north):
    data = deals_file(
        ["Chairs", "Northwind Traders", "", "100", "", "", "", "", "dana@northwind.example", "", "", "", "D-1"],
        ["Tables", "Northwind Traders", "", "200", "", "", "", "", "", "", "", "", ""],
    )  # fmt: skip
    first = run_import(personas["bob"], data, kind="deals")
    versions = dict(Deal.objects.values_list("pk", "version"))
    second = run_import(personas["bob"], data, kind="deals")
    assert (first.created, second.created, second.updated, second.unchanged) == (2, 0, 0, 2)
    assert dict(Deal.objects.values_list("pk", "version")) == versions
    assert DealRole.objects.count() == 1


def test_a_matched_deal_fills_its_empty_fields_and_overwrite_moves_its_stage(personas, north):
    bob = personas["bob"]
    deal = make_deal(owner=bob, account=north["account"], name="Chairs")
    job = run_import(bob, deals_file(["Chairs", "Northwind Traders", "", "750", "", "2027-02-01", "Negotiation", "", "ivo@northwind.example", "", "", "", ""]), kind="deals")  # fmt: skip
    deal.refresh_from_db()
    assert (job.updated, deal.amount, str(deal.expected_close), deal.stage.name) == (
        1,
        Decimal("750.00"),
        "2027-02-01",
        "Qualification",
    )
    assert DealRole.objects.filter(deal=deal, contact=north["ivo"]).exists()
    job = run_import(bob, deals_file(["Chairs", "Northwind Traders", "", "800", "", "", "Negotiation", "", "", "", "", "", ""]), kind="deals", on_match="overwrite")  # fmt: skip
    deal.refresh_from_db()
    assert (job.updated, deal.amount, deal.stage.name) == (1, Decimal("800.00"), "Negotiation")


def test_the_preview_says_what_each_row_would_do_and_writes_nothing(personas, north):
    existing = make_deal(owner=personas["bob"], account=north["account"], name="Chairs")
    job = upload(
        personas["bob"],
        deals_file(
            ["Chairs", "Northwind Traders", "", "100", "", "", "", "", "", "", "", "", ""],
            ["Sofas", "Northwind Traders", "", "100", "", "", "", "", "", "", "", "", ""],
            ["Sofas", "Northwind Traders", "", "100", "", "", "", "", "", "", "", "", ""],
            ["Nope", "", "", "100", "", "", "", "", "", "", "", "", ""],
        ),
        kind="deals",
    )  # fmt: skip
    deals_before, audits_before = Deal.objects.count(), AuditEntry.objects.count()
    rows = selectors.preview(job=job)
    assert [r.match for r in rows] == [
        f"deal {existing.pk}: updated where it differs",
        "new deal",
        "repeats row 3: updates what that row adds",
        "rejected",
    ]
    assert rows[3].problems[0][0] == "account.name"
    assert (Deal.objects.count(), AuditEntry.objects.count()) == (deals_before, audits_before)


def test_an_interrupted_deals_import_resumes_after_its_last_batch(personas, north, monkeypatch):
    from rapport.ingest.imports import rows as import_rows

    monkeypatch.setattr(import_rows, "BATCH", 2)
    data = deals_file(
        *[
            [f"Deal {i}", "Northwind Traders", "", "100", "", "", "", "", "", "", "", "", f"X-{i}"]
            for i in range(5)
        ]
    )
    job = upload(personas["bob"], data, kind="deals")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.QUEUED)
    calls = []

    def die_after_first_batch(current: ImportJob) -> None:
        calls.append(current.rows_done)
        if len(calls) == 1:
            raise KeyboardInterrupt  # the worker is killed between batches

    with pytest.raises(KeyboardInterrupt):
        engine.run(job.pk, processes=0, progress=die_after_first_batch)
    job.refresh_from_db()
    assert (job.state, job.rows_done, Deal.objects.count()) == ("failed", 3, 2)
    engine.run(job.pk, processes=0)
    job.refresh_from_db()
    assert (job.state, job.created, Deal.objects.count()) == ("done", 5, 5)
    assert sorted(Deal.objects.values_list("name", flat=True)) == [f"Deal {i}" for i in range(5)]


def test_undo_deletes_the_deals_it_made_and_leaves_one_changed_since(personas, north):
    from rapport.sales import services

    mo = personas["mo"]
    job = run_import(mo, deals_file(["One", "Northwind Traders", "", "1", "", "", "", "", "", "", "", "", ""], ["Two", "Northwind Traders", "", "2", "", "", "", "", "", "", "", "", ""]), kind="deals")  # fmt: skip
    two = Deal.objects.get(name="Two")
    from conftest import actor

    services.deal_update(actor=actor(mo), deal=two, data={"amount": "3"})
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.UNDOING)
    job = undo.undo_run(job.pk, actor(mo))
    assert (job.state, job.undone, job.undo_refused) == ("undone", 1, 1)
    assert list(Deal.objects.values_list("name", flat=True)) == ["Two"]


def test_deals_come_from_an_xlsx_file_too(personas, north):
    book = Workbook()
    sheet = book.active
    sheet.append(["Deal name", "Account", "Amount", "Expected close date"])
    sheet.append(["Lamps", "Northwind Traders", 1500, "2027-03-15"])
    buf = io.BytesIO()
    book.save(buf)
    job = run_import(personas["bob"], buf.getvalue(), filename="deals.xlsx", kind="deals")
    deal = Deal.objects.get()
    assert (job.created, deal.amount, str(deal.expected_close)) == (
        1,
        Decimal("1500.00"),
        "2027-03-15",
    )


def test_a_role_that_may_not_add_deals_cannot_import_them(personas):
    from rapport.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        upload(personas["rita"], deals_file(), kind="deals")


# --- leads ---------------------------------------------------------------------------------

LEAD_HEADERS = ["First name", "Last name", "Email", "Phone", "Company", "Country", "Need", "Budget"]


def leads_file(*rows: list[str]) -> bytes:
    return csv_bytes([LEAD_HEADERS, *rows])


def test_a_lead_row_for_a_known_person_is_put_on_their_contact(personas, north):
    job = run_import(personas["bob"], leads_file(["Dana", "Decider", "dana@northwind.example", "", "Northwind", "GB", "200 chairs", "10k"]), kind="leads")  # fmt: skip
    assert job.created == 1
    lead = Lead.objects.get()
    assert (lead.contact, lead.account, lead.need, lead.budget, lead.source) == (
        north["dana"],
        None or lead.account,
        "200 chairs",
        "10k",
        job.source,
    )
    assert lead.contact_id == north["dana"].pk
    from rapport.customers.models import Contact

    assert Contact.objects.filter(full_name="Dana Decider").count() == 1  # never a second record


def test_a_person_with_an_open_lead_is_not_doubled_and_a_rerun_adds_nothing(personas):
    make_lead(owner=personas["bob"], name="Ola Open", email="ola@open.example")
    data = leads_file(
        ["Ola", "Open", "ola@open.example", "", "", "", "desks", ""],
        ["New", "Person", "new@person.example", "+44 20 7946 0000", "Person Ltd", "GB", "", ""],
        ["", "", "", "", "", "", "just a need", ""],
    )  # fmt: skip
    first = run_import(personas["bob"], data, kind="leads")
    assert (first.created, first.updated, first.rejected) == (1, 1, 1)
    assert Lead.objects.filter(email="ola@open.example").count() == 1
    assert Lead.objects.get(email="ola@open.example").need == "desks"  # an empty field filled
    assert first.rejections.get().field == "name"
    new = Lead.objects.get(email="new@person.example")
    assert new.phone == "+442079460000"
    second = run_import(personas["bob"], data, kind="leads")
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert Lead.objects.count() == 2


def test_another_teams_open_lead_refuses_the_row_without_saying_whose(personas):
    make_lead(owner=personas["carl"], name="Sam South", email="sam@south.example")
    job = run_import(
        personas["bob"],
        leads_file(["Sam", "South", "sam@south.example", "", "", "", "", ""]),
        kind="leads",
    )
    assert (job.created, job.rejected) == (0, 1)
    rejection = job.rejections.get()
    assert rejection.field == "email" and "which you may not see" in rejection.reason
    assert "carl" not in rejection.reason


def test_undo_of_a_leads_import_deletes_its_leads(personas):
    from conftest import actor

    mo = personas["mo"]
    job = run_import(
        mo, leads_file(["Una", "Undo", "una@undo.example", "", "", "", "", ""]), kind="leads"
    )
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.UNDOING)
    job = undo.undo_run(job.pk, actor(mo))
    assert (job.undone, Lead.objects.count()) == (1, 0)


# --- web and API ---------------------------------------------------------------------------


def test_the_upload_page_offers_deals_and_leads(client, personas):
    client.force_login(personas["bob"])
    page = client.get("/imports/new/").content.decode()
    assert 'value="deals"' in page and 'value="leads"' in page


def test_a_deals_file_through_the_api(
    api_client, personas, north, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = api_client("bob")
    data = deals_file(
        ["Api deal", "Northwind Traders", "", "5", "", "", "", "", "", "", "", "bob", ""]
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports",
            {
                "kind": "deals",
                "file": SimpleUploadedFile("deals.csv", data, content_type="text/csv"),
            },
        )
    # A sales rep may not set a deal's owner: a file with an owner column is refused, naming it.
    assert response.status_code == 422
    assert response.json()["errors"] == {"owner": ["Your role may not set this field."]}
    data = csv_bytes([["Deal name", "Company", "Amount"], ["Api deal", "Northwind Traders", "5"]])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/imports",
            {
                "kind": "deals",
                "file": SimpleUploadedFile("deals.csv", data, content_type="text/csv"),
            },
        )
    assert response.status_code == 202, response.content
    body = client.get(response["Location"]).json()
    assert (body["kind"], body["state"], body["created"]) == ("deals", "done", 1)
    assert Deal.objects.get().name == "Api deal"
    mine = client.get("/api/v1/import-mappings", {"kind": "leads"})
    assert mine.status_code == 200
