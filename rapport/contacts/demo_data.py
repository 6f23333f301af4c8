"""Static vocabulary of the demo data set, per locale (the generator is in demo.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LocaleSpec:
    """How people and companies of one locale look: phones, mail, places, money."""

    faker: str
    language: str
    country: str
    time_zone: str
    mobile_prefixes: tuple[str, ...]  # E.164 digits before the subscriber number
    mobile_digits: int
    landline_prefix: str
    landline_digits: int
    free_mail: tuple[str, ...]
    tlds: tuple[str, ...]
    cities: tuple[str, ...]
    currency: str
    patronymic: bool


LOCALES: dict[str, LocaleSpec] = {
    "uk": LocaleSpec(
        faker="uk_UA",
        language="uk",
        country="UA",
        time_zone="Europe/Kyiv",
        mobile_prefixes=(
            "38050",
            "38063",
            "38066",
            "38067",
            "38068",
            "38073",
            "38093",
            "38095",
            "38096",
            "38097",
            "38098",
            "38099",
        ),
        mobile_digits=7,
        landline_prefix="38044",
        landline_digits=7,
        free_mail=("ukr.net", "gmail.com", "i.ua", "meta.ua"),
        tlds=("com.ua", "ua", "kiev.ua"),
        cities=("Київ", "Львів", "Одеса", "Харків", "Дніпро", "Вінниця"),
        currency="UAH",
        patronymic=True,
    ),
    "ru": LocaleSpec(
        faker="ru_RU",
        language="ru",
        country="RU",
        time_zone="Europe/Moscow",
        mobile_prefixes=("7903", "7905", "7915", "7916", "7926", "7985", "7999"),
        mobile_digits=7,
        landline_prefix="7495",
        landline_digits=7,
        free_mail=("mail.ru", "yandex.ru", "gmail.com", "list.ru"),
        tlds=("ru", "com"),
        cities=("Москва", "Санкт-Петербург", "Казань", "Новосибирск", "Екатеринбург"),
        currency="RUB",
        patronymic=True,
    ),
    "pl": LocaleSpec(
        faker="pl_PL",
        language="pl",
        country="PL",
        time_zone="Europe/Warsaw",
        mobile_prefixes=(
            "4850",
            "4851",
            "4853",
            "4857",
            "4860",
            "4866",
            "4869",
            "4872",
            "4873",
            "4878",
            "4879",
            "4888",
        ),
        mobile_digits=7,
        landline_prefix="4822",
        landline_digits=7,
        free_mail=("wp.pl", "onet.pl", "o2.pl", "interia.pl", "gmail.com"),
        tlds=("pl", "com.pl"),
        cities=("Warszawa", "Kraków", "Gdańsk", "Wrocław", "Poznań", "Łódź"),
        currency="PLN",
        patronymic=False,
    ),
    "en": LocaleSpec(
        faker="en_US",
        language="en",
        country="US",
        time_zone="America/New_York",
        mobile_prefixes=(
            "1212",
            "1312",
            "1415",
            "1617",
            "1646",
            "1202",
            "1303",
            "1512",
            "1206",
            "1305",
        ),
        mobile_digits=7,
        landline_prefix="1212",
        landline_digits=7,
        free_mail=("gmail.com", "outlook.com", "yahoo.com", "icloud.com"),
        tlds=("com", "io", "co"),
        cities=("New York", "Boston", "Chicago", "San Francisco", "Austin", "Seattle"),
        currency="USD",
        patronymic=False,
    ),
}

# Teams, and the locale mix of the records each one owns.
TEAMS: dict[str, dict[str, int]] = {
    "Kyiv": {"uk": 60, "ru": 25, "en": 15},
    "Warsaw": {"pl": 80, "uk": 10, "en": 10},
    "London": {"en": 85, "pl": 10, "uk": 5},
}
TEAM_SHARE = {"Kyiv": 45, "Warsaw": 30, "London": 25}

DEMO_PASSWORD = "rapport-demo"  # noqa: S105 - printed to the operator on purpose

# username, role, team, first name, last name, share of the team's records owned
USERS: list[tuple[str, str, str, str, str, int]] = [
    ("admin", "admin", "Kyiv", "Ada", "Admin", 10),
    ("manager", "manager", "Kyiv", "Oksana", "Melnyk", 15),
    ("rep", "rep", "Kyiv", "Taras", "Shevchuk", 45),
    ("viewer", "viewer", "Kyiv", "Iryna", "Bondar", 0),
    ("olena", "rep", "Kyiv", "Olena", "Kravets", 30),
    ("magda", "manager", "Warsaw", "Magdalena", "Wójcik", 35),
    ("piotr", "rep", "Warsaw", "Piotr", "Nowak", 65),
    ("sophie", "manager", "London", "Sophie", "Clarke", 30),
    ("james", "rep", "London", "James", "Taylor", 70),
]
MARKER_USER = "admin"

INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Retail",
    "Logistics",
    "Agriculture",
    "Finance",
    "Healthcare",
    "Education",
    "Construction",
    "Energy",
    "Media",
    "Consulting",
    "Telecommunications",
    "Hospitality",
)
SIZES = (("1-9", 25), ("10-49", 35), ("50-249", 25), ("250-999", 10), ("1000+", 5))
REVENUE_BY_SIZE = {
    "1-9": (50_000, 500_000),
    "10-49": (500_000, 5_000_000),
    "50-249": (5_000_000, 40_000_000),
    "250-999": (40_000_000, 200_000_000),
    "1000+": (200_000_000, 2_000_000_000),
}
LEGAL_WORDS = {
    "tov",
    "pp",
    "pat",
    "prat",
    "npo",
    "ooo",
    "oao",
    "zao",
    "pao",
    "ao",
    "ip",
    "grupa",
    "sp",
    "z",
    "o",
    "o.o",
    "o.o.",
    "s.a",
    "s.a.",
    "llc",
    "inc",
    "ltd",
    "and",
    "plc",
    "group",
    "i",
    "ta",
    "the",
    "firma",
    "kompaniia",
    "kompaniya",
    "spolka",
    "pkhp",
    "fop",
}
COMPANY_TAGS = ("customer", "prospect", "partner", "supplier", "key account")
PERSON_TAGS = (
    "customer",
    "prospect",
    "vip",
    "newsletter",
    "partner",
    "investor",
    "conference-2025",
)
GROUPS = ("Family", "Friends", "Business", "Conference 2025")
SOURCES = ("Website", "Referral", "Conference", "Cold call", "LinkedIn", "Partner", "Web form")
TITLES = (
    "CEO",
    "CTO",
    "CFO",
    "Head of Sales",
    "Sales Manager",
    "Account Executive",
    "Engineer",
    "Senior Engineer",
    "Product Manager",
    "Marketing Manager",
    "Procurement Manager",
    "Office Manager",
    "Analyst",
    "Designer",
    "Operations Director",
    "HR Manager",
    "Lawyer",
)
DEPARTMENTS = (
    "Sales",
    "Engineering",
    "Marketing",
    "Finance",
    "Operations",
    "Procurement",
    "HR",
    "",
)

PERSON_FIELDS = [
    {
        "entity": "person",
        "slug": "preferred_channel",
        "label": "Preferred channel",
        "kind": "choice",
        "choices": ["Email", "Phone", "Telegram", "WhatsApp"],
        "position": 1,
    },
    {"entity": "person", "slug": "nps", "label": "NPS score", "kind": "number", "position": 2},
    {
        "entity": "person",
        "slug": "newsletter",
        "label": "Newsletter",
        "kind": "boolean",
        "position": 3,
    },
]
COMPANY_FIELDS = [
    {
        "entity": "company",
        "slug": "account_tier",
        "label": "Account tier",
        "kind": "choice",
        "choices": ["Gold", "Silver", "Bronze"],
        "position": 1,
    },
    {
        "entity": "company",
        "slug": "renewal_date",
        "label": "Contract renewal",
        "kind": "date",
        "position": 2,
    },
]
