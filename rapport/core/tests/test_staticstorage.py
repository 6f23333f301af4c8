"""The static storage keeps each hashed URL once found, and only found ones."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from rapport.core.staticstorage import StaticStorage


@pytest.fixture
def storage(tmp_path):
    manifest = {"paths": {"css/app.css": "css/app.0123abcd.css"}, "version": "1.1", "hash": "x"}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    return StaticStorage(location=str(tmp_path), base_url="/static/")


def test_hashed_url_is_the_manifests_and_is_kept(storage, monkeypatch):
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"
    calls = []
    original = StaticStorage.__mro__[1].url
    monkeypatch.setattr(
        StaticStorage.__mro__[1],
        "url",
        lambda self, *a, **k: calls.append(a) or original(self, *a, **k),
    )
    assert storage.url("css/app.css") == "/static/css/app.0123abcd.css"
    assert calls == []  # answered from what was kept


def test_a_missing_name_raises_every_time(storage):
    for _ in range(2):
        with pytest.raises(ValueError, match="Missing staticfiles manifest entry"):
            storage.url("js/nothing.js")
    assert "js/nothing.js" not in storage._urls


@override_settings(DEBUG=True)
def test_debug_keeps_nothing(storage):
    assert storage.url("css/app.css") == "/static/css/app.css"  # unhashed while debugging
    assert storage._urls == {}
