"""Reading customer files row by row, whatever their shape: CSV with any common delimiter,
quoting and encoding (UTF-8, UTF-8 with BOM, UTF-16, Latin-1/Windows-1252), and XLSX.

Files are streamed: memory stays flat however long the file is. Rows are numbered as a
spreadsheet shows them (the header is row 1, the first data row is row 2), so an error
message can send a person straight to the line.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

SAMPLE_BYTES = 64 * 1024
DELIMITERS = ",;\t|"

# What one row may hold. Excel itself stops a cell at 32,767 characters; a column name is a
# label and is stored with the job (and listed with every import), so it is kept short.
MAX_CELL_CHARS = 32_767
MAX_HEADER_CHARS = 200
MAX_COLUMNS = 500
MAX_CELLS_PER_ROW = 1_000
# In an XLSX part, a run of bytes without "<" is one text (a cell, a shared string): longer
# than a cell may be even written as entities ("&amp;" is 5 bytes) means a bomb, and it is
# refused while inflating, before the parser holds it in memory.
MAX_XML_TEXT_BYTES = 6 * MAX_CELL_CHARS
# A part compressing better than this (and big enough to matter) is not a spreadsheet.
XLSX_RATIO_FLOOR_BYTES = 1024 * 1024
XLSX_MAX_PARTS = 10_000


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
    _check_cells(1, raw)
    headers = [" ".join((h or "").split()) for h in raw]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise FileProblem("The first row is empty: it must name the columns.")
    if len(headers) > MAX_COLUMNS:
        raise FileProblem(
            f"Row 1: the file has {len(headers):,} columns; the limit is {MAX_COLUMNS:,}."
        )
    seen: set[str] = set()
    for i, name in enumerate(headers, start=1):
        if not name:
            raise FileProblem(f"Column {i} has no name in the first row.")
        if name.casefold() in seen:
            raise FileProblem(f"The column name '{name}' appears twice in the first row.")
        seen.add(name.casefold())
        if len(name) > MAX_HEADER_CHARS:
            raise FileProblem(
                f"Row 1, column {i}: the column name is {len(name):,} characters long; "
                f"the limit is {MAX_HEADER_CHARS:,}."
            )
    return headers


def _check_cells(number: int, cells: list[str]) -> None:
    """Refuse a row too wide or a cell too long (the row number sends a person to it)."""
    width = len(cells)
    while width and not cells[width - 1]:
        width -= 1  # trailing empty cells cost nothing and many tools write them
    if width > MAX_CELLS_PER_ROW:
        raise FileProblem(
            f"Row {number}: {width:,} cells; a row may have at most {MAX_CELLS_PER_ROW:,}."
        )
    for i, cell in enumerate(cells[:width], start=1):
        if len(cell) > MAX_CELL_CHARS:
            raise FileProblem(
                f"Row {number}, column {i}: the cell is {len(cell):,} characters long; "
                f"a cell may have at most {MAX_CELL_CHARS:,}."
            )


def _rows(
    headers: list[str], records: Iterator[Any], first_number: int = 2, *, text: bool = False
) -> Iterator[Row]:
    """Numbered rows; ``text`` says the records are lists of str already (CSV)."""
    for number, record in enumerate(records, start=first_number):
        cells = record if text else ["" if v is None else _cell_text(v) for v in record]
        if not any(cells) or not "".join(cells).strip():
            continue  # blank lines are not rows
        _check_cells(number, cells)
        yield Row(number, cells, headers)


def _cell_text(value: Any) -> str:
    # Spreadsheets store whole numbers (ids, phone numbers) as floats: 5.0 is "5".
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    # A cell formatted as a date comes as a datetime: its date, in ISO form, when it has
    # no time of day (a date of birth), so it reads as the date and not "… 00:00:00".
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def read_csv(stream: IO[bytes]) -> Table:
    sample = stream.read(SAMPLE_BYTES)
    stream.seek(0)
    if not sample.strip():
        raise FileProblem("The file is empty.")
    encoding = detect_encoding(sample)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="", errors="strict")
    head = sample.decode(encoding, errors="ignore")
    delimiter = detect_delimiter(head[: SAMPLE_BYTES // 2])
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

    return Table(
        headers=headers,
        rows=_rows(headers, records(), text=True),
        format="csv",
        encoding=encoding,
        delimiter=delimiter,
    )


def _xlsx_limits() -> tuple[int, int]:
    from django.conf import settings

    return (
        int(getattr(settings, "IMPORT_XLSX_MAX_INFLATED_BYTES", 2 * 1024**3)),
        int(getattr(settings, "IMPORT_XLSX_MAX_RATIO", 100)),
    )


class _Budget:
    """Inflated bytes left for the whole workbook, shared by every part opened."""

    def __init__(self, total: int) -> None:
        self.left = total
        self.total = total


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*?\br=[\"'](\d+)")
_DOCTYPES = tuple("<!DOCTYPE".encode(e) for e in ("utf-8", "utf-16-le", "utf-16-be"))


class _BoundedPart(io.RawIOBase):
    """One part of the workbook as it inflates, refused as soon as it breaks a limit:
    more bytes than its declared size or the workbook's budget, a DTD (entity expansion:
    "billion laughs"), or a text longer than a cell may be."""

    def __init__(self, inner: IO[bytes], name: str, declared: int, budget: _Budget) -> None:
        self.inner, self.name, self.declared, self.budget = inner, name, declared, budget
        self.seen = 0
        self.xml = name.lower().endswith((".xml", ".rels", ".vml"))
        self.prolog = b""  # bytes before the root element, where a DTD would be
        self.in_prolog = self.xml
        self.run = 0  # bytes since the last "<"
        self.row = 0
        self.tail = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def read(self, size: int | None = -1) -> bytes:
        data = self.inner.read(-1 if size is None else size)
        self._check(data)
        return data

    def readline(self, size: int | None = -1) -> bytes:
        data = self.inner.readline(-1 if size is None else size)
        self._check(data)
        return data

    def close(self) -> None:
        self.inner.close()
        super().close()

    def _refuse(self, reason: str) -> FileProblem:
        where = f"Row {self.row}: " if self.row else ""
        return FileProblem(
            f"{where}{reason} (in the workbook's part {self.name}). This is not a workbook Rapport will read."
        )

    def _check(self, data: bytes) -> None:
        if not data:
            return
        self.seen += len(data)
        self.budget.left -= len(data)
        if self.seen > self.declared:
            raise self._refuse("a part inflates to more than its declared size")
        if self.budget.left < 0:
            raise self._refuse(f"the workbook inflates to more than {self.budget.total:,} bytes")
        if not self.xml:
            return
        if self.in_prolog:
            self.prolog = (self.prolog + data)[:4096]
            if any(d in self.prolog for d in _DOCTYPES):
                raise self._refuse("the workbook declares a DTD or entities")
            # The prolog ends at the first element ("<" then a letter); a DTD after it is invalid XML.
            if re.search(rb"<[A-Za-z_]", self.prolog) or len(self.prolog) >= 4096:
                self.in_prolog = False
        window = self.tail + data
        rows = _ROW_TAG.findall(window)
        if rows:
            self.row = int(rows[-1])
        self.tail = window[-256:]
        last = data.rfind(b"<")
        if last < 0:
            self.run += len(data)
        else:
            first = data.find(b"<")
            longest = max(map(len, data[first:last].split(b"<"))) if last > first else 0
            self.run, longest = len(data) - last - 1, max(longest, self.run + first)
            if longest > MAX_XML_TEXT_BYTES:
                raise self._refuse(
                    f"a text longer than a cell may be ({MAX_CELL_CHARS:,} characters)"
                )
        if self.run > MAX_XML_TEXT_BYTES:
            raise self._refuse(f"a text longer than a cell may be ({MAX_CELL_CHARS:,} characters)")


def _bounded_zip(stream: IO[bytes]) -> Any:
    """A ZipFile for openpyxl whose parts are checked as they inflate (see ``_BoundedPart``),
    after the central directory's declared sizes and ratios were checked."""
    import zipfile

    total, ratio = _xlsx_limits()

    class BoundedZip(zipfile.ZipFile):
        budget = _Budget(total)

        def open(self, name: Any, mode: str = "r", pwd: bytes | None = None, **kw: Any) -> Any:  # type: ignore[override]
            inner = super().open(name, mode, pwd, **kw)
            if mode != "r":
                return inner
            info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
            return _BoundedPart(inner, info.filename, info.file_size, self.budget)

    archive = BoundedZip(stream)
    infos = archive.infolist()
    if len(infos) > XLSX_MAX_PARTS:
        raise FileProblem(f"The workbook has {len(infos):,} parts; a workbook has a few dozen.")
    declared = 0
    for info in infos:
        declared += info.file_size
        if info.file_size > XLSX_RATIO_FLOOR_BYTES and info.file_size > ratio * max(
            info.compress_size, 1
        ):
            raise FileProblem(
                f"The workbook's part {info.filename} inflates {info.file_size // max(info.compress_size, 1):,} times "
                f"(from {info.compress_size:,} to {info.file_size:,} bytes); more than {ratio} times is refused. "
                "This is not a workbook Rapport will read."
            )
    if declared > total:
        raise FileProblem(f"The workbook inflates to {declared:,} bytes; the limit is {total:,}.")
    return archive


