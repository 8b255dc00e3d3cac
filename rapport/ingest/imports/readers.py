"""Reading customer files row by row, whatever their shape: CSV with any common delimiter,
quoting and encoding (UTF-8, UTF-8 with BOM, UTF-16, Latin-1/Windows-1252), and XLSX.

Files are streamed: memory stays flat however long the file is. Rows are numbered as a
spreadsheet shows them (the header is row 1, the first data row is row 2), so an error
message can send a person straight to the line.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"


class FileProblem(ValueError):
    """The file as a whole cannot be read (not a row problem)."""


@dataclass(slots=True)
class Row:
    number: int  # as a spreadsheet numbers it: header = 1
    raw: list[str]  # the cells as read, for a rejected-rows file
    headers: list[str] = field(default_factory=list)

    @property
    def values(self) -> dict[str, str]:
        """Cells by header, stripped (built on demand: the import itself reads ``raw``)."""
        raw = self.raw
        return {h: (raw[i].strip() if i < len(raw) else "") for i, h in enumerate(self.headers)}


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[Row]
    format: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""


def detect_encoding(sample: bytes) -> str:
    """The encoding of a CSV file from its first bytes: a BOM if any, else UTF-8 if the
    sample decodes as UTF-8, else Windows-1252 (a superset of Latin-1 for text)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without a BOM: every other byte of ASCII text is zero.
    if len(sample) >= 4 and sample[1::2].count(0) > len(sample) // 4:
        return "utf-16-le"
    if len(sample) >= 4 and sample[0::2].count(0) > len(sample) // 4:
        return "utf-16-be"
    try:
        # Not final: a multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        sample.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined
        return "latin-1"


def detect_delimiter(text: str) -> str:
    """The candidate that splits the first lines into the same number of columns, the
    most columns winning a tie (quoted delimiters inside cells do not count)."""
    lines = text.splitlines(keepends=True)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end inside a row
    sample = "".join(lines[:50])
    best, best_score = ",", (0.0, 1)
    for candidate in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(io.StringIO(sample), delimiter=candidate) if r]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        score = (sum(c == counts[0] for c in counts) / len(counts), counts[0])
        if score > best_score:
            best, best_score = candidate, score
    return best


def _clean_headers(raw: list[str]) -> list[str]:
    headers = [" ".join((h or "").split()) for h in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise FileProblem("The first row is empty: it must name the columns.")
    seen: set[str] = set()
    for i, name in enumerate(headers, start=1):
        if not name:
            raise FileProblem(f"Column {i} has no name in the first row.")
        if name.casefold() in seen:
            raise FileProblem(f"The column name '{name}' appears twice in the first row.")
        seen.add(name.casefold())
    return headers


def _rows(headers: list[str], records: Iterator[Any], first_number: int = 2, *, text: bool = False) -> Iterator[Row]:
    """Numbered rows; ``text`` says the records are lists of str already (CSV)."""
    for number, record in enumerate(records, start=first_number):
        cells = record if text else ["" if v is None else _cell_text(v) for v in record]
        if not any(cells) or not "".join(cells).strip():
            continue  # blank lines are not rows
        yield Row(number, cells, headers)


def _cell_text(value: Any) -> str:
    # Spreadsheets store whole numbers (ids, phone numbers) as floats: 5.0 is "5".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_csv(stream: IO[bytes]) -> Table:
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not sample.strip():
        raise FileProblem("The file is empty.")
    encoding = detect_encoding(sample)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
    head = sample.decode(encoding, errors="ignore")
    delimiter = detect_delimiter(head[:SAMPLE_BYTES // 2])
    reader = csv.reader(text, delimiter=delimiter)
    try:
        headers = _clean_headers(next(reader))
    except StopIteration:
        raise FileProblem("The file is empty.") from None

    def records() -> Iterator[list[str]]:
        try:
            yield from reader
        except UnicodeDecodeError as exc:
            raise FileProblem(
                f"Row {reader.line_num + 1}: bytes that are not {encoding} text ({exc.reason}). "
                "Save the file as UTF-8 and upload it again."
            ) from None
        except csv.Error as exc:
            raise FileProblem(f"Row {reader.line_num}: {exc}.") from None

    return Table(headers=headers, rows=_rows(headers, records(), text=True), format="csv", encoding=encoding, delimiter=delimiter)


def read_xlsx(stream: IO[bytes]) -> Table:
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except (InvalidFileException, BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FileProblem(f"This is not a readable XLSX workbook ({exc}).") from None
    sheet = book.worksheets[0]
    records = sheet.iter_rows(values_only=True)
    try:
        headers = _clean_headers(["" if v is None else str(v) for v in next(records)])
    except StopIteration:
        raise FileProblem("The first sheet is empty.") from None
    return Table(headers=headers, rows=_rows(headers, records), format="xlsx")


def read_table(stream: IO[bytes], *, filename: str) -> Table:
    """A readable table from an uploaded or local file, chosen by its content and name."""
    start = stream.read(4)
    stream.seek(0)
    if start == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx(stream)
    return read_csv(stream)
