"""Each export format read back: CSV, XLSX, vCard, JSON; formula cells neutralised."""

from __future__ import annotations

import datetime
import decimal
import io

import pytest

from rapport.accounts.services import field_grant
from rapport.contacts.models import Person
from rapport.dataio import cells, exporting
from rapport.dataio.export_writers import CsvWriter, XlsxWriter
from rapport.dataio.models import ExportJob
from rapport.dataio.tests.export_helpers import (
    body_of,
    browser,
    grant_exporters,
    person,
    read_csv,
    read_json,
    read_vcards,
    read_xlsx,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def exporters(alice, bob, carol):
    """The reps may export (the built-in rep role may not)."""
    return grant_exporters(alice, bob, carol)


HOSTILE = {
    "equals": '=HYPERLINK("http://evil.example","click")',
    "plus": "+1 more call",
    "minus": "-2+3",
    "at": "@SUM(A1:A9)",
    "tab": "\tindent",
    "cr": "\rreturn",
}


def xml_text(value: str) -> str:
    """XLSX is XML, whose parsers read a CR as a line feed."""
    return value.replace("\r", "\n")


def export(user, entity="person", **query):
    """The file of a direct export through the service (as the UI and API call it)."""
    job = exporting.export_start(
        actor=user,
        entity_key=entity,
        fmt=query.pop("fmt"),
        filters=query.pop("filters", {}),
        ordering=query.pop("ordering", None),
        columns=query.pop("columns", None),
    )
    assert job.status == ExportJob.Status.DONE
    with job.file.open("rb") as handle:
        return handle.read()


def test_csv_holds_the_chosen_columns_in_the_list_order(exporters, alice):
    person(alice, first_name="Zoe", last_name="Zeta", phones=[{"number": "+380441234567"}])
    person(alice, first_name="Ann", last_name="Alpha", tags=["vip", "kyiv"])
    rows = read_csv(export(alice, fmt="csv", columns=["name", "phone", "tags"]))
    assert rows[0] == ["ID", "Name", "Phone", "Tags"]
    assert [r[1] for r in rows[1:]] == ["Ann Alpha", "Zoe Zeta"]
    assert rows[1][3] == "kyiv, vip"
    assert rows[2][2] == "+380441234567"  # an E.164 number stays a value, unguarded
    assert rows[1][0].isdigit()
    descending = read_csv(export(alice, fmt="csv", columns=["name"], ordering="-name"))
    assert [r[1] for r in descending[1:]] == ["Zoe Zeta", "Ann Alpha"]


def test_csv_and_xlsx_neutralise_formula_text(exporters, alice):
    for key, text in HOSTILE.items():
        person(alice, first_name=key, last_name="X", notes="", source=text)
        Person.objects.filter(first_name=key).update(last_name=text)
    csv_rows = read_csv(export(alice, fmt="csv", columns=["name"]))
    xlsx_rows = read_xlsx(export(alice, fmt="xlsx", columns=["name"]))
    for rows in (csv_rows, xlsx_rows):
        names = {xml_text(r[1]) for r in rows[1:]}
        for key, text in HOSTILE.items():
            assert xml_text(f"{key} {text}") in names  # starts with a letter: left alone
    for key in HOSTILE:
        Person.objects.filter(first_name=key).update(first_name="", prefix="")
    csv_rows = read_csv(export(alice, fmt="csv", columns=["name"]))
    xlsx_rows = read_xlsx(export(alice, fmt="xlsx", columns=["name"]))
    for rows in (csv_rows, xlsx_rows):
        names = [xml_text(r[1]) for r in rows[1:]]
        for text in HOSTILE.values():
            assert xml_text("'" + text) in names
        assert not any(str(n).startswith(("=", "+", "-", "@", "\t", "\r")) for n in names)


def test_writers_keep_numbers_dates_and_phones_as_values():
    row = [
        -5,
        decimal.Decimal("-12.50"),
        "-5 apples",
        "+380441234567",
        "+1 vote",
        "@SUM(A1)",
        datetime.date(1990, 2, 3),
        True,
        ["a", "=b"],
    ]
    stream = io.BytesIO()
    writer = XlsxWriter(stream, headers=[f"h{i}" for i in range(len(row))], title="T")
    writer.write(row)
    writer.close()
    header, values = read_xlsx(stream.getvalue())
    assert values[0] == -5 and isinstance(values[0], int)
    assert values[1] == -12.5
    assert values[2] == "'-5 apples"
    assert values[3] == "+380441234567"
    assert values[4] == "'+1 vote"
    assert values[5] == "'@SUM(A1)"
    assert values[6].date() == datetime.date(1990, 2, 3)  # a typed date cell
    assert values[7] is True
    assert values[8] == "a, =b"  # the joined text starts harmlessly
    stream = io.BytesIO()
    writer = CsvWriter(stream, headers=["=h"])
    writer.write(row)
    writer.close()
    header, values = read_csv(stream.getvalue())
    assert header == ["'=h"]
    assert values[:6] == ["-5", "-12.50", "'-5 apples", "+380441234567", "'+1 vote", "'@SUM(A1)"]
    assert values[6:8] == ["1990-02-03", "true"]


def test_guarded_cell_round_trips_through_unguard(exporters, alice):
    hostile = '=HYPERLINK("http://evil.example","x")'
    made = person(alice, first_name="", last_name=hostile, phones=[{"number": "+380501112233"}])
    rows = read_csv(export(alice, fmt="csv", columns=["name", "phone"]))
    cell = next(r for r in rows[1:] if r[0] == str(made.pk))
    assert cell[1] == "'" + hostile
    assert cells.unguard(cell[1]) == hostile
    assert cells.unguard(cell[2]) == "+380501112233"


def test_xlsx_has_typed_cells_and_a_header(exporters, alice, settings):
    made = person(alice, first_name="Olena", last_name="Kovalenko")
    rows = read_xlsx(export(alice, fmt="xlsx", columns=["name", "created_at"]))
    assert rows[0] == ("ID", "Name", "Created")
    assert rows[1][0] == made.pk
    assert isinstance(rows[1][2], datetime.datetime)
    assert abs(rows[1][2] - made.created_at.replace(tzinfo=None)) < datetime.timedelta(seconds=2)


def test_json_is_the_api_representation(exporters, alice):
    made = person(alice, first_name="Olena", last_name="Kovalenko", tags=["vip"])
    items = read_json(export(alice, fmt="json"))
    assert [i["id"] for i in items] == [made.pk]
    assert items[0]["last_name"] == "Kovalenko" and items[0]["tags"] == ["vip"]
    assert items[0]["emails"][0]["address"] == made.primary_email
    assert "birthday" not in items[0]  # alice holds no personal-data permission
    assert read_json(export(alice, fmt="json", filters={"q": ["nobody-here"]})) == []


def test_vcard_cards_carry_the_contact_details(exporters, alice, admin):
    made = person(
        admin,
        prefix="Dr",
        first_name="Олена",
        last_name="Коваленко",
        emails=[{"address": "olena@example.com", "label": "work"}],
        phones=[{"number": "+380441234567", "label": "mobile"}],
        addresses=[{"label": "home", "street": "Khreshchatyk 1", "city": "Kyiv", "country": "UA"}],
        websites=["https://olena.example"],
        notes="Met at the fair; likes tea",
        birthday=datetime.date(1990, 2, 3),
        tags=["vip"],
    )
    (card,) = read_vcards(export(admin, fmt="vcard"))
    assert card.version.value == "3.0"
    assert card.fn.value == "Dr Олена Коваленко"
    assert card.n.value.family == "Коваленко" and card.n.value.given == "Олена"
    assert card.email.value == "olena@example.com"
    assert card.tel.value == "+380441234567"
    assert card.adr.value.city == "Kyiv" and card.adr.value.street == "Khreshchatyk 1"
    assert card.url.value == "https://olena.example"
    assert card.note.value == "Met at the fair; likes tea"
    assert card.bday.value == "1990-02-03"
    assert card.uid.value == f"rapport-person-{made.pk}"
    (card,) = read_vcards(export(alice, fmt="vcard"))  # same team, no personal data
    assert "bday" not in card.contents


def test_vcard_only_for_people(exporters, admin):
    with pytest.raises(exporting.ExportQueryError) as info:
        export(admin, entity="company", fmt="vcard")
    assert [e["field"] for e in info.value.errors] == ["format"]


def test_personal_column_only_with_the_permission(exporters, alice, admin, erin):
    person(admin, first_name="B", birthday=datetime.date(1990, 2, 3))
    rows = read_csv(export(admin, fmt="csv", columns=["name", "birthday"]))
    assert rows[0][-1] == "Birthday" and rows[1][-1] == "1990-02-03"
    with pytest.raises(exporting.ExportQueryError) as info:
        export(alice, fmt="csv", columns=["name", "birthday"])
    assert [e["field"] for e in info.value.errors] == ["columns"]
    field_grant(actor=admin, user=alice, permission="personal_data")
    alice.refresh_from_db()
    rows = read_csv(export(alice, fmt="csv", columns=["name", "birthday"]))
    assert rows[1][-1] == "1990-02-03"


def test_company_export(exporters, alice):
    from rapport.testing.factories import CompanyFactory

    CompanyFactory(actor=alice, name="=cmd|' /C calc'!A0", phones=[{"number": "+380441234567"}])
    rows = read_csv(export(alice, entity="company", fmt="csv", columns=["name", "phone"]))
    assert rows[0] == ["ID", "Name", "Phone"]
    assert rows[1][1] == "'=cmd|' /C calc'!A0"
    assert rows[1][2] == "+380441234567"


def test_ui_download_from_the_list_query(exporters, alice):
    person(alice, first_name="Ann", last_name="Alpha", tags=["vip"])
    person(alice, first_name="Bob", last_name="Beta")
    response = browser(alice).get(
        "/data/exports/person/", {"format": "csv", "tag": "vip", "columns": "name,tags"}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    assert ".csv" in response["Content-Disposition"]
    rows = read_csv(body_of(response))
    assert [r[1:] for r in rows] == [["Name", "Tags"], ["Ann Alpha", "vip"]]
