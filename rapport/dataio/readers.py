"""Reading uploaded files row by row: CSV in any common encoding and delimiter, XLSX
sheets and vCard address books, all streamed so memory stays flat whatever the size.

`sniff()` looks at a file once (format, encoding, delimiter, sheet, header row, which
tool exported it); `iter_rows()` then yields `(number, cells)` for every data row.
Detection can be overridden by passing the value explicitly (the wizard's manual
override), and the same call re-reads a file the runner resumes.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from rapport.dataio import import_charsets as encodings

ENCODINGS: list[tuple[str, str]] = encodings.ENCODINGS
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_BYTES = 256 * 1024
HEADER_SCAN_ROWS = 10
# An honest XLSX unpacks to some 5-20 times its size; far more is a zip bomb that would
# keep a worker parsing padding for minutes. Small files may compress better (blank
# sheets), so the ratio counts only above ZIP_BOMB_MIN_BYTES unpacked.
ZIP_BOMB_RATIO = 100
ZIP_BOMB_MIN_BYTES = 16 * 1024 * 1024
# The fixed columns a vCard becomes (English: they are data headers, not interface text).
VCARD_HEADERS = [
    "Full name",
    "Prefix",
    "First name",
    "Middle name",
    "Last name",
    "Suffix",
    "Emails",
    "Phones",
    "Organization",
    "Title",
    "Birthday",
    "Street",
    "City",
    "Region",
    "Postal code",
    "Country",
    "Website",
    "Note",
    "Categories",
    "UID",
]

csv.field_size_limit(10 * 1024 * 1024)


@dataclass
class Sniffed:
    """What `sniff()` found out about a file; enough for `iter_rows()` to read it."""

    format: str  # "csv" | "xlsx" | "vcard"
    encoding: str  # "" for xlsx
    delimiter: str  # "" for xlsx/vcard
    sheets: list[str] = field(default_factory=list)
    sheet: str = ""
    headers: list[str] = field(default_factory=list)
    source: str = "generic"  # "google" | "outlook" | "linkedin" | "vcard" | "generic"
    skip: int = 0  # non-empty rows before the header row (LinkedIn's "Notes:" preamble)


def max_bytes() -> int:
    return int(getattr(settings, "RAPPORT_IMPORT_MAX_BYTES", 200 * 1024 * 1024))


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def sniff(
    path: str, filename: str, *, encoding: str = "", delimiter: str = "", sheet: str = ""
) -> Sniffed:
    """Detect format, encoding, delimiter, sheet, headers and source of a stored file.

    Raises ValidationError({"file": [...]}) for a file that is empty, too big, of a
    type we cannot read, or has no header row.
    """
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise _file_error(_("The file could not be read.")) from exc
    if size == 0:
        raise _file_error(_("The file is empty."))
    if size > max_bytes():
        raise _file_error(
            _("The file is too big (at most %(size)s MB).") % {"size": max_bytes() // (1024 * 1024)}
        )
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    kind = _format_of(head, filename)
    if kind == "xlsx":
        return _sniff_xlsx(path, sheet)
    if encoding:
        encoding = encodings.with_byte_order(encodings.check(encoding), head)
    else:
        encoding = encodings.detect(path, head)
    text = _decode_sample(head, encoding)
    if kind == "vcard" and "BEGIN:VCARD" not in text.upper():
        raise _file_error(_("This file holds no vCard (there is no BEGIN:VCARD line)."))
    if kind == "vcard" or text.lstrip("\ufeff \r\n\t").upper().startswith("BEGIN:VCARD"):
        return Sniffed("vcard", encoding, "", headers=list(VCARD_HEADERS), source="vcard")
    if delimiter:
        delimiter = _check_delimiter(delimiter)
    else:
        delimiter = _sniff_delimiter(text)
    rows = _first_rows(path, encoding, delimiter)
    if not rows:
        raise _file_error(_("The file has no rows."))
    skip = _header_index(rows)
    headers = [c.strip() for c in rows[skip]]
    while headers and not headers[-1]:
        headers.pop()
    if not headers:
        raise _file_error(_("The file has no header row."))
    return Sniffed(
        "csv", encoding, delimiter, headers=headers, source=detect_source(headers), skip=skip
    )


def iter_rows(path: str, sniffed: Sniffed) -> Iterator[tuple[int, list[str]]]:
    """Data rows as (number from 1, cells as text); empty rows are not rows."""
    if sniffed.format == "xlsx":
        rows = _xlsx_rows(path, sniffed.sheet)
    elif sniffed.format == "vcard":
        rows = _vcard_rows(path, sniffed.encoding)
    else:
        rows = _csv_rows(path, sniffed.encoding, sniffed.delimiter)
    number = 0
    to_skip = sniffed.skip + (0 if sniffed.format == "vcard" else 1)
    width = len(sniffed.headers)
    for cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if to_skip:
            to_skip -= 1
            continue
        number += 1
        if len(cells) < width:
            cells = cells + [""] * (width - len(cells))
        yield number, cells


# --- format and header detection ---------------------------------------------------------


def _format_of(head: bytes, filename: str) -> str:
    ext = os.path.splitext(filename or "")[1].lower().lstrip(".")
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _file_error(
            _("Old Excel files (.xls) cannot be read: save the sheet as .xlsx or CSV.")
        )
    if ext in {"xlsx", "xlsm"}:
        raise _file_error(_("This is not a valid Excel (.xlsx) file."))
    if ext in {"vcf", "vcard"}:
        return "vcard"
    if b"\x00" in head and not encodings.looks_utf16(head):
        raise _file_error(_("This file type cannot be imported: use CSV, XLSX or vCard."))
    return "csv"


def detect_source(headers: list[str]) -> str:
    """Which tool exported the file, recognised by its characteristic headers."""
    names = {h.strip().lower() for h in headers}
    if "connected on" in names and ("first name" in names or "email address" in names):
        return "linkedin"
    if (
        any(re.fullmatch(r"e-mail \d+ - value|phone \d+ - value", n) for n in names)
        or {
            "given name",
            "family name",
        }
        <= names
    ):
        return "google"
    if "e-mail display name" in names or {"e-mail address", "business phone"} <= names:
        return "outlook"
    return "generic"


def _header_index(rows: list[list[str]]) -> int:
    """The header is the first non-empty row, unless an export puts notes above it."""
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if detect_source(row) != "generic":
            return index
    return 0


def _decode_sample(head: bytes, encoding: str) -> str:
    return codecs.getincrementaldecoder(encoding)(errors="replace").decode(head, final=False)


def _check_delimiter(delimiter: str) -> str:
    named = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";", "pipe": "|"}
    delimiter = named.get(delimiter.lower(), delimiter)
    if len(delimiter) != 1 or delimiter in '\r\n"':
        raise ValidationError({"delimiter": [_("A delimiter is a single character.")]})
    return delimiter


def _sniff_delimiter(text: str) -> str:
    """The candidate that splits the first lines into the same number (> 1) of columns
    most consistently; comma when nothing splits."""
    lines = text.splitlines(keepends=True)[:60]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample may cut the last line in half
    sample = "".join(lines)
    best, best_score = ",", (0, 0)
    for candidate in DELIMITERS:
        try:
            counts = [len(r) for r in csv.reader(sample.splitlines(), delimiter=candidate) if r]
        except csv.Error:
            continue
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal), modal)
        if score > best_score:
            best, best_score = candidate, score
    return best


def _first_rows(path: str, encoding: str, delimiter: str) -> list[list[str]]:
    rows = []
    try:
        for cells in _csv_rows(path, encoding, delimiter):
            if any(c.strip() for c in cells):
                rows.append(cells)
                if len(rows) >= HEADER_SCAN_ROWS:
                    break
    except csv.Error as exc:
        raise _file_error(_("The file is not valid CSV: %(problem)s") % {"problem": exc}) from exc
    return rows


# --- CSV -----------------------------------------------------------------------------


def _csv_rows(path: str, encoding: str, delimiter: str) -> Iterator[list[str]]:
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        for row in csv.reader(fh, delimiter=delimiter or ","):
            yield [c.replace("\x00", "") for c in row]


# --- XLSX ----------------------------------------------------------------------------


def _check_unpacked_size(path: str) -> None:
    """Refuse a zip bomb by the sizes its directory declares (zipfile never inflates a
    member past its declared size, so the declaration cannot understate it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _file_error(_("This is not a valid Excel (.xlsx) file.")) from exc
    packed = max(os.path.getsize(path), 1)
    too_big = unpacked > 10 * max_bytes()
    if too_big or (unpacked > ZIP_BOMB_MIN_BYTES and unpacked / packed > ZIP_BOMB_RATIO):
        raise _file_error(
            _("This spreadsheet unpacks to far more data than it holds; it cannot be imported.")
        )


def _open_workbook(path: str):
    import openpyxl

    _check_unpacked_size(path)
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken or foreign zip
        raise _file_error(_("This is not a valid Excel (.xlsx) file.")) from exc


def _sniff_xlsx(path: str, sheet: str) -> Sniffed:
    workbook = _open_workbook(path)
    try:
        sheets = list(workbook.sheetnames)
        if sheet and sheet not in sheets:
            raise ValidationError({"sheet": [_("There is no sheet “%(name)s”.") % {"name": sheet}]})
        chosen = sheet or _first_filled_sheet(workbook, sheets)
    finally:
        workbook.close()
    rows = []
    for cells in _xlsx_rows(path, chosen):
        if any(c.strip() for c in cells):
            rows.append(cells)
            if len(rows) >= HEADER_SCAN_ROWS:
                break
    if not rows:
        raise _file_error(_("The sheet “%(name)s” is empty.") % {"name": chosen})
    skip = _header_index(rows)
    headers = [c.strip() for c in rows[skip]]
    while headers and not headers[-1]:
        headers.pop()
    return Sniffed(
        "xlsx",
        "",
        "",
        sheets=sheets,
        sheet=chosen,
        headers=headers,
        source=detect_source(headers),
        skip=skip,
    )


def _first_filled_sheet(workbook, sheets: list[str]) -> str:
    for name in sheets:
        for row in workbook[name].iter_rows(max_row=HEADER_SCAN_ROWS, values_only=True):
            if any(v not in (None, "") for v in row):
                return name
    return sheets[0] if sheets else ""


def cell_text(value) -> str:
    """An XLSX cell as the text a person sees: dates ISO, whole numbers without ".0"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return format(Decimal(repr(value)), "f")
    return str(value)


def _xlsx_rows(path: str, sheet: str) -> Iterator[list[str]]:
    workbook = _open_workbook(path)
    try:
        worksheet = workbook[sheet] if sheet else workbook.worksheets[0]
        for row in worksheet.iter_rows(values_only=True):
            yield [cell_text(v) for v in row]
    finally:
        workbook.close()


# --- vCard ---------------------------------------------------------------------------


def _vcard_rows(path: str, encoding: str) -> Iterator[list[str]]:
    """One row per card. Cards are cut out line by line and parsed one at a time, so a
    huge address book never sits in memory."""
    from rapport.dataio import import_vcards as vcards

    with open(path, encoding=encoding or "utf-8", errors="replace", newline="") as fh:
        for text in vcards.split_cards(fh):
            yield vcards.card_cells(text)
