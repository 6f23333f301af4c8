"""Security headers and cookies as production serves them (decision 0025).

The production settings module is loaded for real (with the secret it insists on) and
its security settings are applied to the test run, so a change to production.py that
weakens a header fails here, not in a penetration test.
"""

from __future__ import annotations

import importlib
import sys

import pytest
from django.core import checks
from django.test import Client

from rapport.core.api.testing import ApiClient
from rapport.testing.factories import PASSWORD, PersonFactory

SECURITY_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CSP",
    "X_FRAME_OPTIONS",
    "SESSION_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "CSRF_COOKIE_SECURE",
]
HTTPS = {"secure": True, "headers": {"host": "testserver"}}


@pytest.fixture
def production(settings, monkeypatch):
    monkeypatch.setenv("RAPPORT_SECRET_KEY", "p" * 20 + "roduction-secret-for-the-header-test")
    monkeypatch.delenv("RAPPORT_SSL_REDIRECT", raising=False)
    sys.modules.pop("rapport.settings.production", None)
    module = importlib.import_module("rapport.settings.production")
    sys.modules.pop("rapport.settings.production", None)
    for name in SECURITY_SETTINGS:
        setattr(settings, name, getattr(module, name))
    return module


def _assert_security_headers(response):
    csp = response["Content-Security-Policy"]
    directives = dict(
        (part.strip().split(" ", 1) + [""])[:2] for part in csp.split(";") if part.strip()
    )
    script = directives.get("script-src") or directives["default-src"]
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert "'self'" in script and directives["frame-ancestors"] == "'none'"
    hsts = response["Strict-Transport-Security"]
    assert "max-age=31536000" in hsts and "includeSubDomains" in hsts and "preload" in hsts
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


def test_page_over_https_has_every_security_header(production, alice):
    client = Client()
    client.force_login(alice)
    response = client.get("/people/", **HTTPS)
    assert response.status_code == 200
    _assert_security_headers(response)


def test_api_response_has_every_security_header(production, alice):
    PersonFactory(actor=alice)
    response = ApiClient(alice).get("/people", **HTTPS)
    assert response.status_code == 200
    _assert_security_headers(response)


def test_sign_in_sets_secure_httponly_session_cookie(production, alice):
    client = Client()
    client.get("/accounts/login/", **HTTPS)
    assert client.cookies["csrftoken"]["secure"]
    response = client.post(
        "/accounts/login/",
        {"login": "alice", "password": PASSWORD},
        REMOTE_ADDR="10.8.0.1",
        **HTTPS,
    )
    assert response.status_code == 302
    cookie = response.cookies["sessionid"]
    assert cookie["secure"] and cookie["httponly"] and cookie["samesite"] == "Lax"


def test_plain_http_is_redirected_to_https(production, db):
    response = Client().get("/accounts/login/", headers={"host": "testserver"})
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/accounts/login/"
    proxied = Client().get("/accounts/login/", headers={"x-forwarded-proto": "https"})
    assert proxied.status_code == 200  # TLS ended at the proxy: no redirect loop


def test_deploy_checks_report_nothing_for_production_security_settings(production):
    problems = checks.run_checks(include_deployment_checks=True, tags=[checks.Tags.security])
    # axes warns about the test run's local-memory cache, which production never uses.
    assert [p.id for p in problems if p.id.startswith("security.")] == []
