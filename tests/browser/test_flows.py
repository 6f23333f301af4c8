"""The flows a person clicks through, in Debian's Chromium (see conftest.py).

Each test asserts what the person would see: the page they land on, the text on it,
the record in the database behind it.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_sign_in_shows_dashboard_with_navigation(page, alice, sign_in):
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))  # anonymous → login

    sign_in(page, "alice")

    expect(page).to_have_url(re.compile(r"/$"))
    nav = page.locator("#sidebar")
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name=re.compile("People", re.I))).to_have_attribute(
        "href", "/people/"
    )
    expect(nav.get_by_role("link", name=re.compile("Compan", re.I))).to_be_visible()

    # The page is styled by our compiled Tailwind build and scripted by our own JS.
    css = page.request.get(page.locator("link[rel=stylesheet]").first.get_attribute("href"))
    assert css.ok and "tailwindcss" in css.text()[:200]
    assert page.evaluate("() => !!window.htmx"), "htmx did not load"


def test_wrong_password_stays_on_login_with_an_error(page, alice):
    sign_in_attempt = page.goto("/accounts/login/")
    assert sign_in_attempt.ok
    page.fill("input[name=login]", "alice")
    page.fill("input[name=password]", "not-the-password")
    page.locator("input[name=password]").press("Enter")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.locator("input[name=password]")).to_be_visible()
    assert "sessionid" not in {c["name"] for c in page.context.cookies()}


def _create_person(page, *, first, last, emails):
    page.goto("/people/new/")
    page.fill("input[name=first_name]", first)
    page.fill("input[name=last_name]", last)
    rowset = page.locator("fieldset[data-rowset]:has(input[name=emails-count])")
    addresses = rowset.locator("input[name^=emails-][name$=-address]")
    for index, address in enumerate(emails):
        if addresses.count() <= index:
            rowset.locator("[data-add-row]").click()
        addresses.nth(index).fill(address)
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/people/\d+/$"))


def test_create_find_edit_see_history(page, login_as, alice):
    from rapport.contacts.models import Person

    login_as(page, alice)
    _create_person(
        page,
        first="Oksana",
        last="Zelenko",
        emails=["oksana@zelenko.example", "o.zelenko@work.example"],
    )
    person = Person.objects.get(last_name="Zelenko")
    assert sorted(e.address for e in person.emails.all()) == [
        "o.zelenko@work.example",
        "oksana@zelenko.example",
    ]
    main = page.locator("main")
    expect(main).to_contain_text("Oksana Zelenko")
    expect(main).to_contain_text("o.zelenko@work.example")

    # Ctrl+K from another page: palette opens, type, Enter lands on the record.
    page.goto("/")
    page.keyboard.press("Control+k")
    palette = page.locator("dialog#palette")
    expect(palette).to_be_visible()
    page.keyboard.type("Zelenko")
    expect(palette.locator(".palette-item").first).to_contain_text("Zelenko")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/people/{person.pk}/$"))

    # Edit: change the last name; the history shows the change.
    page.get_by_role("link", name=re.compile(r"^\s*Edit", re.I)).first.click()
    page.wait_for_url(re.compile(rf"/people/{person.pk}/edit/$"))
    page.fill("input[name=last_name]", "Zelenko-Bondar")
    page.locator("main form[method=post] button[type=submit]").last.click()
    page.wait_for_url(re.compile(rf"/people/{person.pk}/$"))
    expect(main).to_contain_text("Oksana Zelenko-Bondar")
    person.refresh_from_db()
    assert person.last_name == "Zelenko-Bondar"
    assert person.version == 2
    history = page.locator("section").filter(has=page.get_by_role("heading", name="History"))
    newest = history.locator("li.timeline-item").first
    expect(newest).to_contain_text("Alice")  # the actor
    expect(newest).to_contain_text(re.compile(r"Zelenko\s*→\s*Zelenko-Bondar"))


def test_delete_to_trash_and_restore(page, login_as, alice):
    from rapport.contacts.models import Person
    from rapport.testing.factories import PersonFactory

    person = PersonFactory(actor=alice, first_name="Taras", last_name="Trashman")
    login_as(page, alice)

    page.goto(f"/people/{person.pk}/")
    page.locator("main").get_by_role("button", name=re.compile("Delete", re.I)).first.click()
    page.wait_for_url(lambda url: f"/people/{person.pk}/" not in url)
    assert Person.objects.filter(pk=person.pk).count() == 0
    assert Person.all_objects.get(pk=person.pk).deleted_at is not None
    assert page.goto(f"/people/{person.pk}/").status == 404

    page.goto("/people/")
    expect(page.locator("main")).not_to_contain_text("Trashman")

    page.goto("/trash/")
    row = page.locator("main tr, main li").filter(has_text="Trashman").first
    expect(row).to_be_visible()
    row.get_by_role("button", name=re.compile("Restore", re.I)).click()
    expect(page.locator("main")).to_contain_text(re.compile("restored", re.I))
    assert Person.objects.get(pk=person.pk).deleted_at is None
    assert page.goto(f"/people/{person.pk}/").ok
    expect(page.locator("main")).to_contain_text("Taras Trashman")


def test_add_employment_form_loads_when_its_section_opens(page, login_as, alice):
    from rapport.testing.factories import CompanyFactory, PersonFactory

    company = CompanyFactory(actor=alice, name="Lviv Robotics")
    person = PersonFactory(actor=alice, first_name="Ivanna", last_name="Hirna")
    login_as(page, alice)

    page.goto(f"/people/{person.pk}/")
    expect(page.locator("select[name=company]")).to_have_count(0)  # not on the page yet
    page.get_by_text("Add employment").click()
    picker = page.locator("select[name=company]")
    expect(picker).to_be_visible()
    picker.select_option(str(company.pk))
    page.locator("input[name=title]").fill("Engineer")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("main")).to_contain_text("Employment added.")
    assert person.employments.get().title == "Engineer"


def test_switch_language_to_ukrainian(page, login_as, alice):
    login_as(page, alice)
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    with page.expect_navigation():
        page.locator("select[name=language]:visible").first.select_option("uk")

    expect(page.locator("html")).to_have_attribute("lang", "uk")
    alice.refresh_from_db()
    assert alice.language == "uk"
    expect(page.locator("#sidebar")).to_contain_text("Люди")
    expect(page.locator("#sidebar")).not_to_contain_text("People")
    # The choice follows the user to the next page.
    page.goto("/people/")
    expect(page.locator("html")).to_have_attribute("lang", "uk")


def test_phone_sized_people_list_fits_and_nav_is_a_drawer(phone_page, login_as, alice):
    from rapport.testing.factories import PersonFactory

    page = phone_page
    for index in range(8):
        PersonFactory(
            actor=alice,
            first_name=f"Maksymilian{index}",
            last_name="Wiśniewski-Przybyszewski",
            emails=[{"address": f"maksymilian.{index}.long-address@przedsiebiorstwo.example"}],
        )
    login_as(page, alice)
    page.goto("/people/")
    expect(page.locator("main")).to_contain_text("Wiśniewski-Przybyszewski")

    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the people list scrolls sideways by {overflow}px on a phone"

    sidebar = page.locator("#sidebar")
    expect(sidebar).not_to_be_in_viewport()
    toggle = page.locator("[data-drawer-toggle]")
    expect(toggle).to_be_visible()
    toggle.click()
    expect(sidebar).to_be_in_viewport()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    sidebar.get_by_role("link", name=re.compile("Compan", re.I)).click()
    expect(page).to_have_url(re.compile(r"/companies/"))


def test_invalid_email_is_shown_next_to_the_field_and_nothing_is_saved(page, login_as, alice):
    from rapport.contacts.models import Person

    login_as(page, alice)
    page.goto("/people/new/")
    page.fill("input[name=first_name]", "Broken")
    page.fill("input[name=emails-0-address]", "not-an-email")
    page.locator("main form[method=post] button[type=submit]").last.click()

    expect(page).to_have_url(re.compile(r"/people/new/$"))
    row = page.locator("[data-row]").filter(has=page.locator("input[name=emails-0-address]"))
    expect(row.locator(".field-error")).to_be_visible()
    expect(page.locator("input[name=emails-0-address]")).to_have_value("not-an-email")
    assert not Person.all_objects.filter(first_name="Broken").exists()


def test_dark_theme_is_kept_on_the_profile(page, login_as, alice):
    login_as(page, alice)
    page.goto("/")
    with page.expect_response(lambda r: "/preferences/theme/" in r.url) as answer:
        page.locator("[data-theme-choice=dark]").click()
    assert answer.value.status == 204
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    alice.refresh_from_db()
    assert alice.theme == "dark"
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")


def test_no_page_scrolls_sideways_on_a_phone(phone_page, login_as, alice):
    from rapport.testing.factories import CompanyFactory, PersonFactory

    page = phone_page
    company = CompanyFactory(
        actor=alice,
        name="Przedsiębiorstwo Handlowo-Usługowe Długa Nazwa",
        domains=["przedsiebiorstwo-handlowo-uslugowe.example"],
    )
    person = PersonFactory(
        actor=alice,
        first_name="Bożydar-Maksymilian",
        last_name="Wiśniewski-Przybyszewski",
        emails=[{"address": "bozydar.wisniewski-przybyszewski@uniwersytet-jagiellonski.example"}],
    )
    login_as(page, alice)
    pages = [
        "/",
        "/people/",
        "/people/new/",
        f"/people/{person.pk}/",
        f"/people/{person.pk}/edit/",
        "/companies/",
        f"/companies/{company.pk}/",
        "/trash/",
        "/search/?q=Wi%C5%9Bniewski",
    ]
    too_wide = {}
    for path in pages:
        assert page.goto(path).ok, path
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            too_wide[path] = overflow
    assert not too_wide, f"pages that scroll sideways on a 390px screen (px): {too_wide}"
