"""My profile: preferences, language cookie, API tokens; CSRF on every form."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from rapport.accounts.models import ApiToken, hash_token
from rapport.accounts.services import token_authenticate
from rapport.core.models import AuditEvent

PROFILE = "/me/"


@pytest.fixture
def alice_client(alice):
    client = Client()
    client.force_login(alice)
    return client


def prefs(**changes):
    data = {"language": "en", "time_zone": "Europe/Kyiv", "theme": "dark", "phone_region": "PL"}
    data.update(changes)
    return data


def test_profile_url_name():
    assert reverse("accounts:profile") == PROFILE


def test_anonymous_is_sent_to_sign_in(client, personas):
    response = client.get(PROFILE)
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_profile_page_shows_preferences_security_and_tokens(alice_client):
    response = alice_client.get(PROFILE)
    assert response.status_code == 200
    body = response.content.decode()
    for marker in (
        'name="time_zone"',
        'name="phone_region"',
        reverse("account_change_password"),
        reverse("mfa_activate_totp"),
        reverse("accounts:token_create"),
    ):
        assert marker in body


def test_saving_preferences_stores_them_and_sets_the_language_cookie(alice_client, alice):
    response = alice_client.post(PROFILE, prefs(language="uk"))
    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.language, alice.time_zone, alice.theme, alice.phone_region) == (
        "uk",
        "Europe/Kyiv",
        "dark",
        "PL",
    )
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "uk"
    event = AuditEvent.objects.get(action="update", object_type="user", object_id=alice.pk)
    assert event.changes["language"] == ["", "uk"]
    page = alice_client.get(PROFILE)
    assert page.content.decode().count('lang="uk"') >= 1  # the next page is Ukrainian


@pytest.mark.parametrize(
    ("field", "value"),
    [("time_zone", "Mars/Olympus"), ("phone_region", "XX"), ("language", "de"), ("theme", "pink")],
)
def test_bad_preferences_are_refused_next_to_the_field(alice_client, alice, field, value):
    response = alice_client.post(PROFILE, prefs(**{field: value}))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    alice.refresh_from_db()
    assert getattr(alice, field) != value


def test_token_is_shown_once_and_stored_only_as_hash(alice_client, alice):
    response = alice_client.post(reverse("accounts:token_create"), {"name": "laptop"})
    assert response.status_code == 201
    raw = response.context["new_token"]
    assert raw.startswith("rpt_") and raw in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    token = ApiToken.objects.get(user=alice)
    assert token.digest == hash_token(raw) and raw not in (token.digest, token.prefix)
    assert token_authenticate(raw) == alice
    later = alice_client.get(PROFILE).content.decode()
    assert raw not in later and token.prefix in later and "laptop" in later
    assert AuditEvent.objects.filter(action="token_create", actor=alice).exists()


def test_revoking_a_token_works_and_is_audited(alice_client, alice):
    alice_client.post(reverse("accounts:token_create"), {"name": "ci"})
    token = ApiToken.objects.get(user=alice)
    response = alice_client.post(reverse("accounts:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token_revoke", actor=alice).count() == 1
    assert "revoked" in alice_client.get(PROFILE).content.decode()


def test_revoke_needs_post_and_own_token(alice_client, bob):
    bobs = Client()
    bobs.force_login(bob)
    bobs.post(reverse("accounts:token_create"), {"name": "bob's"})
    token = ApiToken.objects.get(user=bob)
    url = reverse("accounts:token_revoke", args=[token.pk])
    assert alice_client.get(url).status_code == 405
    assert alice_client.post(url).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_name_is_escaped(alice_client):
    alice_client.post(reverse("accounts:token_create"), {"name": "<b>x</b>"})
    body = alice_client.get(PROFILE).content.decode()
    assert "<b>x</b>" not in body and "&lt;b&gt;x&lt;/b&gt;" in body


@pytest.mark.parametrize(
    ("url", "data"),
    [
        (PROFILE, prefs()),
        ("/me/tokens/", {"name": "x"}),
    ],
)
def test_profile_posts_need_csrf(alice, url, data):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(url, data).status_code == 403
    assert not ApiToken.objects.filter(user=alice).exists()
    alice.refresh_from_db()
    assert alice.theme != "dark"
