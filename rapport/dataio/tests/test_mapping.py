"""Column mapping: suggestions in four languages and for known exports, validation
naming the entry, and cells turned into service data with per-cell errors."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from rapport.core.models import CustomFieldDefinition
from rapport.dataio import mapping, readers
from rapport.dataio.tests.test_readers import GOOGLE, LINKEDIN, OUTLOOK

pytestmark = pytest.mark.django_db


def targets_of(entity, headers, source="generic"):
    return [m["target"] for m in mapping.suggest(entity, headers, source)]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (
            ["First name", "Last name", "E-mail", "Phone", "Company", "Job title"],
            ["first_name", "last_name", "email", "phone", "company", "job_title"],
        ),
        (
            [
                "Імʼя",
                "Прізвище",
                "По батькові",
                "Електронна пошта",
                "Телефон",
                "Компанія",
                "Посада",
            ],
            ["first_name", "last_name", "middle_name", "email", "phone", "company", "job_title"],
        ),
        (
            ["Имя", "Фамилия", "Отчество", "Эл. почта", "Мобильный", "Организация", "Должность"],
            ["first_name", "last_name", "middle_name", "email", "phone", "company", "job_title"],
        ),
        (
            ["Imię", "Nazwisko", "Adres e-mail", "Telefon", "Firma", "Stanowisko", "Miasto"],
            ["first_name", "last_name", "email", "phone", "company", "job_title", "address_city"],
        ),
        (
            ["Ім'я", "ПІБ", "День народження", "Нотатки", "Мітки"],
            ["first_name", "full_name", "birthday", "notes", "tags"],
        ),
    ],
)
def test_person_headers_are_suggested_in_four_languages(headers, expected):
    assert targets_of("person", headers) == expected


def test_company_headers_are_suggested():
    headers = ["Назва", "Домен", "Сайт", "Телефон", "Галузь", "ЄДРПОУ", "NIP", "Waluta", "Kraj"]
    assert targets_of("company", headers) == [
        "name",
        "domain",
        "website",
        "phone",
        "industry",
        "registration_id",
        "vat_id",
        "revenue_currency",
        "address_country",
    ]


def test_google_contacts_headers_are_mapped():
    assert targets_of("person", GOOGLE, "google") == [
        "full_name",
        "first_name",
        "last_name",
        "",
        "email",
        "",
        "phone",
        "company",
        "tags",
    ]
    assert targets_of("person", ["E-mail 2 - Value", "Phone 3 - Value"], "google") == [
        "email",
        "phone",
    ]


def test_outlook_title_is_a_name_prefix_and_phones_are_many():
    assert targets_of("person", OUTLOOK, "outlook") == [
        "prefix",
        "first_name",
        "middle_name",
        "last_name",
        "company",
        "job_title",
        "phone",
        "phone",
        "email",
        "",
    ]


def test_linkedin_headers_are_mapped():
    assert targets_of("person", LINKEDIN, "linkedin") == [
        "first_name",
        "last_name",
        "linkedin",
        "email",
        "company",
        "job_title",
        "",
    ]


def test_vcard_virtual_headers_are_all_mapped():
    suggestions = targets_of("person", readers.VCARD_HEADERS, "vcard")
    assert "" not in suggestions
    assert len(set(suggestions) - {"email", "phone", "tags"}) == len(suggestions) - 3


def test_single_targets_are_suggested_once_and_unknown_headers_left_out():
    assert targets_of("person", ["Email", "Work e-mail", "Last name", "Surname", "Shoe size"]) == [
        "email",
        "email",
        "last_name",
        "",
        "",
    ]


def test_custom_fields_are_targets_and_suggested_by_label():
    CustomFieldDefinition.objects.create(
        entity="person", slug="shoe-size", label="Shoe size", kind="number"
    )
    assert "cf:shoe-size" in [t.key for t in mapping.targets("person")]
    assert targets_of("person", ["Shoe size"]) == ["cf:shoe-size"]


def test_unknown_entity_is_refused():
    with pytest.raises(ValidationError) as exc:
        mapping.targets("spaceship")
    assert "entity" in exc.value.message_dict


def test_validate_mapping_names_the_bad_entry():
    with pytest.raises(ValidationError) as exc:
        mapping.validate_mapping(
            "person",
            [
                {"column": 0, "target": "first_name"},
                {"column": 1, "target": "shoe_size"},
                {"column": 2, "target": "first_name"},
                {"column": "x", "target": "email"},
            ],
        )
    assert set(exc.value.message_dict) == {
        "mapping.1.target",
        "mapping.2.target",
        "mapping.3.column",
    }


def test_validate_mapping_accepts_multi_targets_twice_and_normalises():
    cleaned = mapping.validate_mapping(
        "person",
        [
            {"column": "2", "target": "email"},
            {"column": 0, "target": "email", "header": "E"},
            {"column": 1, "target": ""},
        ],
    )
    assert cleaned == [
        {"column": 0, "header": "E", "target": "email"},
        {"column": 1, "header": "", "target": ""},
        {"column": 2, "header": "", "target": "email"},
    ]


def plan(*targets_):
    return [{"column": i, "target": t} for i, t in enumerate(targets_)]


def test_multi_value_cells_split_and_columns_combine(alice):
    record = mapping.build_record(
        "person",
        plan("email", "email", "phone", "tags"),
        [
            "a@example.com; b@example.com",
            "c@example.com ::: d@example.com",
            "+380671234567\n+48 601 234 567",
            "vip, golf;* myContacts",
        ],
        actor=alice,
    )
    assert [e["address"] for e in record.data["emails"]] == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
        "d@example.com",
    ]
    assert [p["number"] for p in record.data["phones"]] == ["+380671234567", "+48601234567"]
    assert record.data["tags"] == ["vip", "golf"]
    assert record.errors == {}


def test_invalid_cells_are_explained_by_column(alice):
    record = mapping.build_record(
        "person",
        plan("first_name", "email", "phone", "website", "cf:nope"),
        ["Ann", "ann@", "12", "not a url at all", "x"],
        actor=alice,
    )
    assert set(record.errors) == {1, 2, 3, 4}
    assert "ann@" in record.errors[1]
    assert "phone number" in record.errors[2]


def test_personal_data_needs_the_permission(alice, admin):
    cells = ["Ann", "06.05.1980", "ж"]
    denied = mapping.build_record(
        "person", plan("first_name", "birthday", "gender"), cells, actor=alice
    )
    assert set(denied.errors) == {1, 2}
    allowed = mapping.build_record(
        "person", plan("first_name", "birthday", "gender"), cells, actor=admin
    )
    assert allowed.errors == {}
    assert allowed.data["birthday"] == datetime.date(1980, 5, 6)
    assert allowed.data["gender"] == "female"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1980-05-06", datetime.date(1980, 5, 6)),
        ("19800506", datetime.date(1980, 5, 6)),
        ("06.05.1980", datetime.date(1980, 5, 6)),
        ("5/26/1980", datetime.date(1980, 5, 26)),
        ("1980-05-06 00:00:00", datetime.date(1980, 5, 6)),
    ],
)
def test_dates_in_the_formats_files_use(admin, text, expected):
    record = mapping.build_record("person", plan("birthday"), [text], actor=admin)
    assert record.data["birthday"] == expected


@pytest.mark.parametrize("text", ["--05-06", "31.02.1980", "yesterday"])
def test_unparseable_dates_are_errors(admin, text):
    assert 0 in mapping.build_record("person", plan("birthday"), [text], actor=admin).errors


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Dr. John Q. Smith Jr.", ("Dr.", "John", "Q.", "Smith", "Jr.")),
        ("Smith, John Quincy", ("", "John", "Quincy", "Smith", "")),
        ("Шевченко Тарас Григорович", ("", "Тарас", "Григорович", "Шевченко", "")),
        ("Łukasz", ("", "Łukasz", "", "", "")),
    ],
)
def test_full_name_is_split_into_parts(alice, text, parts):
    data = mapping.build_record("person", plan("full_name"), [text], actor=alice).data
    keys = ("prefix", "first_name", "middle_name", "last_name", "suffix")
    assert tuple(data.get(k, "") for k in keys) == parts


def test_separate_name_columns_win_over_the_full_name(alice):
    data = mapping.build_record(
        "person", plan("first_name", "full_name"), ["Johnny", "John Smith"], actor=alice
    ).data
    assert (data["first_name"], data["last_name"]) == ("Johnny", "Smith")


def test_formula_guard_is_stripped_from_every_cell(alice):
    record = mapping.build_record(
        "person",
        plan("first_name", "notes", "phone"),
        ["'=Ann", "'@mention +1", "'+380671234567"],
        actor=alice,
    )
    assert record.data["first_name"] == "=Ann"
    assert record.data["notes"] == "@mention +1"
    assert record.data["phones"][0]["number"] == "+380671234567"


def test_company_values_are_parsed(alice):
    record = mapping.build_record(
        "company",
        plan("name", "website", "size", "annual_revenue", "revenue_currency", "external_id"),
        ["Acme", "www.acme.example", "120", "1 234 567,50", "₴", "ACME-1"],
        actor=alice,
    )
    assert record.errors == {}
    assert record.data == {
        "name": "Acme",
        "websites": ["https://www.acme.example"],
        "domains": ["acme.example"],
        "size": "50-249",
        "annual_revenue": Decimal("1234567.50"),
        "revenue_currency": "UAH",
    }
    assert record.external_id == "ACME-1"


def test_company_and_title_and_too_long_values(alice):
    record = mapping.build_record(
        "person",
        plan("first_name", "company", "job_title"),
        ["A" * 101, "Acme", "CTO"],
        actor=alice,
    )
    assert (record.company_name, record.job_title) == ("Acme", "CTO")
    assert "100" in record.errors[0]


def test_phone_numbers_stored_as_numbers_get_their_plus_back(alice):
    record = mapping.build_record("person", plan("phone"), ["380671234567"], actor=alice)
    assert record.data["phones"][0]["number"] == "+380671234567"
