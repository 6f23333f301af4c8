"""Reading files: every encoding and delimiter detected, CSV corner cases, XLSX sheets,
vCard 2.1/3.0/4.0, export sources recognised, bad files refused with a clear error."""

from __future__ import annotations

import datetime

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.dataio import readers
from rapport.dataio.tests.importhelpers import csv_bytes

UKRAINIAN = [
    ["Прізвище", "Ім'я", "По батькові", "Телефон", "Компанія"],
    ["Шевченко", "Тарас", "Григорович", "+380671234567", "Кобзар і син"],
    ["Костенко", "Ліна", "Василівна", "0671234568", "Видавництво Їжак"],
    ["Франко", "Іван", "Якович", "", "Єдність"],
    ["Українка", "Леся", "Петрівна", "", "Ґанок"],
]
RUSSIAN = [
    ["Фамилия", "Имя", "Отчество", "Город"],
    ["Иванов", "Дмитрий", "Сергеевич", "Москва"],
    ["Смирнова", "Анна", "Петровна", "Санкт-Петербург"],
    ["Кузнецов", "Алексей", "Иванович", "Новосибирск"],
]
POLISH = [
    ["Nazwisko", "Imię", "Firma", "Miasto"],
    ["Kowalski", "Łukasz", "Żółć sp. z o.o.", "Łódź"],
    ["Wiśniewska", "Zofia", "Ścisła Spółka", "Kraków"],
    ["Wójcik", "Małgorzata", "Źródło", "Gdańsk"],
    ["Kamiński", "Paweł", "Ąę Świat", "Poznań"],
]
CASES = [
    (UKRAINIAN, "utf-8"),
    (UKRAINIAN, "utf-8-sig"),
    (UKRAINIAN, "utf-16"),
    (UKRAINIAN, "cp1251"),
    (UKRAINIAN, "koi8-u"),
    (RUSSIAN, "cp1251"),
    (RUSSIAN, "koi8-r"),
    (POLISH, "cp1250"),
    (POLISH, "iso-8859-2"),
    (POLISH, "utf-8"),
]


def write(tmp_path, content: bytes, name: str = "f.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def read_all(path: str, filename: str = "f.csv", **kwargs):
    sniffed = readers.sniff(path, filename, **kwargs)
    return sniffed, list(readers.iter_rows(path, sniffed))


@pytest.mark.parametrize(("rows", "encoding"), CASES)
def test_every_listed_encoding_is_detected_and_read_back(tmp_path, rows, encoding):
    path = write(tmp_path, csv_bytes(rows, encoding=encoding))
    sniffed, data = read_all(path)
    assert sniffed.encoding == encoding
    assert sniffed.headers == rows[0]
    assert data == [(i, row) for i, row in enumerate(rows[1:], start=1)]


def test_every_listed_encoding_is_offered():
    assert [codec for codec, _label in readers.ENCODINGS] == [
        "utf-8",
        "utf-8-sig",
        "utf-16",
        "cp1251",
        "cp1250",
        "koi8-u",
        "koi8-r",
        "iso-8859-2",
    ]


def test_utf16_big_endian_with_bom_is_read(tmp_path):
    content = b"\xfe\xff" + csv_bytes(UKRAINIAN, encoding="utf-16-be")
    _sniffed, data = read_all(write(tmp_path, content))
    assert data[0][1][0] == "Шевченко"


@pytest.mark.parametrize("order", ["utf-16-le", "utf-16-be"])
def test_utf16_chosen_for_a_file_without_a_byte_order_mark_reads_its_order(tmp_path, order):
    path = write(tmp_path, csv_bytes(POLISH, encoding=order))  # no BOM
    sniffed, data = read_all(path, encoding="UTF16")
    assert sniffed.encoding == order
    assert data[0][1][:2] == ["Kowalski", "Łukasz"]


def test_utf16_chosen_for_a_file_that_is_not_utf16_names_the_field(tmp_path):
    path = write(tmp_path, csv_bytes(UKRAINIAN, encoding="utf-8"))
    with pytest.raises(ValidationError) as exc:  # Python's codec raised a bare UnicodeError
        readers.sniff(path, "f.csv", encoding="utf-16")
    assert exc.value.message_dict == {"encoding": ["This file is not in UTF-16."]}


def test_manual_encoding_override_wins(tmp_path):
    path = write(tmp_path, csv_bytes(RUSSIAN, encoding="cp1251"))
    sniffed, data = read_all(path, encoding="koi8-r")
    assert sniffed.encoding == "koi8-r"
    assert data[0][1][0] != "Иванов"  # read as the user asked, wrongly
    with pytest.raises(ValidationError) as exc:
        readers.sniff(path, "f.csv", encoding="ebcdic-klingon")
    assert "encoding" in exc.value.message_dict


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, delimiter):
    rows = [["Name", "Email", "Note"], ["Ann, Jr.", "a@example.com", "x;y"], ["Bob", "b@x.io", ""]]
    path = write(tmp_path, csv_bytes(rows, delimiter=delimiter))
    sniffed, data = read_all(path)
    assert sniffed.delimiter == delimiter
    assert data[0][1] == ["Ann, Jr.", "a@example.com", "x;y"]


