"""Hostile workbooks: decompression bombs, entity expansion, rows too wide, cells too long.
Each is built here with zipfile (small on disk) and must be refused with the row and the
reason, before the reader inflates it whole."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from rapport.ingest.imports import readers
from rapport.ingest.imports.readers import FileProblem, read_table
from rapport.ingest.models import ImportJob

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PARTS = {
    "[Content_Types].xml": (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{MAIN}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{MAIN}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{MAIN}.sharedStrings+xml"/></Types>'
    ),
    "_rels/.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{R}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook {NS} xmlns:r="{R}"><sheets><sheet name="People" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{R}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{R}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
    "xl/sharedStrings.xml": f"<sst {NS}><si><t>Name</t></si><si><t>E-mail</t></si><si><t>Ada</t></si></sst>",
    SHEET: (
        f'<worksheet {NS}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>2</v></c><c r="B2" t="inlineStr"><is><t>ada@example.com</t></is></c></row>'
        "</sheetData></worksheet>"
    ),
}


def _workbook(*, replace: dict[str, bytes] | None = None) -> bytes:
    """A minimal real workbook (Name, E-mail; one row) with some parts swapped for hostile ones."""
    parts = {name: text.encode() for name, text in PARTS.items()} | (replace or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for name, data in parts.items():
            target.writestr(name, data)
    return out.getvalue()


def _sheet(*rows: str) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet {NS}><sheetData>{"".join(rows)}</sheetData></worksheet>'.encode()


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


@pytest.fixture
def inflated(monkeypatch):
    """Bytes the reader inflated from the workbook, all parts together."""
    seen = {"bytes": 0}
    check = readers._BoundedPart._check

    def counting(self, data):
        seen["bytes"] += len(data)
        return check(self, data)

    monkeypatch.setattr(readers._BoundedPart, "_check", counting)
    return seen


def _refusal(data: bytes) -> str:
    with pytest.raises(FileProblem) as caught:
        table = read_table(io.BytesIO(data), filename="people.xlsx")
        list(table.rows)
    return str(caught.value)


def test_a_normal_workbook_is_still_read():
    table = read_table(io.BytesIO(_workbook()), filename="people.xlsx")
    assert table.headers == ["Name", "E-mail"]
    assert [r.values for r in table.rows] == [{"Name": "Ada", "E-mail": "ada@example.com"}]


def test_a_header_cell_bomb_is_refused_while_inflating_not_after(inflated, settings):
    # 40 MB of one header cell in a few tens of KB. The ratio cap alone would refuse it
    # before reading; lifted here to test the check made while inflating.
    huge = "A" * (40 * 1024 * 1024)
    data = _workbook(replace={SHEET: _sheet(f'<row r="1">{_inline("A1", huge)}</row>')})
    assert len(data) < 200_000
    settings.IMPORT_XLSX_MAX_RATIO = 10_000
    message = _refusal(data)
    assert message.startswith("Row 1: a text longer than a cell may be")
    assert SHEET in message
    # Refused within a few reads of the limit, not after inflating 40 MB.
    assert inflated["bytes"] < readers.MAX_XML_TEXT_BYTES + 2 * 1024 * 1024


def test_a_part_that_inflates_too_many_times_is_refused_before_reading_it(inflated):
    data = _workbook(replace={SHEET: _sheet('<row r="1">' + "<c/>" * 5_000_000 + "</row>")})
    message = _refusal(data)
    assert "inflates" in message and "times" in message and SHEET in message
    assert inflated["bytes"] == 0


def test_the_whole_workbook_has_an_inflated_size_limit(settings):
    settings.IMPORT_XLSX_MAX_INFLATED_BYTES = 500
    assert "the limit is 500" in _refusal(_workbook())


def test_a_shared_strings_bomb_is_refused_while_inflating(inflated, settings):
    settings.IMPORT_XLSX_MAX_RATIO = 10_000
    strings = (
        f'<?xml version="1.0" encoding="UTF-8"?><sst {NS} count="2" uniqueCount="2">'
        f"<si><t>{'N' * (20 * 1024 * 1024)}</t></si><si><t>E-mail</t></si></sst>"
    ).encode()
    message = _refusal(_workbook(replace={"xl/sharedStrings.xml": strings}))
    assert "a text longer than a cell may be" in message and "sharedStrings" in message
    assert inflated["bytes"] < readers.MAX_XML_TEXT_BYTES + 2 * 1024 * 1024


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "lol">'
    + "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9))
    + f"]><sst {NS}><si><t>&j;</t></si></sst>"
).encode()


def test_a_billion_laughs_in_shared_strings_is_a_clean_refusal():
    message = _refusal(_workbook(replace={"xl/sharedStrings.xml": LAUGHS}))
    assert "declares a DTD or entities" in message


def test_a_dtd_in_the_sheet_is_refused():
    sheet = (
        b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY x "Name">]>'
        + _sheet(f'<row r="1">{_inline("A1", "&x;")}</row>').split(b"?>", 1)[1]
    )
    assert "declares a DTD or entities" in _refusal(_workbook(replace={SHEET: sheet}))


def test_a_row_with_too_many_cells_is_refused_with_its_number():
    cells = "".join(
        _inline(f"A{i}", "x").replace(f'r="A{i}" ', "")
        for i in range(readers.MAX_CELLS_PER_ROW + 1)
    )
    sheet = _sheet(f'<row r="1">{_inline("A1", "Name")}</row>', f'<row r="2">{cells}</row>')
    message = _refusal(_workbook(replace={SHEET: sheet}))
    assert message.startswith("Row 2: 1,001 cells")


def test_too_many_columns_or_a_long_column_name_is_refused():
    header = ",".join(f"c{i}" for i in range(readers.MAX_COLUMNS + 1)).encode() + b"\n"
    assert "Row 1: the file has 501 columns" in _refusal_csv(header + b"x\n")
    assert "Row 1, column 2: the column name is 201 characters" in _refusal_csv(
        b"Name," + b"n" * 201 + b"\nx,y\n"
    )


def test_a_cell_longer_than_a_spreadsheet_cell_is_refused_with_row_and_column():
    message = _refusal_csv(b"Name,Notes\nAda," + b"n" * 40_000 + b"\n")
    assert message.startswith("Row 2, column 2: the cell is 40,000 characters long")


def _refusal_csv(data: bytes) -> str:
    with pytest.raises(FileProblem) as caught:
        list(read_table(io.BytesIO(data), filename="people.csv").rows)
    return str(caught.value)


def _bomb() -> bytes:
    return _workbook(replace={"xl/sharedStrings.xml": LAUGHS})


def test_the_api_answers_a_bomb_with_problem_json_and_stores_nothing(api_client):
    response = api_client("bob").post(
        "/api/v1/imports",
        {"file": SimpleUploadedFile("people.xlsx", _bomb(), content_type=XLSX), "kind": "contacts"},
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert "declares a DTD or entities" in response.json()["errors"]["file"][0]
    assert not ImportJob.objects.exists()


def test_the_web_form_shows_the_refusal_on_the_file_field(personas):
    client = Client()
    client.force_login(personas["bob"])
    response = client.post(
        reverse("ingest:import-create"),
        {"file": SimpleUploadedFile("people.xlsx", _bomb(), content_type=XLSX), "kind": "contacts"},
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert 'id="f-file-error"' in page and "declares a DTD or entities" in page
    assert not ImportJob.objects.exists()
