import csv
import io

import pytest
from openpyxl import load_workbook

from conftest import actor
from rapport.audit.models import AuditEntry
from rapport.core.errors import PermissionDenied
from rapport.customers import export, selectors
from rapport.customers.models import DataField
from rapport.customers.tests.factories import make_account, make_contact


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(body)))


@pytest.mark.parametrize("evil", ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_cells_a_spreadsheet_would_run_are_made_inert(evil):
    assert export.inert(evil) == "'" + evil
    assert export.inert("Ann") == "Ann"
    assert export.inert(42) == 42


def test_a_csv_export_has_every_filtered_row_once_and_names_each_column(client, personas):
    acme = make_account(name="Acme Ltd")
    for i in range(7):
        make_contact(full_name=f"Lead Person{i}", lifecycle="lead", account=acme, phones=["020 7946 0958"])
    make_contact(full_name="Cus Tomer", lifecycle="customer")
    client.force_login(personas["mia"])  # marketing may export
    rows = _csv(client.get("/contacts/export.csv?lifecycle=lead"))
    header, body = rows[0], rows[1:]
    assert header[:3] == ["id", "prefix", "given_name"] and "emails" in header and "account" in header
    assert len(body) == 7 and len({r[0] for r in body}) == 7
    phone = header.index("phones")
    assert {r[phone] for r in body} == {"'+442079460958"}  # a leading + is a formula to a spreadsheet
    assert {r[header.index("account")] for r in body} == {"Acme Ltd"}


def test_a_malicious_name_is_exported_inert(client, personas):
    make_contact(given_name="=cmd|' /C calc'!A0", family_name="Evil")
    client.force_login(personas["alice"])
    rows = _csv(client.get("/contacts/export.csv"))
    given = rows[0].index("given_name")
    assert rows[1][given].startswith("'=")


def test_roles_without_the_export_right_get_403(client, personas):
    make_contact()
    client.force_login(personas["bob"])  # sales: no export right
    assert client.get("/contacts/export.csv").status_code == 403
    with pytest.raises(PermissionDenied):
        export.export_rows(actor=actor(personas["rita"]), kind="contact", filters=selectors.ListFilters())


def test_an_export_is_recorded_in_the_audit_trail(client, personas):
    make_contact()
    client.force_login(personas["mia"])
    _csv(client.get("/contacts/export.csv?lifecycle=lead"))
    entry = AuditEntry.objects.get(action="export")
    assert (entry.actor, entry.entity_kind) == (personas["mia"], "contact")
    assert entry.changes["filters"] == [None, {"lifecycle": "lead"}]


def test_hidden_fields_are_not_exported(client, personas):
    DataField.objects.create(entity="contact", key="salary_band", label="Salary band", type="text", view_roles=["manager"])
    make_account(notes="secret plans")
    make_contact(custom={"salary_band": "C"})
    client.force_login(personas["mia"])
    contact_header = _csv(client.get("/contacts/export.csv"))[0]
    assert "custom.salary_band" not in contact_header
    account_rows = _csv(client.get("/accounts/export.csv"))
    assert "notes" not in account_rows[0] and "secret plans" not in str(account_rows)
    client.force_login(personas["mo"])
    assert "custom.salary_band" in _csv(client.get("/contacts/export.csv"))[0]


def test_only_visible_records_are_exported(personas):
    from rapport.users.models import RolePolicy

    RolePolicy.objects.filter(role="marketing", kind="contact").update(visibility="own")
    mia = type(personas["mia"]).objects.get(pk=personas["mia"].pk)
    make_contact(owner=personas["bob"])
    own = make_contact(owner=mia)
    _, rows = export.export_rows(actor=actor(mia), kind="contact", filters=selectors.ListFilters())
    assert [r[0] for r in rows] == [own.pk]


def test_an_xlsx_export_opens_with_the_same_rows(client, personas):
    for i in range(3):
        make_contact(full_name=f"Ann Lee{i}")
    client.force_login(personas["alice"])
    response = client.get("/contacts/export.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(b"".join(response.streaming_content)), read_only=True)
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][0] == "id" and len(rows) == 4


def test_an_unknown_format_is_not_found(client, personas):
    client.force_login(personas["alice"])
    assert client.get("/contacts/export.pdf").status_code == 404


def test_the_cli_writes_the_file(tmp_path, personas):
    from django.core.management import call_command

    make_contact(full_name="Ann Lee", lifecycle="customer")
    make_contact(full_name="Bob Ray", lifecycle="lead")
    target = tmp_path / "out.csv"
    call_command("export", "contacts", str(target), "--filter", "lifecycle=customer", "--user", "mia")
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2 and rows[1][rows[0].index("family_name")] == "Lee"


@pytest.mark.parametrize("role", ["admin", "manager", "sales", "marketing", "service", "steward", "readonly"])
@pytest.mark.parametrize("kind", ["contact", "account"])
def test_every_role_may_export_exactly_as_its_policy_says(client, personas, role, kind):
    from conftest import ROLE_PERSONA
    from rapport.users.permissions import DEFAULT_POLICIES

    rights = DEFAULT_POLICIES[role][kind][0]
    client.force_login(personas[ROLE_PERSONA[role]])
    status = client.get(f"/{kind}s/export.csv").status_code
    assert status == (200 if rights["view"] and rights["export"] else 403)


def test_the_api_streams_an_export_with_the_list_filters(api_client, personas):
    make_contact(full_name="Ann Lee", lifecycle="customer")
    make_contact(full_name="Bob Ray", lifecycle="lead")
    response = api_client("mia").get("/api/v1/exports/contacts?lifecycle=customer")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert len(rows) == 2 and rows[1][rows[0].index("family_name")] == "Lee"
    denied = api_client("bob").get("/api/v1/exports/contacts")
    assert denied.status_code == 403 and denied["Content-Type"] == "application/problem+json"
    xlsx = api_client("mia").get("/api/v1/exports/accounts?format=xlsx")
    assert xlsx.status_code == 200 and b"".join(xlsx.streaming_content)[:2] == b"PK"
