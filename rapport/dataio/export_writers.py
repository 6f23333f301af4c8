"""File formats of exports: CSV, XLSX, vCard 3.0 and JSON, each written row by row.

Every writer takes a binary stream and rows one at a time, so an export of a million
records never holds more than one chunk in memory. Spreadsheet formats (CSV, XLSX) pass
every text cell through `cells.neutralize`: text a spreadsheet would evaluate as a
formula gets a leading `'`, while numbers, dates and E.164 phones stay values.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import decimal
import io
import json
import re
from collections.abc import Sequence
from typing import Any, BinaryIO

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from rapport.dataio.cells import neutralize

# Excel refuses a cell longer than this; longer text is cut rather than corrupting the file.
XLSX_MAX_TEXT = 32767
_XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_VCARD_TYPE = re.compile(r"[^A-Za-z0-9-]")


def local_naive(value: datetime.datetime) -> datetime.datetime:
    """A stored (UTC) moment in the user's time zone without tzinfo: spreadsheets have
    no zones, and people read times in their own."""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.replace(tzinfo=None, microsecond=0)


def _joined(value: list | tuple) -> str:
    return ", ".join(str(item) for item in value if item not in (None, ""))


def spreadsheet_value(value: Any) -> Any:
    """A column value as a typed spreadsheet value: numbers, booleans and dates as
    themselves, lists joined, everything else neutralised text."""
    if value is None:
        return None
    if isinstance(value, bool | int | float | decimal.Decimal):
        return value
    if isinstance(value, datetime.datetime):
        return local_naive(value)
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, list | tuple):
        value = _joined(value)
    return neutralize(str(value))


class CsvWriter:
    """UTF-8 with a BOM (so Excel detects the encoding), comma-separated, CRLF rows."""

    extension = "csv"
    content_type = "text/csv; charset=utf-8"

    def __init__(self, stream: BinaryIO, *, headers: Sequence[str], title: str = ""):
        stream.write(codecs.BOM_UTF8)
        self._text = io.TextIOWrapper(stream, encoding="utf-8", newline="", write_through=True)
        self._csv = csv.writer(self._text)
        self._csv.writerow([neutralize(str(h)) for h in headers])

    @staticmethod
    def _text_of(value: Any) -> str:
        value = spreadsheet_value(value)
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, datetime.datetime):
            return value.strftime("%Y-%m-%d %H:%M:%S")
        if isinstance(value, datetime.date):
            return value.isoformat()
        return str(value)

    def write(self, row: Sequence[Any]) -> None:
        self._csv.writerow([self._text_of(v) for v in row])

    def close(self) -> None:
        self._text.flush()
        self._text.detach()


class XlsxWriter:
    """A write-only workbook (rows go to a temporary file, not memory) with typed cells."""

    extension = "xlsx"
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

    def __init__(self, stream: BinaryIO, *, headers: Sequence[str], title: str = ""):
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        self._stream = stream
        self._book = Workbook(write_only=True)
        sheet_title = re.sub(r"[\\/*?:\[\]]", " ", str(title or "Export"))[:31].strip()
        self._sheet = self._book.create_sheet(sheet_title or "Export")
        self._sheet.freeze_panes = "A2"
        bold = Font(bold=True)
        header_cells = []
        for header in headers:
            cell = WriteOnlyCell(self._sheet, value=self._clean(neutralize(str(header))))
            cell.font = bold
            header_cells.append(cell)
        self._sheet.append(header_cells)

    @staticmethod
    def _clean(value: Any) -> Any:
        if isinstance(value, str):
            return _XLSX_ILLEGAL.sub("", value)[:XLSX_MAX_TEXT]
        return value

    def write(self, row: Sequence[Any]) -> None:
        self._sheet.append([self._clean(spreadsheet_value(v)) for v in row])

    def close(self) -> None:
        self._book.save(self._stream)


class JsonWriter:
    """One JSON array of records (`Entity.serialize`), written item by item."""

    extension = "json"
    content_type = "application/json"

    def __init__(self, stream: BinaryIO, *, headers: Sequence[str] = (), title: str = ""):
        self._stream = stream
        self._first = True
        stream.write(b"[")

    def write(self, item: dict[str, Any]) -> None:
        text = json.dumps(item, cls=DjangoJSONEncoder, ensure_ascii=False)
        self._stream.write(("\n" if self._first else ",\n").encode() + text.encode("utf-8"))
        self._first = False

    def close(self) -> None:
        self._stream.write(b"\n]\n" if not self._first else b"]\n")


def _type_param(label: str) -> list[str]:
    cleaned = _VCARD_TYPE.sub("", label or "")[:20]
    return [cleaned] if cleaned else []


class VcardWriter:
    """vCard 3.0, one card per person (RFC 2426), UTF-8. The birthday is written only
    for readers with the personal-data permission (`serialize` already leaves it out)."""

    extension = "vcf"
    content_type = "text/vcard; charset=utf-8"

    def __init__(self, stream: BinaryIO, *, headers: Sequence[str] = (), title: str = ""):
        self._stream = stream

    def write(self, item: dict[str, Any]) -> None:
        import vobject

        card = vobject.vCard()
        name = " ".join(
            str(item.get(k) or "")
            for k in ("prefix", "first_name", "middle_name", "last_name", "suffix")
            if item.get(k)
        )
        emails = item.get("emails") or []
        card.add("fn").value = name or (emails[0]["address"] if emails else f"#{item['id']}")
        card.add("n").value = vobject.vcard.Name(
            family=item.get("last_name") or "",
            given=item.get("first_name") or "",
            additional=item.get("middle_name") or "",
            prefix=item.get("prefix") or "",
            suffix=item.get("suffix") or "",
        )
        for email in emails:
            line = card.add("email")
            line.value = email["address"]
            line.type_param = ["INTERNET", *_type_param(email.get("label", ""))]
            if email.get("primary"):
                line.type_paramlist.append("PREF")
        for phone in item.get("phones") or []:
            line = card.add("tel")
            line.value = phone["number"]
            kinds = _type_param(phone.get("label", ""))
            if kinds:
                line.type_param = kinds
        if item.get("company_name"):
            card.add("org").value = [item["company_name"]]
        if item.get("job_title"):
            card.add("title").value = item["job_title"]
        for address in item.get("addresses") or []:
            line = card.add("adr")
            line.value = vobject.vcard.Address(
                street=address.get("street", ""),
                city=address.get("city", ""),
                region=address.get("region", ""),
                code=address.get("postal_code", ""),
                country=address.get("country", ""),
            )
            kinds = _type_param(address.get("label", ""))
            if kinds:
                line.type_param = kinds
        if item.get("birthday"):
            card.add("bday").value = _iso_date(item["birthday"])
        for url in item.get("websites") or []:
            card.add("url").value = str(url)
        if item.get("tags"):
            card.add("categories").value = [str(t) for t in item["tags"]]
        if item.get("notes"):
            card.add("note").value = item["notes"]
        card.add("uid").value = f"rapport-person-{item['id']}"
        self._stream.write(card.serialize().encode("utf-8"))

    def close(self) -> None:
        pass


def _iso_date(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime.date) else str(value)


WRITERS: dict[str, type] = {
    "csv": CsvWriter,
    "xlsx": XlsxWriter,
    "json": JsonWriter,
    "vcard": VcardWriter,
}
TABLE_FORMATS = frozenset({"csv", "xlsx"})
