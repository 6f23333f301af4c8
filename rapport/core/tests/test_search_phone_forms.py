"""The search document's shortcuts decide exactly what the full work decides: a phone
token refused by its length alone is one `phonenumbers` finds invalid, a number parsed
once by `to_e164` is the number parsing its E.164 digits gives, and text folded word by
word is the text folded whole. (No database: these are pure functions.)"""

from __future__ import annotations

import random
import unicodedata

import phonenumbers
import pytest
from anyascii import anyascii
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from rapport.core import phones, search
from rapport.core.text import _NON_WORD, _SPACES, digits, fold


def reference_national_form(token: str) -> str:
    """`_national_form` as it was: parse, validate and format every candidate."""
    if not token.isdigit() or not 8 <= len(token) <= 15 or not search._has_country_code(token):
        return ""
    try:
        parsed = phonenumbers.parse("+" + token, None)
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return digits(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))


def reference_fold(text) -> str:
    if not text:
        return ""
    ascii_text = anyascii(unicodedata.normalize("NFKC", str(text))).lower()
    return _SPACES.sub(" ", _NON_WORD.sub(" ", ascii_text)).strip()


def _example_numbers() -> list[str]:
    """E.164 digits of an example number of every type of every region."""
    numbers = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (None, *phonenumbers.PhoneNumberType.values()):
            example = (
                phonenumbers.example_number(region)
                if kind is None
                else phonenumbers.example_number_for_type(region, kind)
            )
            if example is not None:
                numbers.append(phonenumbers.format_number(example, 0)[1:])
    return sorted(set(numbers))


EXAMPLES = _example_numbers()


def _variants(number: str, rng: random.Random) -> list[str]:
    """The number with its last digits changed, and the tails a document also holds."""
    out = []
    for _ in range(6):
        k = rng.randrange(1, min(6, len(number)))
        changed = number[:-k] + "".join(rng.choice("0123456789") for _ in range(k))
        out += [changed, changed[-9:], changed[-8:], changed[-10:], changed[1:], changed + "1"]
    return out


def test_every_regions_numbers_and_their_tails_get_the_full_checks_answer():
    rng = random.Random(4)
    search._national_form.cache_clear()
    tokens = [t for number in EXAMPLES for t in [number, *_variants(number, rng)]]
    refused = 0
    for token in tokens:
        assert search._national_form(token) == reference_national_form(token), token
        refused += token.isdigit() and search._cannot_be_valid(token)
    assert refused > len(tokens) // 4  # the shortcut does spare parses
    assert search._national_form("380671234567") == "0671234567"
    assert search._national_form("671234567") == ""  # a tail: no such number


@settings(max_examples=500, deadline=None)
@given(
    code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    rest=st.text(alphabet="0123456789", min_size=4, max_size=13),
)
def test_any_digits_after_any_calling_code_get_the_full_checks_answer(code, rest):
    token = f"{code}{rest}"
    assert search._national_form(token) == reference_national_form(token)


@pytest.mark.parametrize("region", ["UA", "US", "PL", "DE", "IT", "RU", "GB", "AR", "MX"])
def test_a_number_to_e164_parsed_is_the_number_its_e164_digits_parse_to(region):
    rng = random.Random(region)
    phones._PARSED.clear()
    kept = 0
    for number in EXAMPLES:
        example = phonenumbers.parse("+" + number, None)
        for text in (
            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL),
            phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
            "00" + number,
            number[:-1] + rng.choice("0123456789") + " ext. 12",
        ):
            try:
                e164 = phones.to_e164(text, region=region)
            except ValidationError:
                continue
            remembered = phones.reparsed(e164[1:])
            if remembered is None:
                continue
            kept += 1
            parsed = phonenumbers.parse(e164, None)
            assert not remembered.extension
            assert remembered.country_code == parsed.country_code
            assert remembered.national_number == parsed.national_number
            assert phonenumbers.national_significant_number(
                remembered
            ) == phonenumbers.national_significant_number(parsed)
            assert phonenumbers.is_valid_number(remembered) == phonenumbers.is_valid_number(parsed)
            assert phonenumbers.format_number(remembered, 2) == phonenumbers.format_number(
                parsed, 2
            )
    assert kept > len(EXAMPLES)


def test_the_parse_memo_stays_bounded():
    phones._PARSED.clear()
    for n in range(phones._PARSED_LIMIT + 10):
        phones.to_e164(f"+1 212 {n // 10000 % 1000:03d} {n % 10000:04d}", region="US")
    assert 0 < len(phones._PARSED) <= phones._PARSED_LIMIT


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text(alphabet=" \t\n\x85\u00a0\u2007\u0301\u00a8abcЖжΣσς łİ中\u200b,.-@+0²"),
    )
)
def test_folding_word_by_word_is_folding_the_whole_text(text):
    assert fold(text) == reference_fold(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789+-() abc²٣\x85é"))
def test_digits_are_what_isdigit_keeps(text):
    assert digits(text) == "".join(ch for ch in text if ch.isdigit())
