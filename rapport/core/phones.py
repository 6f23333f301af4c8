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
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def from_e164(e164: str) -> phonenumbers.PhoneNumber | None:
    """What `phonenumbers.parse(e164, None)` returns for a number in E.164 form ("+" and
    ASCII digits), built from its digits without the parse (a quarter of its cost); None
    when the parse might differ, and the caller parses.

    The parse takes the calling code as the shortest prefix that is one (codes are
    prefix-free), and keeps what follows as the national number unless the code's main
    region has a national prefix that matches its start (then it may strip or rewrite
    it: None here). A leading zero is kept as the parse keeps it (Italy's numbers)."""
    number = e164[1:]
    if e164[:1] != "+" or not number.isascii() or not number.isdigit() or number[0] == "0":
        return None
    table = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    size = next((size for size in (1, 2, 3) if int(number[:size]) in table), 0)
    if not size:
        return None
    code, national = int(number[:size]), number[size:]
    pattern = _national_prefix(code)
    if (
        not 2 <= len(national) <= 17
        or pattern is False
        or (pattern is not None and pattern.match(national))
    ):
        return None
    parsed = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    if national[0] == "0":
        parsed.italian_leading_zero = True
        zeros = min(len(national) - len(national.lstrip("0")), len(national) - 1)
        if zeros != 1:
            parsed.number_of_leading_zeros = zeros
    return parsed


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
        parsed = from_e164(e164) or phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
