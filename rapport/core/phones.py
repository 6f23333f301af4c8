"""Phone numbers in, E.164 out."""

from __future__ import annotations

import functools

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


@functools.lru_cache(maxsize=8192)
def pretty(e164: str) -> str:
    """International format for display."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164
