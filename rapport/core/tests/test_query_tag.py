"""The `{% query %}` tag: the current query string with some parameters replaced."""

from __future__ import annotations

import pytest
from django.http import QueryDict
from django.test import RequestFactory

from rapport.core.templatetags.rapport_ui import query


def _reference(raw: str, **changes) -> str:
    """What the tag answered when it copied the QueryDict."""
    params = QueryDict(raw, mutable=True)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = value
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@pytest.mark.parametrize(
    ("raw", "changes"),
    [
        ("", {"ordering": "name"}),
        ("ordering=-name&cursor=abc", {"cursor": None}),
        ("tag=vip&tag=new&q=Łukasz+%26+Co", {"ordering": "-created_at", "cursor": None}),
        ("q=a%2Bb&owner=me", {"q": ""}),
        ("columns=name&columns=email&ordering=name", {"ordering": "email"}),
        ("only=1", {"only": None}),
    ],
)
def test_query_keeps_order_and_repeats_and_escapes(raw, changes):
    request = RequestFactory().get(f"/people/?{raw}")
    assert query({"request": request}, **changes) == _reference(raw, **changes)


def test_query_replaces_every_value_of_a_repeated_key():
    request = RequestFactory().get("/people/?tag=a&tag=b&x=1")
    assert query({"request": request}, tag="c") == "?tag=c&x=1"
