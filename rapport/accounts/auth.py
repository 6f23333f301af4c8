"""Sign-in plumbing: how django-axes names the client and when it applies.

Lockouts are keyed on (username, IP). The username is the *account* the attempt
aimed at, so typing "alice" or "alice@example.com" counts against the same key and
an attacker cannot double the allowance by switching between the two. The IP is
the address the request came from (REMOTE_ADDR, exactly as audit rows record it):
trusting X-Forwarded-For here would let anyone pick a fresh IP per attempt.
"""

from __future__ import annotations

from allauth.account.auth_backends import AuthenticationBackend
from axes.backends import AxesStandaloneBackend
from django.db.models import Q

from rapport.core.middleware import client_ip


def attempted_login(request, credentials: dict | None = None) -> str:
    """What the person typed as their login (username or email), stripped."""
    raw = ""
    if credentials:
        raw = credentials.get("username") or credentials.get("email") or credentials.get("login")
    if not raw and request is not None:
        data = getattr(request, "data", None) or getattr(request, "POST", {})
        raw = data.get("login") or data.get("username") or ""
    return str(raw or "").strip()[:254]


def lockout_username(request, credentials: dict | None = None) -> str:
    """The lockout key's username part: the matching account's username, else the text."""
    from rapport.accounts.models import User

    typed = attempted_login(request, credentials)
    if not typed:
        return ""
    matches = list(
        User.objects.filter(Q(username__iexact=typed) | Q(email__iexact=typed)).values_list(
            "username", flat=True
        )[:2]
    )
    if len(matches) == 1:
        return matches[0].lower()
    return typed.lower()


def lockout_ip(request) -> str | None:
    return client_ip(request)


class LockoutBackend(AxesStandaloneBackend):
    """Refuses locked-out (username, IP) pairs before any password is checked.

    Authentication without a request (Django's test client `login()`, scripts) has no
    client address to key on, so it is not throttled instead of crashing; every
    browser sign-in passes the request.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def lockout_response(request, original_response=None, credentials=None):
    """The page a locked-out (username, IP) pair sees: how long to wait, what else to do."""
    import math

    from axes.helpers import get_cool_off, get_failure_limit
    from django.shortcuts import render

    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    context = {"failure_limit": get_failure_limit(request, credentials), "minutes": minutes}
    return render(request, "account/lockout.html", context, status=429)


class AccountBackend(AuthenticationBackend):
    """allauth's backend (username or email sign-in), with the signed-in user of every
    request read by SQL compiled once (`prepared.fetch`, decision 0038) instead of an
    ORM `get` built anew each time; the same row, and inactive users are refused."""

    def get_user(self, user_id):
        from rapport.accounts.models import User
        from rapport.core import prepared

        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        found = prepared.fetch(
            User, "session-user", lambda mark: User._default_manager.filter(pk=mark), pk
        )
        if not found or not self.user_can_authenticate(found[0]):
            return None
        return found[0]
