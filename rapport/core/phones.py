"""Phone numbers in, E.164 out."""

from __future__ import annotations

import functools
import re

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _


def default_region(user=None) -> str:
    return (getattr(user, "phone_region", "") or settings.RAPPORT_DEFAULT_PHONE_REGION).upper()


def to_e164(raw: str, *, region: str) -> str:
    """Parse a number typed in any format; raise ValidationError naming the problem."""
    text = (raw or "").strip()
    if not text:
        raise ValidationError(_("Enter a phone number."), code="required")
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            _("“%(value)s” is not a phone number."), code="invalid", params={"value": raw}
        ) from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(
            _("“%(value)s” is not a possible phone number."),
            code="invalid",
            params={"value": raw},
        )
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    _remember(number, parsed)
    return number


# Numbers `to_e164` parsed lately, by their E.164 digits: the search document parses
# "+<digits>" of every stored number again (`search._national_form`), and gets exactly
# this number back when the check in `_remember` holds. Bounded: memory stays flat.
_PARSED: dict[str, phonenumbers.PhoneNumber] = {}
_PARSED_LIMIT = 5_000  # more than one import batch holds


def _remember(e164: str, parsed: phonenumbers.PhoneNumber) -> None:
    """Keep `parsed` (without its extension, which E.164 drops) for `reparsed`, when
    `parse("+<digits>")` is known to give the same calling code and national number:
    calling codes are prefix-free, so `parse` takes this one, and what follows it stays
    the national number unless the code's main region has a national prefix that
    matches its start (then `parse` may strip or rewrite it: not kept)."""
    code = parsed.country_code
    national = e164[1 + len(str(code)) :]
    pattern = _national_prefix(code)
    if (
        not 2 <= len(national) <= 17
        or pattern is False
        or (pattern is not None and pattern.match(national))
    ):
        return
    if len(_PARSED) >= _PARSED_LIMIT:
        _PARSED.clear()
    _PARSED[e164[1:]] = phonenumbers.PhoneNumber(
        country_code=code,
        national_number=parsed.national_number,
        italian_leading_zero=parsed.italian_leading_zero,
        number_of_leading_zeros=parsed.number_of_leading_zeros,
    )


def reparsed(token: str) -> phonenumbers.PhoneNumber | None:
    """What `phonenumbers.parse("+" + token, None)` returns, when `to_e164` made that
    number lately (None: parse it)."""
    return _PARSED.get(token)


@functools.cache
def _national_prefix(code: int):
    """The national prefix pattern `parse` strips for calling code `code` (its main
    region's), None when there is none, False when the code is not one `parse` takes as
    itself (a shorter prefix of it is a code too) or has no metadata."""
    from phonenumbers.phonemetadata import PhoneMetadata

    text = str(code)
    table = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    if any(int(text[:size]) in table for size in range(1, len(text))):
        return False
    region = phonenumbers.region_code_for_country_code(code)
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region)
    if metadata is None:
        return False
    prefix = metadata.national_prefix_for_parsing
    return re.compile(prefix) if prefix else None


@functools.lru_cache(maxsize=8192)
def pretty(e164: str) -> str:
    """International format for display."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164
