"""Playwright fixtures for the browser tests: Debian's Chromium against live_server.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse
ORM calls as "async unsafe"; the browser tests (and only they) lift that guard.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("RAPPORT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CSS = Path(__file__).resolve().parents[2] / "rapport" / "static" / "css" / "app.css"
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (never playwright install)"
        )
    if not CSS.exists():
        pytest.fail(f"{CSS} is missing: build it with `make css` first")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as actions do
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _builtin_roles(transactional_db):
    """live_server tests flush the database after each test, data migrations included."""
    from rapport.accounts.models import Role
    from rapport.accounts.roles import ensure_builtin_roles

    ensure_builtin_roles(Role)


def _new_page(browser, live_server, *, viewport=None):
    context = browser.new_context(
        base_url=live_server.url,
        viewport=viewport or {"width": 1280, "height": 900},
        locale="en-US",
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())  # data-confirm on delete buttons
    page.js_errors = errors
    return context, page


@pytest.fixture
def page(browser, live_server):
    """A fresh, signed-out browser tab on the live server."""
    context, page = _new_page(browser, live_server)
    yield page
    context.close()
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"


@pytest.fixture
def phone_page(browser, live_server):
    """A phone-sized tab (390×844) on the live server."""
    context, page = _new_page(browser, live_server, viewport={"width": 390, "height": 844})
    page.context_is_mobile = True
    yield page
    context.close()
    assert not page.js_errors, f"JavaScript errors on the page: {page.js_errors}"


def _sign_in(page, username: str, password: str | None = None) -> None:
    from rapport.testing.factories import PASSWORD

    page.goto("/accounts/login/")
    page.fill("input[name=login]", username)
    page.fill("input[name=password]", password or PASSWORD)
    page.locator("form").filter(has=page.locator("input[name=password]")).locator(
        "button[type=submit], input[type=submit]"
    ).first.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def _force_sign_in(page, live_server, user) -> None:
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


@pytest.fixture
def sign_in():
    """sign_in(page, "alice"): through the real login form, as a person would."""
    return _sign_in


@pytest.fixture
def login_as(live_server):
    """login_as(page, user): skip the form (tested once) with a session cookie."""
    return lambda page, user: _force_sign_in(page, live_server, user)
