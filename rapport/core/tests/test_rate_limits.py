"""Rate limits: sign-in, password reset, the API and the reusable limiter — 429 with
Retry-After everywhere, counted per caller so one client never blocks another."""

from __future__ import annotations

import json

import pytest
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpResponse
from django.test import Client, RequestFactory

from rapport.core import ratelimit
from rapport.core.api.testing import ApiClient, is_problem
from rapport.testing.factories import PASSWORD

LOGIN = "/accounts/login/"
RESET = "/accounts/password/reset/"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def limits(settings):
    """Small limits for the test; every other limit effectively off."""

    def apply(**rates):
        base = {"login_ip": "", "password_reset_ip": "", "password_reset_email": ""}
        settings.RAPPORT_RATE_LIMITS = {**base, **rates}

    return apply


def _assert_limited(response, *, html=True):
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 3600
    if html:
        assert b"Too many requests" in response.content


# --- the limiter ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "count", "seconds"),
    [("20/m", 20, 60), ("5/10m", 5, 600), ("100/h", 100, 3600), ("1000/day", 1000, 86400)],
)
def test_rate_strings_parse(text, count, seconds):
    assert ratelimit.Rate.parse(text) == ratelimit.Rate(count, seconds)


@pytest.mark.parametrize("text", ["", "20", "0/m", "ten/m", "5/week", "-1/m"])
def test_bad_rate_strings_are_a_configuration_error(text):
    with pytest.raises(ImproperlyConfigured, match="must look like 20/m"):
        ratelimit.Rate.parse(text)


def test_window_allows_the_rate_then_says_how_long_to_wait():
    start = 1_000_000 * 60 + 15  # 15 s into a minute window
    assert [ratelimit.hit("t", "a", "3/m", now=start) for _ in range(3)] == [0, 0, 0]
    assert ratelimit.hit("t", "a", "3/m", now=start) == 45
    assert ratelimit.hit("t", "b", "3/m", now=start) == 0  # another caller
    assert ratelimit.hit("t", "a", "3/m", now=start + 45) == 0  # the next window
    assert ratelimit.hit("t", "a", "", now=start) == 0  # switched off


def test_decorated_form_view_answers_429_page_and_counts_only_posts(db):
    calls = []

    @ratelimit.rate_limit("contact-form", "2/h")
    def view(request):
        calls.append(request.method)
        return HttpResponse("ok")

    factory = RequestFactory()
    for _ in range(5):
        assert view(factory.get("/form/", REMOTE_ADDR="10.0.0.1")).status_code == 200
    assert view(factory.post("/form/", REMOTE_ADDR="10.0.0.1")).status_code == 200
    assert view(factory.post("/form/", REMOTE_ADDR="10.0.0.1")).status_code == 200
    _assert_limited(view(factory.post("/form/", REMOTE_ADDR="10.0.0.1")))
    assert view(factory.post("/form/", REMOTE_ADDR="10.0.0.2")).status_code == 200
    assert calls.count("POST") == 3


def test_decorated_view_under_api_answers_problem_json(db):
    @ratelimit.rate_limit("api-form", "1/m")
    def view(request):
        return HttpResponse("ok")

    factory = RequestFactory()
    view(factory.post("/api/v1/thing", REMOTE_ADDR="10.0.0.3"))
    response = view(factory.post("/api/v1/thing", REMOTE_ADDR="10.0.0.3"))
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert response["Content-Type"].startswith("application/problem+json")
    assert json.loads(response.content)["status"] == 429


# --- sign-in ---------------------------------------------------------------------------


def _sign_in(login, ip, password=None):
    password = password or "not-" + PASSWORD
    return Client().post(LOGIN, {"login": login, "password": password}, REMOTE_ADDR=ip)


def test_login_rate_limit_per_address_across_accounts(personas, limits):
    limits(login_ip="3/m")
    # Three different accounts: axes (per account + address) never triggers here.
    for login in ("alice", "bob", "carol"):
        assert _sign_in(login, "10.5.0.1").status_code == 200
    blocked = _sign_in("dave", "10.5.0.1", password=PASSWORD)
    _assert_limited(blocked)
    assert "_auth_user_id" not in blocked.wsgi_request.session  # not even tried
    assert _sign_in("dave", "10.5.0.2", password=PASSWORD).status_code == 302
    assert Client().get(LOGIN, REMOTE_ADDR="10.5.0.1").status_code == 200  # pages still load


# --- password reset --------------------------------------------------------------------


def _reset(email, ip):
    return Client().post(RESET, {"email": email}, REMOTE_ADDR=ip)


def test_password_reset_rate_limit_per_client_address(personas, limits, mailoutbox):
    limits(password_reset_ip="2/h")
    assert _reset("alice@example.com", "10.6.0.1").status_code == 302
    assert _reset("bob@example.com", "10.6.0.1").status_code == 302
    _assert_limited(_reset("carol@example.com", "10.6.0.1"))
    assert _reset("carol@example.com", "10.6.0.2").status_code == 302
    assert {m.to[0] for m in mailoutbox} == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
    }


def test_password_reset_rate_limit_per_email_address(personas, limits, mailoutbox):
    limits(password_reset_email="2/h")
    assert _reset("alice@example.com", "10.7.0.1").status_code == 302
    assert _reset("ALICE@example.com ", "10.7.0.2").status_code == 302
    _assert_limited(_reset("alice@example.com", "10.7.0.3"))  # a fresh address: still no
    assert _reset("bob@example.com", "10.7.0.3").status_code == 302
    assert len([m for m in mailoutbox if m.to == ["alice@example.com"]]) == 2


# --- API -------------------------------------------------------------------------------


@pytest.fixture
def tight_api(monkeypatch):
    from rapport.api_urls import api

    throttle = api.throttle[0] if isinstance(api.throttle, list) else api.throttle
    monkeypatch.setattr(throttle, "num_requests", 2)
    monkeypatch.setattr(throttle, "duration", 60)


def test_api_rate_limit_is_per_user_429_problem_with_retry_after(alice, bob, tight_api):
    first, second = ApiClient(alice), ApiClient(alice)  # two tokens, one user: one budget
    assert first.get("/people").status_code == 200
    assert second.get("/people").status_code == 200
    response = first.get("/people")
    assert is_problem(response, 429)
    assert 1 <= int(response["Retry-After"]) <= 60
    assert ApiClient(bob).get("/people").status_code == 200


def test_api_rate_setting_comes_from_the_environment():
    from django.conf import settings

    from rapport.core.api.auth import UserRateThrottle

    assert settings.RAPPORT_API_RATE
    throttle = UserRateThrottle()
    assert throttle.num_requests >= 1 and throttle.duration >= 1
