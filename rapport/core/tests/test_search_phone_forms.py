"""The search document's shortcuts decide exactly what the full work decides: a phone
token refused by its length alone is one `phonenumbers` finds invalid, a number parsed
from its E.164 digits is the number their parse gives, and text folded word by
word is the text folded whole. (No database: these are pure functions.)"""

from __future__ import annotations

import random
import unicodedata

import phonenumbers
import pytest
from anyascii import anyascii
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


def reference_pretty(e164: str) -> str:
    """`phones.pretty` as it was: parse, then format."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _assert_built_as_parsed(e164: str) -> bool:
    """`from_e164` gives exactly the parse's number, or None; returns whether it built."""
    built = phones.from_e164(e164)
    if built is None:
        return False
    assert built == phonenumbers.parse(e164, None), e164
    return True


def test_a_stored_number_is_built_from_its_digits_exactly_as_the_parse_makes_it():
    rng = random.Random(7)
    tokens = [t for number in EXAMPLES for t in [number, *_variants(number, rng)]]
    built = sum(_assert_built_as_parsed("+" + token) for token in tokens)
    assert built > len(tokens) // 2  # most numbers skip the parse
    # Italy keeps its leading zero; two or more are counted, all zeros but the last.
    assert phones.from_e164("+390612345678").italian_leading_zero
    assert phones.from_e164("+39000") == phonenumbers.parse("+39000", None)
    assert phones.from_e164("+3900012345").number_of_leading_zeros == 3
    # Not E.164, or a national prefix the parse may strip (Russia's 8): parse it.
    for text in ("380671234567", "+38 067", "+٣٨٠٦٧١٢٣٤٥٦٧", "+0123", "+", "", "+79161234567x"):
        assert phones.from_e164(text) is None, text
    assert phones.from_e164("+78121234567") is None


@settings(max_examples=800, deadline=None)
@given(
    code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    rest=st.text(alphabet="0123456789", min_size=0, max_size=18),
)
def test_any_digits_after_any_calling_code_get_the_full_work_answers(code, rest):
    """The national form, the number built from the digits and the shown form, each
    against the full work, for any digits after any calling code."""
    token = f"{code}{rest}"
    assert search._national_form(token) == reference_national_form(token)
    try:
        _assert_built_as_parsed("+" + token)
    except phonenumbers.NumberParseException:  # the parse refuses what was built
        pytest.fail(f"+{token} was built, but the parse refuses it")
    phones.pretty.cache_clear()
    assert phones.pretty("+" + token) == reference_pretty("+" + token)


def test_pretty_shows_every_regions_numbers_as_the_parse_would():
    phones.pretty.cache_clear()
    for number in EXAMPLES:
        assert phones.pretty("+" + number) == reference_pretty("+" + number), number
    assert phones.pretty("+380671234567") == "+380 67 123 4567"
    assert phones.pretty("not a number") == "not a number"


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
