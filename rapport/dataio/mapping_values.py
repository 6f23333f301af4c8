"""Parsing the text of one cell into a field value, with a message a person understands
when it cannot be: dates in the formats spreadsheets and address books write, phone
numbers in the importer's region, names split into parts, choices in four languages."""

from __future__ import annotations

import datetime
import functools
import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext as _

from rapport.contacts.models import Company, Gender, Person
from rapport.contacts.services.cleaning import normalize_domain
from rapport.core import phones
from rapport.core.text import fold

MULTI = frozenset({"email", "phone", "tags", "groups"})
_SPLIT = re.compile(r"\s*(?::::|;|,|\r\n|\n|\r)\s*")
_PREFIXES = {
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "sir",
    "pan",
    "pani",
    "пан",
    "пані",
    "господин",
    "госпожа",
    "д-р",
    "dr.",
    "mr.",
    "mrs.",
    "ms.",
    "prof.",
}
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv", "phd", "ph.d.", "md", "esq"}
_PATRONYMIC = re.compile(r"(ович|евич|йович|ич|івна|ївна|овна|евна|ична|инична)$", re.IGNORECASE)
_GENDERS = {
    Gender.FEMALE: [
        "f",
        "female",
        "woman",
        "w",
        "ж",
        "жін",
        "жінка",
        "жіноча",
        "жен",
        "женщина",
        "женский",
        "k",
        "kobieta",
        "żeńska",
        "kobiecy",
    ],
    Gender.MALE: [
        "m",
        "male",
        "man",
        "ч",
        "чол",
        "чоловік",
        "чоловіча",
        "м",
        "муж",
        "мужчина",
        "мужской",
        "mężczyzna",
        "męska",
        "męski",
    ],
    Gender.NONBINARY: ["nonbinary", "non-binary", "x", "небінарна", "небинарный", "niebinarna"],
    Gender.UNDISCLOSED: [
        "undisclosed",
        "prefer not to say",
        "не вказано",
        "не указан",
        "nie podano",
    ],
}
_GENDER_INDEX = {fold(name): value for value, names in _GENDERS.items() for name in names}


def phone_region(actor) -> str:
    return phones.default_region(actor)


def split(text: str) -> list[str]:
    return [part for part in _SPLIT.split(text) if part.strip()]


def limit(text: str, length: int) -> str:
    if len(text) > length:
        raise ValidationError(
            _("At most %(limit)s characters (this has %(count)s).")
            % {"limit": length, "count": len(text)}
        )
    return text


def max_length(entity: str, name: str) -> int:
    model = Person if entity == "person" else Company
    try:
        return model._meta.get_field(name).max_length or 10_000
    except Exception:  # not a model field: addresses and the like are limited elsewhere
        return 10_000


def checked_text(entity: str, name: str, text: str) -> str:
    return limit(text, max_length(entity, name))


def split_full_name(text: str) -> dict[str, str]:
    """ "Dr. John Q. Smith Jr.", "Smith, John", "Шевченко Тарас Григорович" → parts."""
    result = {"prefix": "", "first_name": "", "middle_name": "", "last_name": "", "suffix": ""}
    family = ""
    if "," in text:
        family, _sep, text = text.partition(",")
        family = family.strip()
    words = text.split()
    prefixes = {p.rstrip(".") for p in _PREFIXES}
    while len(words) > 1 and words[0].lower().rstrip(".") in prefixes:
        result["prefix"] = " ".join(filter(None, [result["prefix"], words.pop(0)]))
    while len(words) > 1 and words[-1].lower() in _SUFFIXES:
        result["suffix"] = " ".join(filter(None, [words.pop(), result["suffix"]]))
    if family:
        result["last_name"] = family
        result["first_name"] = words[0] if words else ""
        result["middle_name"] = " ".join(words[1:])
    elif len(words) == 1:
        result["first_name"] = words[0]
    elif len(words) == 3 and _PATRONYMIC.search(words[2]):
        result["last_name"], result["first_name"], result["middle_name"] = words
    elif words:
        result["first_name"] = words[0]
        result["last_name"] = words[-1]
        result["middle_name"] = " ".join(words[1:-1])
    return result


def email(text: str) -> str:
    from rapport.contacts.services.cleaning import VALID_EMAILS

    address = text.strip().strip("<>").removeprefix("mailto:")
    if not valid_email(address):
        raise ValidationError(_("“%(value)s” is not a valid email address.") % {"value": text})
    VALID_EMAILS.add(address)
    return address


def valid_email(address: str) -> bool:
    """What Django's `validate_email` decides, with the verdict on each domain kept: the
    rows of a file share a few domains, whose check costs more than the rest."""
    if not address or "@" not in address or len(address) > 320:
        return False
    user_part, domain_part = address.rsplit("@", 1)
    return bool(validate_email.user_regex.match(user_part)) and _valid_domain(domain_part)


