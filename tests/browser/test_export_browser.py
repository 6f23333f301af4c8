"""Exporting a list from its Export menu, in Debian's Chromium (see conftest.py)."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_export_menu_downloads_the_list_as_searched(page, alice, login_as):
    from rapport.dataio.tests.export_helpers import grant_export, person

    grant_export(alice)
    person(alice, first_name="Olena", last_name="Kovalenko")
    person(alice, first_name="Petro", last_name="Shevchenko")
    login_as(page, alice)
    page.goto("/people/")
    search = page.locator("#list-q")
    search.fill("Kovalenko")
    page.wait_for_url(lambda url: "q=Kovalenko" in url)  # HTMX pushed the search
    expect(page.locator("#list-results")).not_to_contain_text("Shevchenko")

    page.locator("summary", has_text="Export").click()
    with page.expect_download() as info:
        page.get_by_role("menuitem", name="CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("people-")
    assert download.suggested_filename.endswith(".csv")
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert [row[1] for row in rows[1:]] == ["Olena Kovalenko"]  # the live search, not the load


def test_saved_view_keeps_the_live_search(page, alice, login_as):
    from rapport.core.models import SavedView
    from rapport.dataio.tests.export_helpers import person

    person(alice, first_name="Olena", last_name="Kovalenko")
    login_as(page, alice)
    page.goto("/people/")
    page.locator("#list-q").fill("Kovalenko")
    page.wait_for_url(lambda url: "q=Kovalenko" in url)  # HTMX pushed the search
    page.locator("summary", has_text="Save view").click()
    page.locator("#saved-view-name").fill("Kovalenkos")
    page.locator("button[form=save-view-form]").click()
    page.wait_for_load_state()
    view = SavedView.objects.get(name="Kovalenkos")
    assert view.params.get("q") == ["Kovalenko"]  # the search typed, not the page's load