def test_delimiter_override_and_named_tab(tmp_path):
    path = write(tmp_path, b"a\tb;c\n1\t2;3\n")
    assert read_all(path, delimiter="tab")[1] == [(1, ["1", "2;3"])]
    assert read_all(path, delimiter=";")[1] == [(1, ["1\t2", "3"])]
    with pytest.raises(ValidationError) as exc:
        readers.sniff(path, "f.csv", delimiter=";;")
    assert "delimiter" in exc.value.message_dict


def test_quoted_newlines_ragged_rows_and_empty_lines(tmp_path):
    content = (
        b"Name,Notes,Email\r\n"
        b'Ann,"first line\r\nsecond line",ann@example.com\r\n'
        b"\r\n"
        b",,\r\n"
        b"Bob\r\n"
        b"Cid,x,c@example.com,extra,more\r\n"
        b'"Dee","she said ""hi""",\r\n'
    )
    _sniffed, data = read_all(write(tmp_path, content))
    assert data == [
        (1, ["Ann", "first line\r\nsecond line", "ann@example.com"]),
        (2, ["Bob", "", ""]),
        (3, ["Cid", "x", "c@example.com", "extra", "more"]),
        (4, ["Dee", 'she said "hi"', ""]),
    ]


def test_bom_is_not_part_of_the_first_header(tmp_path):
    sniffed, _data = read_all(write(tmp_path, "\ufeffEmail,Name\na@b.io,A\n".encode()))
    assert sniffed.encoding == "utf-8-sig"
    assert sniffed.headers == ["Email", "Name"]


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "f.csv", "empty"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old.xls", ".xls"),
        (b"PK\x03\x04not really a zip", "f.xlsx", "Excel"),
        (
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
            "p.png",
            "cannot be imported",
        ),
        (b"\r\n\r\n  \r\n", "f.csv", "no rows"),
    ],
)
def test_unreadable_files_are_refused_on_the_file_field(tmp_path, content, name, message):
    with pytest.raises(ValidationError) as exc:
        readers.sniff(write(tmp_path, content, name), name)
    assert message in " ".join(exc.value.message_dict["file"])


def test_too_big_file_is_refused(tmp_path, settings):
    settings.RAPPORT_IMPORT_MAX_BYTES = 10
    with pytest.raises(ValidationError) as exc:
        readers.sniff(write(tmp_path, b"a,b\n1,2\n3,4\n"), "f.csv")
    assert "too big" in exc.value.message_dict["file"][0]


