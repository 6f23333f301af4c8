"""The app shell: dashboard, navigation, preferences, search pages."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from rapport.contacts.models import Person
from rapport.core.navigation import main_navigation
from rapport.core.selectors import capped_count
from rapport.testing.factories import CompanyFactory, PersonFactory

pytestmark = pytest.mark.django_db


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_dashboard_counts_what_the_user_can_see(alice, carol):
    for i in range(3):
        PersonFactory(actor=alice, emails=[{"address": f"a{i}@example.com"}])
    PersonFactory(actor=carol, emails=[{"address": "c@example.com"}])
    response = browser(carol).get("/")
    assert response.status_code == 200
    people = next(s for s in response.context["summaries"] if s["entity"].key == "person")
    assert people["count"].value == 1 and not people["count"].capped


def test_capped_count_stops_at_the_cap(alice):
    for i in range(4):
        PersonFactory(actor=alice, emails=[{"address": f"cap{i}@example.com"}])
    result = capped_count(Person.objects.all(), cap=3)
    assert result.value == 3 and result.capped
    assert not capped_count(Person.objects.all(), cap=10).capped


def test_beyond_the_cap_the_planner_estimates_where_it_can(alice):
    from django.db import connection

    for i in range(6):
        PersonFactory(actor=alice, emails=[{"address": f"est{i}@example.com"}])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    result = capped_count(Person.objects.all(), cap=3, estimate=True)
    assert result.value == 3 and result.capped
    if connection.vendor == "postgresql":
        assert result.estimate is not None and result.estimate >= 4  # never below the cap
    else:
        assert result.estimate is None  # SQLite has no per-filter estimate: "3+"
    exact = capped_count(Person.objects.all(), cap=100, estimate=True)
    assert exact.value == 6 and not exact.capped and exact.estimate is None


def test_navigation_has_only_live_links(alice):
    web = browser(alice)
    html = web.get("/").content.decode()
    sidebar = re.search(r'<nav id="sidebar".*?</nav>', html, re.S).group(0)
    links = re.findall(r'href="([^"]+)"', sidebar)
    assert "/people/" in links and "/companies/" in links and "/trash/" in links
    for link in links:
        assert web.get(link).status_code == 200, link
    groups = main_navigation(alice)
    assert [g.key for g in groups] == ["contacts"]  # blocks without entities are absent


def test_viewer_sees_no_trash_link(dave):
    groups = main_navigation(dave)
    assert groups and "/trash/" not in browser(dave).get("/").content.decode()


def _sidebar(web, path: str) -> str:
    html = web.get(path).content.decode()
    return re.search(r'<nav id="sidebar".*?</nav>', html, re.S).group(0)


def test_reused_sidebar_follows_rights_page_and_language(alice, dave):
    """The rendered navigation is kept per variant, never handed to the wrong reader."""
    web, viewer = browser(alice), browser(dave)
    on_people = _sidebar(web, "/people/")
    on_companies = _sidebar(web, "/companies/")
    active = r'href="([^"]+)" class="nav-link nav-link-active"'
    assert re.findall(active, on_people) == ["/people/"]
    assert re.findall(active, on_companies) == ["/companies/"]
    assert re.findall(active, _sidebar(web, "/")) == ["/"]
    assert "/trash/" in _sidebar(web, "/people/")
    assert "/trash/" not in _sidebar(viewer, "/people/")  # same page, fewer rights
    web.cookies["django_language"] = "uk"
    ukrainian = _sidebar(web, "/people/")
    assert ukrainian != on_people and "Люди" in ukrainian
    web.cookies["django_language"] = "en"
    assert _sidebar(web, "/people/") == on_people


def test_admin_link_only_for_administrators(alice, admin):
    alice_links = browser(alice).get("/").context["account_links"]()
    admin_links = browser(admin).get("/").context["account_links"]()
    assert alice_links["admin"] is None
    assert admin_links["logout"]
    # the administration URL comes from the accounts app; present only when it resolves
    from rapport.core.navigation import url_or_none

    assert admin_links["admin"] == url_or_none("accounts:admin_home")


def test_language_switch_sets_cookie_and_profile(alice):
    web = browser(alice)
    response = web.post("/preferences/language/", {"language": "uk", "next": "/people/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    assert response.cookies["django_language"].value == "uk"
    alice.refresh_from_db()
    assert alice.language == "uk"
    assert '<html lang="uk"' in web.get("/").content.decode()
    assert web.post("/preferences/language/", {"language": "xx"}).status_code == 400


def test_language_switch_refuses_foreign_redirects(alice):
    response = browser(alice).post(
        "/preferences/language/", {"language": "pl", "next": "https://evil.example/"}
    )
    assert "evil.example" not in response.get("Location", "")


def test_theme_endpoint_persists(alice):
    web = browser(alice)
    response = web.post(
        "/preferences/theme/", {"theme": "dark"}, headers={"X-Requested-With": "fetch"}
    )
    assert response.status_code == 204
    alice.refresh_from_db()
    assert alice.theme == "dark"
    assert 'data-theme="dark"' in web.get("/").content.decode()
    assert web.post("/preferences/theme/", {"theme": "neon"}).status_code == 400
    alice.refresh_from_db()
    assert alice.theme == "dark"
    assert (
        web.post("/preferences/theme/", {"theme": "light", "next": "/people/"}).status_code == 302
    )


def test_search_page_groups_by_entity_and_is_scoped(
    alice, carol, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        mine = PersonFactory(actor=alice, last_name="Zorya", emails=[{"address": "z@example.com"}])
        company = CompanyFactory(actor=alice, name="Zorya Ltd")
        theirs = PersonFactory(
            actor=carol, last_name="Zorya", emails=[{"address": "zc@example.com"}]
        )
    response = browser(alice).get("/search/?q=zorya")
    keys = [entity.key for entity, _hits in response.context["groups"]]
    assert sorted(keys) == ["company", "person"]
    html = response.content.decode()
    assert f"/people/{mine.pk}/" in html and f"/companies/{company.pk}/" in html
    assert f"/people/{theirs.pk}/" not in html


def test_palette_returns_a_partial(alice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record = PersonFactory(
            actor=alice, last_name="Palettko", emails=[{"address": "p@example.com"}]
        )
    response = browser(alice).get("/search/palette/?q=palett", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert f'href="/people/{record.pk}/"' in html and 'class="palette-item"' in html


def test_pages_carry_csrf_header_and_no_inline_script(alice):
    html = browser(alice).get("/people/").content.decode()
    assert re.search(r'<body[^>]+hx-headers=\'\{"X-CSRFToken": "[^"]+"\}\'', html)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    assert " style=" not in html and "<style" not in html


def test_not_found_page_uses_the_shell(alice):
    response = browser(alice).get("/people/999999/")
    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
