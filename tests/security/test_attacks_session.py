"""Sessions and credentials: session fixation (a new key at sign-in), logout invalidation
(the old cookie opens neither pages nor the API), login brute force (axes lockout keyed
on user + IP, with a cool-off) and token revocation (401 at once)."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.core.cache import cache
from django.test import Client
from freezegun import freeze_time

from rapport.accounts import admin_services
from rapport.accounts import services as account_services
from rapport.accounts.models import ApiToken
from rapport.core.api.testing import ApiClient, is_problem
from rapport.testing.factories import PASSWORD

from .attacks import SURFACES, api_url, browser, entities, make

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@pytest.fixture(autouse=True)
def _no_lockouts_left_over():
    cache.clear()
    yield
    cache.clear()


def sign_in(client, login="alice", password=PASSWORD, ip="127.0.0.1"):
    return client.post(LOGIN, {"login": login, "password": password}, REMOTE_ADDR=ip)


def _probe(surface, client):
    """Whether `client`'s session opens a page or the API."""
    entity = entities()[0]
    if surface == "html":
        response = client.get(f"/{entity.url_base}/")
        return response.status_code == 200
    response = client.get(api_url(entity))
    assert response.status_code in (200, 401, 403), response.status_code
    return response.status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
def test_session_fixation_planted_session_key_is_replaced_at_login(surface, alice):
    """An attacker plants a session id in the victim's browser before she signs in: after
    sign-in that id is worthless, and the victim's new id is different."""
    attacker = Client()
    attacker.get(LOGIN)
    planted = SessionStore()
    planted["planted"] = True
    planted.save()
    victim = Client()
    victim.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    assert sign_in(victim).status_code == 302
    new_key = victim.cookies[settings.SESSION_COOKIE_NAME].value
    assert new_key != planted.session_key
    attacker.cookies[settings.SESSION_COOKIE_NAME] = planted.session_key
    assert not _probe(surface, attacker)
    assert _probe(surface, victim)


@pytest.mark.parametrize("surface", SURFACES)
def test_session_logout_invalidation_old_cookie_opens_nothing(surface, alice):
    client = Client()
    assert sign_in(client).status_code == 302
    old_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert _probe(surface, client)
    assert client.post("/accounts/logout/").status_code == 302
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_key
    assert not _probe(surface, replay)
    assert not SessionStore().exists(old_key)


def test_session_logout_needs_post_so_a_link_cannot_sign_you_out(alice):
    client = browser(alice)
    assert client.get("/accounts/logout/").status_code == 200  # a confirmation page
    assert client.get("/people/").status_code == 200


@pytest.mark.parametrize("surface", SURFACES)
def test_session_of_a_deactivated_user_stops_working(surface, alice, admin):
    client = Client()
    sign_in(client)
    token = ApiClient(alice)
    admin_services.user_set_active(actor=admin, user=alice, active=False)
    assert not _probe(surface, client)
    if surface == "api":
        assert is_problem(token.get(api_url(entities()[0])), 401)


def test_brute_force_lockout_after_five_failures_keyed_on_user_and_ip(alice, bob):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(Client(), password="guess", ip="10.6.6.6").status_code == 200
    assert sign_in(Client(), password="guess", ip="10.6.6.6").status_code == 429
    # Locked: even the right password is refused for that pair …
    locked = Client()
    assert sign_in(locked, ip="10.6.6.6").status_code == 429
    assert "_auth_user_id" not in locked.session
    # … but the attacker cannot lock Alice out everywhere, nor Bob from the same IP.
    assert sign_in(Client(), ip="10.7.7.7").status_code == 302
    assert sign_in(Client(), login="bob", ip="10.6.6.6").status_code == 302


def test_brute_force_lockout_cools_off(alice):
    start = datetime.datetime(2031, 3, 1, 9, 0, tzinfo=datetime.UTC)
    with freeze_time(start) as frozen:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(Client(), password="guess", ip="10.8.8.8")
        assert sign_in(Client(), ip="10.8.8.8").status_code == 429
        frozen.tick(datetime.timedelta(hours=settings.AXES_COOLOFF_TIME) / 2)
        assert sign_in(Client(), ip="10.8.8.8").status_code == 429
        frozen.tick(datetime.timedelta(hours=settings.AXES_COOLOFF_TIME))
        assert sign_in(Client(), ip="10.8.8.8").status_code == 302


def test_brute_force_lockout_counts_spellings_of_one_account_together(alice):
    """Username, email and case variants are one account for the counter."""
    for login in ["alice", "ALICE", "alice@example.com", "Alice@Example.com", "alice"]:
        response = sign_in(Client(), login=login, password="guess", ip="10.9.9.9")
    assert response.status_code == 429


@pytest.mark.parametrize("surface", SURFACES)
def test_token_revocation_takes_effect_immediately(surface, alice):
    entity = entities()[0]
    make(entity, alice)
    client = ApiClient(alice)
    assert client.get(api_url(entity)).status_code == 200
    token = ApiToken.objects.get(user=alice, revoked_at__isnull=True)
    if surface == "html":
        response = browser(alice).post(f"/me/tokens/{token.pk}/revoke/")
        assert response.status_code == 302
    else:
        account_services.token_revoke(actor=alice, token=token)
    response = client.get(api_url(entity))
    assert is_problem(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert is_problem(client.post(api_url(entity), {}), 401)


def test_token_revocation_of_someone_elses_token_is_404(alice, carol):
    client = ApiClient(alice)
    token = ApiToken.objects.get(user=alice)
    response = browser(carol).post(f"/me/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert client.get(api_url(entities()[0])).status_code == 200


@pytest.mark.parametrize(
    "header",
    ["Bearer ", "Bearer rpt_", "Bearer rpt_x' OR '1'='1", "Basic YWxpY2U6cGFzcw==", "Token abc"],
)
def test_token_revocation_forged_and_malformed_tokens_are_401(header, alice):
    ApiClient(alice)  # a real token exists: a forged one must not match it by prefix
    response = Client().get(api_url(entities()[0]), HTTP_AUTHORIZATION=header)
    assert is_problem(response, 401)
