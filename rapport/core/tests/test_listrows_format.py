"""List cells format dates and escape text exactly as Django's own helpers do."""

from __future__ import annotations

import datetime

import pytest
from django.utils import dateformat, translation
from django.utils.formats import get_format
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given
from hypothesis import strategies as st

from rapport.core.listrows import _esc, date_formatter

FORMATS = ["m/d/Y", "d.m.Y", "Y-m-d", "d/m/Y", "j.n.y", "d-m-Y", "D, d M Y", r"d \d\e m", "N j, Y"]
TIME_FORMATS = ["d.m.Y H:i", "m/d/Y P", "Y-m-d G:i:s", "d/m/Y H:i", "j.n.y, H:i", "g:i a", "h A"]


@given(st.dates(min_value=datetime.date(1, 1, 1)), st.sampled_from(FORMATS))
def test_dates_match_dateformat(day, fmt):
    assert date_formatter(fmt)(day) == dateformat.format(day, fmt)


@given(st.datetimes(min_value=datetime.datetime(1, 1, 1)), st.sampled_from(TIME_FORMATS))
def test_datetimes_match_dateformat(moment, fmt):
    assert date_formatter(fmt)(moment) == dateformat.format(moment, fmt)


@pytest.mark.parametrize("language", ["en", "uk", "ru", "pl"])
@pytest.mark.parametrize("name", ["SHORT_DATE_FORMAT", "SHORT_DATETIME_FORMAT"])
@pytest.mark.parametrize("hour,minute", [(0, 0), (12, 0), (9, 5), (23, 30), (12, 1), (0, 7)])
def test_each_languages_short_formats_match(language, name, hour, minute):
    with translation.override(language):
        fmt = get_format(name)
        moment = datetime.datetime(2026, 3, 7, hour, minute, 4)
        assert date_formatter(fmt)(moment) == dateformat.format(moment, fmt)


@pytest.mark.parametrize(
    "value",
    ["plain", "<b>&\"'</b>", mark_safe("<i>safe</i>"), gettext_lazy("Name"), 42, None, ""],
)
def test_escape_matches_conditional_escape(value):
    assert _esc(value) == str(conditional_escape(value))


@pytest.mark.parametrize("hour,minute", [(0, 0), (12, 0), (9, 5), (15, 30)])
def test_words_are_in_the_formatters_language_whatever_is_active_later(hour, minute):
    """A formatter writes "a.m.", "noon" … in the language active when it was made (once
    a page), and a word first worked out while another language is active is still
    remembered in the formatter's own."""
    moment = datetime.datetime(2026, 3, 7, hour, minute)
    with translation.override("pl"):
        polish = dateformat.format(moment, "P A")
    with translation.override("uk"):
        ukrainian = dateformat.format(moment, "P A")
    with translation.override("uk"):
        made_in_ukrainian = date_formatter("P A")
    with translation.override("pl"):
        assert made_in_ukrainian(moment) == ukrainian
        assert date_formatter("P A")(moment) == polish
