import codecs
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from rapport.ingest.imports.readers import FileProblem, read_table

ROWS = [["Name", "E-mail", "Notes"], ["Zoë Ångström", "zoe@example.com", "likes ; and , and \"quotes\""], ["Bob", "bob@example.com", "line one\nline two"]]


def _csv_bytes(rows, *, delimiter=",", encoding="utf-8", bom=b"") -> bytes:
    import csv

    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return bom + buffer.getvalue().encode(encoding)


def _read(data: bytes, name="file.csv"):
    table = read_table(io.BytesIO(data), filename=name)
    return table, list(table.rows)


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8-sig"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("utf-16-le", b"", "utf-16-le"),
        ("cp1252", b"", "cp1252"),
    ],
)
def test_every_common_encoding_is_detected_and_read(encoding, bom, expected):
    table, rows = _read(_csv_bytes(ROWS, encoding=encoding, bom=bom))
    assert table.encoding == expected
    assert table.headers == ["Name", "E-mail", "Notes"]
    assert rows[0].values["Name"] == "Zoë Ångström"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_the_delimiter_is_detected_and_quoting_is_honoured(delimiter):
    table, rows = _read(_csv_bytes(ROWS, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert rows[0].values["Notes"] == 'likes ; and , and "quotes"'
    assert rows[1].values["Notes"] == "line one\nline two"


def test_rows_are_numbered_as_a_spreadsheet_shows_them_and_blank_lines_skipped():
    data = b"Name,E-mail\nAnn,ann@example.com\n,\nBob,bob@example.com\n"
    _, rows = _read(data)
    assert [(r.number, r.values["Name"]) for r in rows] == [(2, "Ann"), (4, "Bob")]


def test_short_rows_get_empty_cells_and_extra_cells_are_kept_raw():
    _, rows = _read(b"A,B,C\n1\n1,2,3,4\n")
    assert rows[0].values == {"A": "1", "B": "", "C": ""}
    assert rows[1].raw == ["1", "2", "3", "4"]


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "empty"), (b"   \n", "empty"), (b"Name,,Phone\nx,y,z\n", "Column 2 has no name"), (b"Name,name\n1,2\n", "appears twice")],
)
def test_a_file_that_cannot_be_read_says_why(data, message):
    with pytest.raises(FileProblem, match=message):
        _read(data)


def test_bytes_that_break_the_detected_encoding_name_the_row():
    data = b"Name\n" + "Zoë\n".encode() * 40000 + b"Bad \xff\xfe byte\n"
    table = read_table(io.BytesIO(data), filename="x.csv")
    assert table.encoding == "utf-8"
    with pytest.raises(FileProblem, match=r"Row \d+: .*utf-8"):
        list(table.rows)


def test_xlsx_is_read_from_the_first_sheet():
    book = Workbook()
    sheet = book.active
    for row in ROWS:
        sheet.append(row)
    sheet.append([None, None, None])
    sheet.append(["Carl", "carl@example.com", 42])
    buffer = io.BytesIO()
    book.save(buffer)
    table, rows = _read(buffer.getvalue(), name="upload.bin")  # recognised by content
    assert table.format == "xlsx"
    assert [(r.number, r.values["Name"]) for r in rows] == [(2, "Zoë Ångström"), (3, "Bob"), (5, "Carl")]
    assert rows[2].values["Notes"] == "42"


def test_a_broken_xlsx_is_a_clear_error():
    with pytest.raises(FileProblem, match="not a readable XLSX"):
        _read(b"PK\x03\x04garbage", name="x.xlsx")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12), min_size=3, max_size=3),
        min_size=1,
        max_size=8,
    ),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-16"]),
)
def test_any_values_written_as_csv_are_read_back_unchanged(rows, delimiter, encoding):
    rows = [r for r in rows if any(c.strip() for c in r)]
    data = _csv_bytes([["A", "B", "C"], *rows], delimiter=delimiter, encoding=encoding)
    table = read_table(io.BytesIO(data), filename="x.csv")
    got = [[r.values[h] for h in ("A", "B", "C")] for r in table.rows]
    assert got == [[c.strip() for c in r] for r in rows]
