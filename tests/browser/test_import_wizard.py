"""Importing a CSV through the wizard in Chromium: upload, columns, preview, run, watch the
progress bar, read the report, open a created record (issue 3's browser test)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CSV = (
    "First name,Last name,E-mail,Remarks\n"
    "Olena,Kovalenko,olena@example.com,met in Lviv\n"
    "Taras,Shevchenko,not-an-email,\n"
    "Lesia,Ukrainka,lesia@example.com,poet\n"
)


def test_import_a_csv_through_the_wizard(page, login_as, alice, tmp_path):
    from rapport.contacts.models import Person

    source = tmp_path / "people.csv"
    source.write_text(CSV, encoding="utf-8")
    login_as(page, alice)

    page.goto("/people/")
    page.locator("[data-import-link]").click()
    expect(page).to_have_url(re.compile(r"/data/imports/new/\?entity=person$"))
    expect(page.locator("select[name=entity]")).to_have_value("person")
    page.set_input_files("input[name=file]", str(source))
    page.locator("form[data-import-upload] button[type=submit]").click()

    # Columns: the suggestions are filled in; the person adds the one it could not guess.
    page.wait_for_url(re.compile(r"/data/imports/\d+/mapping/$"))
    expect(page.locator("select[name=col_0]")).to_have_value("first_name")
    expect(page.locator("select[name=col_2]")).to_have_value("email")
    expect(page.locator("tr[data-column='0']")).to_contain_text("Olena")
    page.select_option("select[name=col_3]", "notes")
    page.locator("button[name=action][value=next]").click()

    # Preview: the bad email is marked and explained before anything is written.
    page.wait_for_url(re.compile(r"/data/imports/\d+/preview/$"))
    invalid = page.locator("[data-invalid-cell]")
    expect(invalid).to_have_count(1)
    expect(invalid).to_contain_text("not-an-email")
    assert not Person.objects.exists()
    page.check("input[name=strategy][value=skip]")
    page.check("input[name=match_on][value=email]")
    page.locator("form[data-import-start] button[type=submit]").click()

    # The run: the progress bar is there and reaches 100%, then the report adds up.
    page.wait_for_url(re.compile(r"/data/imports/\d+/$"))
    bar = page.locator("#import-progress progress")
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done")
    counts = page.locator("[data-import-counts]")
    expect(counts.locator("[data-count=created] .stat-value")).to_have_text("2")
    expect(counts.locator("[data-count=rejected] .stat-value")).to_have_text("1")
    expect(counts.locator("[data-count=total] .stat-value")).to_have_text("3")
    expect(page.locator("tr[data-outcome=rejected]")).to_contain_text("not-an-email")
    expect(page.get_by_role("link", name=re.compile("Download the report"))).to_be_visible()

    page.locator("tr[data-row='1'] a[href^='/people/']").click()
    expect(page).to_have_url(re.compile(r"/people/\d+/$"))
    expect(page.locator("main")).to_contain_text("Olena Kovalenko")
    assert Person.objects.filter(notes="met in Lviv").count() == 1


def test_progress_bar_follows_a_running_import(page, login_as, alice):
    """A job still running: the bar shows how far it is and polls; when the job ends the
    page turns into the report without a manual reload."""
    from rapport.dataio.models import ImportJob

    job = ImportJob.objects.create(
        user=alice,
        entity="person",
        filename="big.csv",
        format="csv",
        headers=["Name"],
        status=ImportJob.Status.RUNNING,
        total_rows=4,
        processed_rows=1,
    )
    login_as(page, alice)
    page.goto(f"/data/imports/{job.pk}/")
    bar = page.locator("#import-progress progress")
    expect(bar).to_have_attribute("value", "25")
    ImportJob.objects.filter(pk=job.pk).update(processed_rows=3)
    expect(bar).to_have_attribute("value", "75")  # the poll brought the new figure
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.DONE, processed_rows=4, created_count=4
    )
    expect(page.locator("#import-progress")).to_have_attribute("data-status", "done")
    expect(bar).to_have_attribute("value", "100")
    expect(page.locator("[data-count=created] .stat-value")).to_have_text("4")


def test_import_pages_do_not_scroll_sideways_on_a_phone(phone_page, login_as, alice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from rapport.dataio import importing

    def upload():
        data = SimpleUploadedFile(
            "a-rather-long-file-name-from-the-accounting-department.csv",
            CSV.replace(
                "met in Lviv", "bozydar.wisniewski-przybyszewski@uniwersytet.example"
            ).encode("utf-8"),
        )
        return importing.import_upload(actor=alice, entity="person", upload=data)

    draft = upload()
    done = upload()
    importing.import_start(actor=alice, job=done)  # runs at once: no transaction here
    done.refresh_from_db()
    assert done.status == "done"
    page = phone_page
    login_as(page, alice)
    for url in (
        "/data/imports/",
        "/data/imports/new/?entity=person",
        f"/data/imports/{draft.pk}/mapping/",
        f"/data/imports/{draft.pk}/preview/",
        f"/data/imports/{done.pk}/",
    ):
        page.goto(url)
        expect(page.locator("main h1")).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{url} scrolls sideways by {overflow}px on a phone"