def _problem_of(exc: BaseException) -> FileProblem:
    """Our own refusal if openpyxl wrapped it (it re-raises ValueErrors as its own)."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, FileProblem):
            return cause
        cause = cause.__cause__ or cause.__context__
    return FileProblem(f"This is not a readable XLSX workbook ({exc}).")


def read_xlsx(stream: IO[bytes]) -> Table:
    from xml.etree.ElementTree import ParseError
    from zipfile import BadZipFile

    from openpyxl.reader.excel import ExcelReader
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = (
        InvalidFileException,
        BadZipFile,
        KeyError,
        OSError,
        ValueError,
        ParseError,
        EOFError,
    )
    try:
        archive = _bounded_zip(stream)
        # load_workbook, with the archive swapped for the bounded one before any part is read.
        reader = ExcelReader(stream, read_only=True, data_only=True)
        reader.archive, reader.valid_files = archive, archive.namelist()
        reader.read()
        book = reader.wb
    except unreadable as exc:
        raise _problem_of(exc) from None
    if not book.worksheets:
        raise FileProblem("The workbook has no sheet.")
    sheet = book.worksheets[0]
    # The declared dimension would pad every row to its width (up to 16,384 cells).
    sheet.reset_dimensions()  # type: ignore[union-attr]

    def records() -> Iterator[Any]:
        try:
            yield from sheet.iter_rows(values_only=True)
        except unreadable as exc:
            raise _problem_of(exc) from None

    rows = records()
    try:
        headers = _clean_headers(["" if v is None else str(v) for v in next(rows)])
    except StopIteration:
        raise FileProblem("The first sheet is empty.") from None
    return Table(headers=headers, rows=_rows(headers, rows), format="xlsx")


def read_table(stream: IO[bytes], *, filename: str) -> Table:
    """A readable table from an uploaded or local file, chosen by its content and name."""
    start = stream.read(4)
    stream.seek(0)
    if start == b"PK\x03\x04" or filename.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx(stream)
    return read_csv(stream)
