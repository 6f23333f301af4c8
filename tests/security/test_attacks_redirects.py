"""Open redirects: after sign-in (`?next=https://evil.example`, `//evil.example`,
`/\\evil.example` …), on every `next`/redirect parameter the app reads, on a Referer it
falls back to, and — by a sweep of the whole URL map — anywhere else a redirect might
take its target from the request. The API's own Location headers stay on this host."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client

from rapport.core.api.testing import ApiClient
from rapport.testing.factories import PASSWORD

from .attacks import SURFACES, api_url, browser, concrete, entities, html_url, make, ui_routes

pytestmark = pytest.mark.django_db

EVIL = [
    "https://evil.example/phish",
    "//evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "https:evil.example",
    "http://testserver@evil.example/",
    " //evil.example",
    "/\t/evil.example",
    "///evil.example",
    "javascript:alert(1)",
    "https://evil.example%2F@testserver/",
]
REDIRECT_PARAMS = ("next", "return_to", "redirect", "redirect_to", "redirect_url", "back", "url")


def assert_on_site(response, where: str) -> None:
    """Resolve Location the way a browser does (backslashes are slashes, leading blanks
    and tabs dropped): it must stay on this host and be http(s)."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return
    location = response["Location"].replace("\\", "/").replace("\t", "").strip()
    target = urlsplit(urljoin("http://testserver/here/", location))
    assert target.scheme in ("http", "https"), (where, response["Location"])
    assert target.hostname == "testserver", (where, response["Location"])


def test_open_redirect_after_login_is_refused(alice):
    cache.clear()  # no lockout left over from other tests' failed sign-ins
    for target in EVIL:
        client = Client()
        response = client.post(
            "/accounts/login/?next=" + target,
            {"login": "alice", "password": PASSWORD, "next": target},
        )
        assert response.status_code == 302, target
        assert_on_site(response, f"login next={target!r}")
        assert "_auth_user_id" in client.session  # the sign-in itself worked


def test_open_redirect_on_every_next_parameter(alice):
    """Logout, language, theme (also through the Referer) and bulk actions take a
    `next`; none of them leaves the site."""
    entity = entities()[0]
    obj = make(entity, alice)
    for target in EVIL:
        client = browser(alice)
        attempts = {
            "language (i18n)": client.post("/i18n/setlang/", {"language": "en", "next": target}),
            "language": client.post("/preferences/language/", {"language": "en", "next": target}),
            "theme": client.post("/preferences/theme/", {"theme": "dark", "next": target}),
            "theme referer": client.post(
                "/preferences/theme/", {"theme": "dark"}, HTTP_REFERER=target
            ),
            "bulk": client.post(
                html_url(entity, "bulk"),
                {"action": "tag_add", "tags": "x", "ids": [obj.pk], "next": target},
            ),
            "bulk invalid": client.post(html_url(entity, "bulk"), {"next": target}),
            "logout": client.post("/accounts/logout/", {"next": target}),
        }
        for where, response in attempts.items():
            assert response.status_code in (302, 303), (where, target, response.status_code)
            assert_on_site(response, f"{where} next={target!r}")


def test_open_redirect_sweep_of_the_whole_url_map(alice, admin):
    """Every UI route, GET and POST, with every usual redirect parameter pointing away:
    no redirect leaves the site (a route that starts reading `?return=` is caught)."""
    obj = make(entities()[0], alice)
    params = dict.fromkeys(REDIRECT_PARAMS, "//evil.example")
    client = browser(admin)
    swept = 0
    for route, _callback in ui_routes():
        url = concrete(route, obj.pk)
        if url is None or url == "/accounts/logout/":
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(url, params, HTTP_REFERER="https://evil.example/")
            assert response.status_code < 500, (method, url)
            assert_on_site(response, f"{method} {url}")
        swept += 1
    assert swept > 40


@pytest.mark.parametrize("surface", SURFACES)
def test_open_redirect_merged_record_location_stays_on_site(surface, alice):
    """The 308 from a merged record's id is built from our own path, never from input."""
    from rapport.dataio.merging import record_merge

    entity = entities()[0]
    survivor, merged = make(entity, alice), make(entity, alice)
    record_merge(actor=alice, entity=entity.key, survivor=survivor, merged=merged)
    if surface == "html":
        url = html_url(entity, "detail", merged.pk) + "?next=//evil.example"
        response = browser(alice).get(url, HTTP_X_FORWARDED_HOST="evil.example")
    else:
        response = ApiClient(alice).get(
            api_url(entity, merged.pk), HTTP_X_FORWARDED_HOST="evil.example"
        )
    assert response.status_code == 308
    assert_on_site(response, surface)
    assert response["Location"].startswith("/")


@pytest.mark.parametrize("surface", SURFACES)
def test_open_redirect_host_header_injection_is_refused(surface, alice):
    """A forged Host cannot steer absolute URLs (links in mails, Locations): 400."""
    entity = entities()[0]
    if surface == "html":
        response = browser(alice).get(html_url(entity, "list"), HTTP_HOST="evil.example")
    else:
        response = ApiClient(alice).get(api_url(entity), HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert b"evil.example" not in response.get("Location", "").encode()
