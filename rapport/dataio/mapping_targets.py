"""What a column can be imported into, and the header names that suggest each target.

Header names are compared folded (`core.text.fold`: transliterated, lower-case, no
punctuation), so "Імʼя", "Имя" and "imia" meet the same key and one list serves the
four interface languages. Known exports (Google Contacts, Outlook, LinkedIn) are
recognised by their exact headers; their few ambiguous names (Outlook's "Title" is a
name prefix) are resolved by the detected source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from rapport.core.text import fold


@dataclass(frozen=True)
class Target:
    """One thing a column can fill; `multi` targets take several columns and split cells."""

    key: str
    label: str | Promise
    multi: bool = False


ADDRESS_TARGETS = [
    Target("address_street", _("Street")),
    Target("address_city", _("City")),
    Target("address_region", _("Region")),
    Target("address_postal_code", _("Postal code")),
    Target("address_country", _("Country")),
]

PERSON_TARGETS = [
    Target("first_name", _("First name")),
    Target("last_name", _("Last name")),
    Target("middle_name", _("Middle name")),
    Target("prefix", _("Name prefix")),
    Target("suffix", _("Name suffix")),
    Target("full_name", _("Full name (split into parts)")),
    Target("email", _("Email"), multi=True),
    Target("phone", _("Phone"), multi=True),
    Target("company", _("Company")),
    Target("job_title", _("Job title")),
    Target("notes", _("Notes")),
    Target("source", _("Source")),
    Target("language", _("Language")),
    Target("birthday", _("Birthday")),
    Target("gender", _("Gender")),
    Target("website", _("Website")),
    Target("linkedin", _("LinkedIn profile")),
    *ADDRESS_TARGETS,
    Target("tags", _("Tags"), multi=True),
    Target("groups", _("Groups"), multi=True),
    Target("external_id", _("External id")),
]

COMPANY_TARGETS = [
    Target("name", _("Name")),
    Target("legal_name", _("Legal name")),
    Target("domain", _("Domain")),
    Target("website", _("Website")),
    Target("phone", _("Phone"), multi=True),
    Target("industry", _("Industry")),
    Target("size", _("Size")),
    Target("vat_id", _("VAT id")),
    Target("registration_id", _("Registration id")),
    Target("annual_revenue", _("Annual revenue")),
    Target("revenue_currency", _("Currency")),
    *ADDRESS_TARGETS,
    Target("tags", _("Tags"), multi=True),
    Target("external_id", _("External id")),
]

# Header names per target, in English, Ukrainian, Russian and Polish, plus the exact
# headers of Google Contacts, Outlook and LinkedIn exports. Folded before comparing.
# fmt: off
COMMON_NAMES: dict[str, list[str]] = {
    "email": [
        "email", "e-mail", "email address", "e-mail address", "mail", "emails", "work email",
        "e-mail 2 address", "e-mail 3 address", "електронна пошта", "ел. пошта", "пошта", "імейл",
        "емейл", "электронная почта", "эл. почта", "почта", "емейл", "имейл", "adres e-mail",
        "adres email", "poczta", "poczta e-mail",
    ],
    "phone": [
        "phone", "phones", "telephone", "phone number", "mobile", "mobile phone", "cell",
        "business phone", "business phone 2", "home phone", "home phone 2", "other phone",
        "primary phone", "company main phone", "work phone", "телефон", "мобільний",
        "мобільний телефон", "номер телефону", "мобильный", "мобильный телефон", "номер телефона",
        "telefon", "telefon komórkowy", "komórka", "numer telefonu", "tel", "tel.",
    ],
    "website": [
        "website", "web site", "web page", "url", "site", "homepage", "www", "веб-сайт", "сайт",
        "вебсайт", "strona", "strona www", "witryna",
    ],
    "tags": [
        "tags", "tag", "labels", "categories", "group membership", "мітки", "теги", "тег",
        "ярлики", "метки", "категории", "категорії", "tagi", "etykiety", "kategorie",
    ],
    "external_id": [
        "id", "external id", "uid", "record id", "contact id", "зовнішній id", "внешний id",
        "identyfikator", "код", "kod",
    ],
    "address_street": [
        "street", "address", "street address", "business street", "home street",
        "address 1 - street", "вулиця", "адреса", "улица", "адрес", "ulica", "adres",
    ],
    "address_city": [
        "city", "town", "business city", "home city", "address 1 - city", "місто", "город",
        "miasto", "miejscowość",
    ],
    "address_region": [
        "region", "state", "province", "business state", "home state", "address 1 - region",
        "область", "регіон", "регион", "województwo",
    ],
    "address_postal_code": [
        "postal code", "zip", "zip code", "postcode", "business postal code", "home postal code",
        "address 1 - postal code", "поштовий індекс", "індекс", "почтовый индекс", "индекс",
        "kod pocztowy",
    ],
    "address_country": [
        "country", "business country/region", "home country/region", "country/region",
        "address 1 - country", "країна", "страна", "kraj", "państwo",
    ],
}

PERSON_NAMES: dict[str, list[str]] = {
    **COMMON_NAMES,
    "first_name": [
        "first name", "first", "given name", "forename", "ім'я", "імʼя", "имя", "imię", "imie",
    ],
    "last_name": [
        "last name", "last", "surname", "family name", "прізвище", "фамилия", "nazwisko",
    ],
    "middle_name": [
        "middle name", "additional name", "по батькові", "отчество", "drugie imię", "drugie imie",
    ],
    "prefix": ["prefix", "name prefix", "salutation", "звертання", "обращение", "tytuł"],
    "suffix": ["suffix", "name suffix", "суфікс", "суффикс", "przyrostek"],
    "full_name": [
        "full name", "name", "display name", "contact name", "fn", "повне ім'я", "піб", "фіо",
        "полное имя", "фио", "imię i nazwisko", "imie i nazwisko", "pełne imię",
    ],
    "company": [
        "company", "organization", "organisation", "organization name", "organization 1 - name",
        "employer", "компанія", "організація", "компания", "организация", "firma", "organizacja",
        "przedsiębiorstwo",
    ],
    "job_title": [
        "job title", "title", "position", "role", "organization title", "organization 1 - title",
        "посада", "должность", "stanowisko",
    ],
    "notes": [
        "notes", "note", "comments", "comment", "примітки", "нотатки", "коментар", "заметки",
        "примечание", "комментарий", "notatki", "uwagi", "notatka",
    ],
    "source": ["source", "lead source", "джерело", "источник", "źródło"],
    "language": ["language", "мова", "язык", "język"],
    "birthday": [
        "birthday", "birth date", "date of birth", "dob", "день народження", "дата народження",
        "день рождения", "дата рождения", "urodziny", "data urodzenia",
    ],
    "gender": ["gender", "sex", "стать", "пол", "płeć"],
    "linkedin": ["linkedin", "linkedin url", "linkedin profile", "profile url"],
    "groups": ["groups", "group", "групи", "група", "группы", "группа", "grupy", "grupa"],
}

COMPANY_NAMES: dict[str, list[str]] = {
    **{k: v for k, v in COMMON_NAMES.items() if k != "email"},
    "name": [
        "name", "company", "company name", "organization", "organization name", "назва",
        "компанія", "назва компанії", "название", "компания", "название компании", "nazwa",
        "firma", "nazwa firmy",
    ],
    "legal_name": [
        "legal name", "full legal name", "юридична назва", "юридическое название", "nazwa prawna",
        "pełna nazwa",
    ],
    "domain": ["domain", "email domain", "домен", "domena"],
    "industry": ["industry", "sector", "галузь", "отрасль", "branża", "sektor"],
    "size": [
        "size", "employees", "company size", "number of employees", "розмір", "працівників",
        "размер", "сотрудников", "wielkość", "liczba pracowników",
    ],
    "vat_id": [
        "vat", "vat id", "vat number", "tax id", "іпн", "пдв", "инн", "нип", "nip", "nip ue",
    ],
    "registration_id": [
        "registration id", "registration number", "company number", "єдрпоу", "код єдрпоу",
        "огрн", "регистрационный номер", "regon", "krs",
    ],
    "annual_revenue": [
        "annual revenue", "revenue", "turnover", "дохід", "виручка", "выручка", "доход",
        "przychód", "obrót",
    ],
    "revenue_currency": ["currency", "revenue currency", "валюта", "waluta"],
}

# fmt: on

# Per-source overrides where a generic header means something else in that export.
SOURCE_NAMES: dict[str, dict[str, str]] = {
    "outlook": {"title": "prefix", "e-mail display name": ""},
    "linkedin": {"url": "linkedin", "connected on": ""},
    "google": {"name": "full_name", "labels": "tags"},
    "vcard": {
        "full name": "full_name",
        "prefix": "prefix",
        "first name": "first_name",
        "middle name": "middle_name",
        "last name": "last_name",
        "suffix": "suffix",
        "emails": "email",
        "phones": "phone",
        "organization": "company",
        "title": "job_title",
        "birthday": "birthday",
        "street": "address_street",
        "city": "address_city",
        "region": "address_region",
        "postal code": "address_postal_code",
        "country": "address_country",
        "website": "website",
        "note": "notes",
        "categories": "tags",
        "uid": "external_id",
    },
}

# Google Contacts numbers its repeated fields: "E-mail 2 - Value", "Phone 3 - Value".
PATTERNS: list[tuple[re.Pattern, str]] = [
    (re.compile(r"^e ?mail \d+ value$"), "email"),
    (re.compile(r"^phone \d+ value$"), "phone"),
    (re.compile(r"^website \d+ value$"), "website"),
    (re.compile(r"^address \d+ street$"), "address_street"),
    (re.compile(r"^address \d+ city$"), "address_city"),
    (re.compile(r"^address \d+ region$"), "address_region"),
    (re.compile(r"^address \d+ postal code$"), "address_postal_code"),
    (re.compile(r"^address \d+ country$"), "address_country"),
    (re.compile(r"^organi[sz]ation \d+ name$"), "company"),
    (re.compile(r"^organi[sz]ation \d+ title$"), "job_title"),
]

# Words that, anywhere in a header, point at a multi-value channel ("Work e-mail").
KEYWORDS: list[tuple[str, str]] = [
    ("email", "email"),
    ("e mail", "email"),
    ("poshta", "email"),
    ("pochta", "email"),
    ("phone", "phone"),
    ("telefon", "phone"),
    ("mobil", "phone"),
]


def folded_names(names: dict[str, list[str]]) -> dict[str, str]:
    index: dict[str, str] = {}
    for target, variants in names.items():
        for variant in variants:
            index.setdefault(fold(variant), target)
    return index


FOLDED = {"person": folded_names(PERSON_NAMES), "company": folded_names(COMPANY_NAMES)}
FOLDED_SOURCE = {
    source: {fold(k): v for k, v in names.items()} for source, names in SOURCE_NAMES.items()
}