def _xlsx(tmp_path) -> str:
    workbook = openpyxl.Workbook()
    first = workbook.active
    first.title = "Notes"
    second = workbook.create_sheet("People")
    second.append(["Name", "Born", "Phone", "Score", "Active"])
    second.append(["Łukasz", datetime.datetime(1980, 5, 6), 380671234567, 1.5, True])
    second.append([None, None, None, None, None])
    second.append(["Олена", datetime.date(1990, 1, 2), "+48 601 234 567", 2.0, None])
    third = workbook.create_sheet("Other")
    third.append(["Company"])
    third.append(["Acme"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    return str(path)


def test_xlsx_first_filled_sheet_with_values_as_text(tmp_path):
    path = _xlsx(tmp_path)
    sniffed, data = read_all(path, "book.xlsx")
    assert (sniffed.format, sniffed.encoding, sniffed.delimiter) == ("xlsx", "", "")
    assert sniffed.sheets == ["Notes", "People", "Other"]
    assert sniffed.sheet == "People"
    assert data == [
        (1, ["Łukasz", "1980-05-06", "380671234567", "1.5", "TRUE"]),
        (2, ["Олена", "1990-01-02", "+48 601 234 567", "2", ""]),
    ]


def test_xlsx_sheet_is_chosen_and_unknown_sheet_refused(tmp_path):
    path = _xlsx(tmp_path)
    sniffed, data = read_all(path, "book.xlsx", sheet="Other")
    assert sniffed.headers == ["Company"]
    assert data == [(1, ["Acme"])]
    with pytest.raises(ValidationError) as exc:
        readers.sniff(path, "book.xlsx", sheet="Nope")
    assert "sheet" in exc.value.message_dict


VCARDS = (
    "BEGIN:VCARD\r\nVERSION:2.1\r\n"
    "N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=A8=D0=B5=D0=B2=D1=87=D0=B5=D0=BD=D0=BA=D0=BE;"
    "=D0=A2=D0=B0=D1=80=D0=B0=D1=81\r\n"
    "TEL;CELL:+380671234567\r\nEMAIL;INTERNET:taras@example.com\r\nEND:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe;John;Q;Dr.;Jr.\r\nFN:Dr. John Q Doe Jr.\r\n"
    "EMAIL;TYPE=WORK:j@example.com\r\nEMAIL:k@example.com\r\nTEL;TYPE=CELL:+48 601 234 567\r\n"
    "ORG:Acme;Sales\r\nTITLE:CEO\r\nADR;TYPE=WORK:;;Main St 1;Kyiv;;01001;Ukraine\r\n"
    "BDAY:1980-05-06\r\nCATEGORIES:vip,golf\r\nNOTE:line1\\nline2\r\nUID:abc-1\r\n"
    "END:VCARD\r\n"
    "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Jan Kowalski\r\nN:Kowalski;Jan;;;\r\n"
    "TEL;VALUE=uri;TYPE=cell:tel:+48-601-234-568\r\nEMAIL:jan@example.pl\r\nEND:VCARD\r\n"
)


def test_vcards_of_every_version_become_rows_with_fixed_headers(tmp_path):
    path = write(tmp_path, VCARDS.encode(), "contacts.vcf")
    sniffed, data = read_all(path, "contacts.vcf")
    assert (sniffed.format, sniffed.source) == ("vcard", "vcard")
    assert sniffed.headers == readers.VCARD_HEADERS
    cards = [dict(zip(readers.VCARD_HEADERS, cells, strict=True)) for _n, cells in data]
    assert [n for n, _c in data] == [1, 2, 3]
    assert cards[0]["Last name"] == "Шевченко" and cards[0]["First name"] == "Тарас"
    assert cards[1]["Emails"] == "j@example.com\nk@example.com"
    assert cards[1]["Organization"] == "Acme" and cards[1]["City"] == "Kyiv"
    assert cards[1]["Prefix"] == "Dr." and cards[1]["Categories"] == "vip,golf"
    assert cards[1]["Note"] == "line1\nline2" and cards[1]["UID"] == "abc-1"
    assert cards[2]["Phones"] == "+48-601-234-568"


def test_vcard_detected_by_content_and_in_a_single_byte_encoding(tmp_path):
    text = "BEGIN:VCARD\nVERSION:3.0\nN:Шевченко;Тарас;;;\nFN:Тарас Шевченко\nEND:VCARD\n"
    path = write(tmp_path, text.encode("cp1251"), "export.txt")
    sniffed, data = read_all(path, "export.txt")
    assert (sniffed.format, sniffed.encoding) == ("vcard", "cp1251")
    assert data[0][1][0] == "Тарас Шевченко"


GOOGLE = [
    "Name",
    "Given Name",
    "Family Name",
    "E-mail 1 - Type",
    "E-mail 1 - Value",
    "Phone 1 - Type",
    "Phone 1 - Value",
    "Organization 1 - Name",
    "Group Membership",
]
OUTLOOK = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Company",
    "Job Title",
    "Business Phone",
    "Mobile Phone",
    "E-mail Address",
    "E-mail Display Name",
]
LINKEDIN = [
    "First Name",
    "Last Name",
    "URL",
    "Email Address",
    "Company",
    "Position",
    "Connected On",
]


@pytest.mark.parametrize(
    ("headers", "source"),
    [(GOOGLE, "google"), (OUTLOOK, "outlook"), (LINKEDIN, "linkedin"), (["a", "b"], "generic")],
)
def test_export_sources_are_recognised(tmp_path, headers, source):
    path = write(tmp_path, csv_bytes([headers, ["x"] * len(headers)]))
    assert readers.sniff(path, "f.csv").source == source


def test_linkedin_notes_above_the_header_are_skipped(tmp_path):
    content = (
        'Notes:\n"When exporting your connection data, you may notice that some of the '
        'email addresses are missing."\n\n' + ",".join(LINKEDIN) + "\n"
        "Ann,Lee,https://www.linkedin.com/in/annlee,,Acme,CTO,01 Feb 2024\n"
    ).encode()
    sniffed, data = read_all(write(tmp_path, content))
    assert sniffed.source == "linkedin"
    assert sniffed.headers == LINKEDIN
    assert data == [
        (1, ["Ann", "Lee", "https://www.linkedin.com/in/annlee", "", "Acme", "CTO", "01 Feb 2024"])
    ]


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"),
    max_size=12,
)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(cell, min_size=3, max_size=3), min_size=1, max_size=12),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16"]),
)
def test_any_written_csv_reads_back_row_for_row(tmp_path_factory, rows, delimiter, encoding):
    path = tmp_path_factory.mktemp("prop") / "f.csv"
    path.write_bytes(csv_bytes([["a", "b", "c"], *rows], encoding=encoding, delimiter=delimiter))
    sniffed = readers.sniff(str(path), "f.csv", delimiter=delimiter)
    expected = [r for r in rows if any(c.strip() for c in r)]
    got = [cells for _n, cells in readers.iter_rows(str(path), sniffed)]
    assert got == expected
