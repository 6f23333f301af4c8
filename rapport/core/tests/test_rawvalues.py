"""rawvalues gives exactly what DjangoJSONEncoder writes from the ORM's converted value."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from hypothesis import given
from hypothesis import strategies as st

from rapport.core import rawvalues

ENCODER = DjangoJSONEncoder()
UTC = datetime.UTC


@given(st.datetimes(min_value=datetime.datetime(1900, 1, 1)))
def test_datetimes_match_the_encoder_naive_aware_and_text(moment):
    expected = ENCODER.default(moment.replace(tzinfo=UTC))
    assert rawvalues.json_datetime(moment) == expected  # SQLite's driver: naive UTC
    assert rawvalues.json_datetime(moment.replace(tzinfo=UTC)) == expected  # PostgreSQL
    assert rawvalues.json_datetime(str(moment)) == expected  # an untyped column


def test_other_offsets_and_empty_cells():
    kyiv = datetime.timezone(datetime.timedelta(hours=2))
    moment = datetime.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=kyiv)
    assert rawvalues.json_datetime(moment) == ENCODER.default(moment)
    assert rawvalues.json_datetime(None) is None
    with pytest.raises(ValueError, match="not a datetime"):
        rawvalues.json_datetime("yesterday")
    assert rawvalues.json_date(datetime.date(2026, 1, 2)) == "2026-01-02"
    assert rawvalues.json_date("2026-01-02") == "2026-01-02"
    assert rawvalues.json_date(None) is None


@pytest.mark.parametrize(
    "value", [[], {}, [{"city": "Київ"}], {"score": 4.5, "note": 'a "b"'}, None, "text", 3]
)
def test_json_cells_parse_to_what_was_stored(value):
    assert rawvalues.json_column(json.dumps(value)) == value
    assert rawvalues.json_column(None) is None
