"""Sign-in, sign-out, lockout and redirects, with the audit rows they leave."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from rapport.core.models import AuditEvent
from rapport.testing.factories import PASSWORD

LOGIN = "/accounts/login/"


def sign_in(client, login, password=PASSWORD, ip="127.0.0.1", **extra):
    return client.post(LOGIN, {"login": login, "password": password, **extra}, REMOTE_ADDR=ip)


@pytest.mark.django_db
def test_login_page_renders_without_sign_up_link(client, personas):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="login"' in body and 'name="csrfmiddlewaretoken"' in body
    assert "sign up" not in body.lower()
    assert "<script>" not in body and "style=" not in body  # CSP forbids inline code


def test_successful_login_writes_audit_row_with_ip(client, alice):
    response = sign_in(client, "alice", ip="10.1.2.3")
    assert response.status_code == 302
    assert response["Location"] == reverse("core:dashboard")
    event = AuditEvent.objects.get(action="login")
    assert event.actor == alice
    assert event.ip == "10.1.2.3"
    assert event.request_id
    assert event.object_type == "user" and event.object_id == alice.pk


def test_login_by_email_works(client, alice):
    response = sign_in(client, "alice@example.com")
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


def test_failed_login_writes_audit_row_with_ip(client, alice):
    response = sign_in(client, "alice", password="wrong-password", ip="10.9.8.7")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="login_failed")
    assert event.actor is None and event.actor_label == ""
    assert event.ip == "10.9.8.7"
    assert event.object_id == alice.pk
    assert event.extra["login"] == "alice"
    assert event.extra["reason"] == "invalid_credentials"
    assert "wrong-password" not in str(event.extra)


def test_five_failures_lock_out_that_username_and_ip_only(alice, bob):
    attacker = Client()
    for _ in range(4):
        assert sign_in(attacker, "alice", password="nope", ip="10.0.0.1").status_code == 200
    fifth = sign_in(attacker, "alice", password="nope", ip="10.0.0.1")
    assert fifth.status_code == 429
    assert "paused" in fifth.content.decode()
    assert AuditEvent.objects.filter(action="login_failed", extra__reason="lockout").count() == 1

    # Even the right password is refused now for that pair, also via the email address.
    locked = Client()
    assert sign_in(locked, "alice", ip="10.0.0.1").status_code == 429
    assert sign_in(locked, "ALICE@example.com", ip="10.0.0.1").status_code == 429
    assert "_auth_user_id" not in locked.session
    assert AuditEvent.objects.filter(extra__reason="locked_out").count() == 2

    # Another user from the same IP and the same user from another IP still sign in.
    assert sign_in(Client(), "bob", ip="10.0.0.1").status_code == 302
    assert sign_in(Client(), "alice", ip="10.0.0.2").status_code == 302


def test_lockout_counts_username_and_email_together(alice):
    client = Client()
    for login in ["alice", "alice@example.com", "Alice", "alice", "ALICE@EXAMPLE.COM"]:
        response = sign_in(client, login, password="nope", ip="10.0.0.5")
    assert response.status_code == 429


def test_lockout_expires_after_the_cool_off(alice):
    start = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.UTC)
    with freeze_time(start) as frozen:
        for _ in range(5):
            sign_in(Client(), "alice", password="nope", ip="10.0.0.3")
        assert sign_in(Client(), "alice", ip="10.0.0.3").status_code == 429
        frozen.tick(datetime.timedelta(hours=settings.AXES_COOLOFF_TIME, minutes=1))
        assert sign_in(Client(), "alice", ip="10.0.0.3").status_code == 302


def test_allauth_does_not_add_its_own_login_limit(alice):
    """Axes is the one limit: after 4 failures a right password still works (allauth would
    block at 5/5 min per login on its own, and 10/min per IP)."""
    for round_ in range(3):
        for _ in range(4):
            sign_in(Client(), "alice", password="nope", ip="10.0.0.4")
        assert sign_in(Client(), "alice", ip="10.0.0.4").status_code == 302, round_


def test_logout_by_get_does_not_sign_out(client, alice):
    client.force_login(alice)
    response = client.get("/accounts/logout/")
    assert response.status_code == 200
    assert client.session["_auth_user_id"] == str(alice.pk)
    assert not AuditEvent.objects.filter(action="logout").exists()


def test_logout_by_post_ends_the_session(alice):
    client = Client()
    sign_in(client, "alice")
    old_key = client.session.session_key
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    from django.contrib.sessions.backends.db import SessionStore

    assert not SessionStore().exists(old_key)
    assert AuditEvent.objects.filter(action="logout", actor=alice).count() == 1
    assert client.get(reverse("accounts:profile")).status_code == 302  # back to sign-in


def test_session_key_rotates_at_login(alice):
    client = Client()
    session = client.session
    session["probe"] = "before"
    session.save()
    client.cookies[settings.SESSION_COOKIE_NAME] = session.session_key
    before = session.session_key
    assert sign_in(client, "alice").status_code == 302
    after = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert after and after != before


def test_next_to_another_host_is_ignored(client, alice):
    response = client.post(
        LOGIN + "?next=https://evil.example/steal",
        {"login": "alice", "password": PASSWORD, "next": "https://evil.example/steal"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response["Location"]
    assert response["Location"] == reverse("core:dashboard")


def test_next_on_this_site_is_followed(client, alice):
    target = reverse("accounts:profile")
    response = client.post(LOGIN, {"login": "alice", "password": PASSWORD, "next": target})
    assert response["Location"] == target


def test_sign_up_is_closed(client, personas):
    response = client.get("/accounts/signup/")
    assert response.status_code == 200
    assert b'name="password1"' not in response.content


def test_password_change_page_is_styled_and_audited(alice):
    client = Client()
    sign_in(client, "alice")
    page = client.get(reverse("account_change_password"))
    assert page.status_code == 200
    assert 'class="card card-body' in page.content.decode()
    response = client.post(
        reverse("account_change_password"),
        {
            "oldpassword": PASSWORD,
            "password1": "a-New-long-Pa55word",
            "password2": "a-New-long-Pa55word",
        },
    )
    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password("a-New-long-Pa55word")
    assert client.session["_auth_user_id"] == str(alice.pk)  # still signed in
    assert AuditEvent.objects.filter(actor=alice, extra__event="password_changed").exists()


def test_password_reset_sends_a_mail_to_a_known_address(client, alice, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["alice@example.com"]