@functools.lru_cache(maxsize=4096)
def _valid_domain(domain_part: str) -> bool:
    return domain_part in validate_email.domain_allowlist or bool(
        validate_email.validate_domain_part(domain_part)
    )


def phone(text: str, region: str) -> str:
    """Spreadsheets drop the "+" of numbers stored as numbers (380671234567): a long
    run of digits that is no number in the region is tried as international."""
    from rapport.contacts.services.cleaning import CANONICAL_PHONES

    try:
        number = phones.to_e164(text, region=region)
    except ValidationError:
        if not (text.isdigit() and len(text) >= 11):
            raise
        number = phones.to_e164("+" + text, region=region)
    CANONICAL_PHONES.add(number)
    return number


def tag(text: str) -> str:
    """Google's system labels ("* myContacts", "* starred") are not tags."""
    name = " ".join(text.split())
    if name.startswith("* "):
        return ""
    return name[:60]


_URL = URLValidator(schemes=["http", "https"])


def website(text: str) -> str:
    url = text.strip()
    if "://" not in url:
        url = "https://" + url
    try:
        _URL(url)
    except ValidationError as exc:
        raise ValidationError(_("“%(value)s” is not a web address.") % {"value": text}) from exc
    return url


def domain_of(url: str) -> str:
    return normalize_domain(url)


def domain(text: str) -> str:
    value = normalize_domain(text.split("@")[-1])
    if not re.fullmatch(r"([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}", value):
        raise ValidationError(_("“%(value)s” is not a domain name.") % {"value": text})
    return value


def linkedin(text: str) -> dict:
    value = text.strip()
    if "linkedin.com" in value.lower() or "://" in value:
        return {"network": "linkedin", "handle": "", "url": website(value)}
    return {"network": "linkedin", "handle": value.lstrip("@")[:100], "url": ""}


_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d", "%Y/%m/%d", "%Y.%m.%d")


def date(text: str) -> datetime.date:
    """ISO, vCard basic (19800506), day-first 06.05.1980 / 06/05/1980, and month-first
    5/26/1980 when the day cannot be the first number."""
    value = text.strip().split("T")[0].split(" ")[0]
    if value.startswith("--"):
        raise ValidationError(_("“%(value)s” has no year.") % {"value": text})
    for fmt in _DATE_FORMATS:
        try:
            return datetime.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    match = re.fullmatch(r"(\d{1,2})[./-](\d{1,2})[./-](\d{2}|\d{4})", value)
    if match:
        first, second, year = (int(g) for g in match.groups())
        if year < 100:
            year += 1900 if year > datetime.date.today().year % 100 else 2000
        day, month = (second, first) if second > 12 and first <= 12 else (first, second)
        try:
            return datetime.date(year, month, day)
        except ValueError:
            pass
    raise ValidationError(
        _("“%(value)s” is not a date (write it as YYYY-MM-DD or DD.MM.YYYY).") % {"value": text}
    )


def gender(text: str) -> str:
    value = _GENDER_INDEX.get(fold(text))
    if value is None:
        raise ValidationError(
            _("“%(value)s” is not one of the choices (female, male, non-binary).") % {"value": text}
        )
    return str(value)


def company_size(text: str) -> str:
    value = text.replace("–", "-").replace(" ", "")
    if value in Company.Size.values:
        return value
    digits = re.sub(r"[^\d]", "", value.split("-")[-1])
    if digits:
        count = int(digits)
        for upper, band in ((9, "1-9"), (49, "10-49"), (249, "50-249"), (999, "250-999")):
            if count <= upper:
                return band
        return "1000+"
    raise ValidationError(
        _("“%(value)s” is not a company size (a number of employees).") % {"value": text}
    )


def amount(text: str) -> Decimal:
    value = re.sub(r"[\s\u00a0']", "", text)
    value = re.sub(r"[^\d,.\-]", "", value)
    if "," in value and "." in value:
        value = (
            value.replace(",", "")
            if value.rfind(".") > value.rfind(",")
            else (value.replace(".", "").replace(",", "."))
        )
    elif "," in value:
        value = (
            value.replace(",", ".") if len(value.split(",")[-1]) != 3 else value.replace(",", "")
        )
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": text}) from exc
    if not number.is_finite() or abs(number) >= Decimal(10) ** 16:
        raise ValidationError(_("“%(value)s” is not an amount.") % {"value": text})
    return number.quantize(Decimal("0.01"))


def currency(text: str) -> str:
    value = text.strip().upper()
    symbols = {
        "$": "USD",
        "€": "EUR",
        "£": "GBP",
        "₴": "UAH",
        "ZŁ": "PLN",
        "ГРН": "UAH",
        "РУБ": "RUB",
        "₽": "RUB",
    }
    value = symbols.get(value, value)
    if not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError(
            _("“%(value)s” is not a currency code (such as EUR or UAH).") % {"value": text}
        )
    return value
