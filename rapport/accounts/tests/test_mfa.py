"""TOTP enrolment, the second sign-in step, recovery codes and the limit on code guessing."""

from __future__ import annotations

import datetime

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import SECRET_SESSION_KEY, format_hotp_value, hotp_value
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from rapport.core.models import AuditEvent
from rapport.testing.factories import PASSWORD

START = datetime.datetime(2030, 3, 1, 9, 0, 0, tzinfo=datetime.UTC)
MFA_URL = "/accounts/2fa/authenticate/"


def totp_now(secret: str) -> str:
    """The code an authenticator app shows right now (RFC 6238, 30 s steps)."""
    counter = int(datetime.datetime.now(datetime.UTC).timestamp()) // 30
    return format_hotp_value(hotp_value(secret, counter))


def password_step(client, login="alice"):
    return client.post("/accounts/login/", {"login": login, "password": PASSWORD})


def enrol(alice, on_commit) -> str:
    client = Client()
    assert password_step(client).status_code == 302
    # Enabling a second factor asks for the password again (allauth's reauthentication).
    assert client.get(reverse("mfa_activate_totp")).status_code == 302
    response = client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    assert response.status_code == 302
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    assert "data:image/svg+xml" in page.content.decode()  # QR code, no external request
    secret = client.session[SECRET_SESSION_KEY]
    with on_commit(execute=True):  # allauth announces the new authenticator on commit
        response = client.post(reverse("mfa_activate_totp"), {"code": totp_now(secret)})
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert Authenticator.objects.filter(user=alice, type=Authenticator.Type.TOTP).exists()
    assert AuditEvent.objects.filter(actor=alice, extra__event="mfa_added").exists()
    return secret


@pytest.fixture
def frozen():
    with freeze_time(START) as clock:
        yield clock


def test_enrolled_user_needs_the_code_to_sign_in(alice, frozen, django_capture_on_commit_callbacks):
    secret = enrol(alice, django_capture_on_commit_callbacks)
    frozen.tick(datetime.timedelta(seconds=60))  # a fresh code (used codes are refused)

    client = Client()
    response = password_step(client)
    assert response.status_code == 302 and response["Location"].startswith(MFA_URL)
    assert "_auth_user_id" not in client.session  # the password alone is not a sign-in
    assert client.get(reverse("accounts:profile")).status_code == 302

    wrong = client.post(MFA_URL, {"code": "000000" if totp_now(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and "_auth_user_id" not in client.session

    failed = AuditEvent.objects.get(action="login_failed", extra__reason="invalid_mfa_code")
    assert failed.object_id == alice.pk and failed.actor is None

    response = client.post(MFA_URL, {"code": totp_now(secret)})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)
    login = AuditEvent.objects.filter(action="login", actor=alice).latest("id")
    assert "mfa" in login.extra["methods"]


def test_recovery_code_works_once(alice, frozen, django_capture_on_commit_callbacks):
    enrol(alice, django_capture_on_commit_callbacks)
    # Activating TOTP generates the recovery codes too.
    authenticator = Authenticator.objects.get(user=alice, type=Authenticator.Type.RECOVERY_CODES)
    code = RecoveryCodes(authenticator).get_unused_codes()[0]

    first = Client()
    password_step(first)
    assert first.post(MFA_URL, {"code": code}).status_code == 302
    assert first.session["_auth_user_id"] == str(alice.pk)

    second = Client()
    password_step(second)
    response = second.post(MFA_URL, {"code": code})
    assert response.status_code == 200
    assert "_auth_user_id" not in second.session


def test_guessing_codes_is_limited(alice, frozen, django_capture_on_commit_callbacks):
    secret = enrol(alice, django_capture_on_commit_callbacks)
    frozen.tick(datetime.timedelta(seconds=60))
    client = Client()
    password_step(client)
    good = totp_now(secret)
    bad = "123456" if good != "123456" else "654321"
    for _ in range(5):
        client.post(MFA_URL, {"code": bad})
    response = client.post(MFA_URL, {"code": good})
    assert "_auth_user_id" not in client.session
    assert response.status_code in (200, 429)


def test_mfa_pages_are_styled_and_script_free(alice, frozen, django_capture_on_commit_callbacks):
    enrol(alice, django_capture_on_commit_callbacks)
    client = Client()
    client.force_login(alice)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    for name in ("mfa_index", "mfa_view_recovery_codes"):
        response = client.get(reverse(name))
        assert response.status_code == 200, name
        body = response.content.decode()
        assert 'class="card' in body
        assert "<script>" not in body and "style=" not in body


def test_enrolment_page_is_styled(alice, frozen, django_capture_on_commit_callbacks):
    client = Client()
    password_step(client)
    client.post(reverse("account_reauthenticate"), {"password": PASSWORD})
    for name in ("mfa_activate_totp",):
        body = client.get(reverse(name)).content.decode()
        assert 'class="card' in body
        assert "<script>" not in body and "style=" not in body
