"""Who is calling: a personal API token (`Authorization: Bearer rpt_…`) or a browser
session with a CSRF token. A request that sends an Authorization header is judged by it
alone: a bad token answers 401 even when a session cookie is present."""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.throttling import SimpleRateThrottle
from ninja.utils import check_csrf

from rapport.accounts.services import token_authenticate
from rapport.core.api.problems import Problem

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BearerToken(HttpBearer):
    """A personal API token; missing → try the next scheme, present but bad → 401."""

    def __call__(self, request):
        header = request.headers.get("Authorization")
        if header is None:
            return None
        scheme, _sep, raw = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not raw.strip():
            raise AuthenticationError()
        return self.authenticate(request, raw.strip())

    def authenticate(self, request, token: str):
        user = token_authenticate(token)
        if user is None:
            raise AuthenticationError()
        request.user = user
        apply_preferences(request, user)
        return user


def apply_preferences(request, user) -> None:
    """What the middleware does for sessions, for token users: their time zone (zone-less
    dates in filters mean it) and, unless the request names one, their language."""
    import zoneinfo

    from django.utils import timezone, translation

    if user.time_zone:
        try:
            timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
    languages = {code for code, _name in settings.LANGUAGES}
    if user.language in languages and "Accept-Language" not in request.headers:
        translation.activate(user.language)
        request.LANGUAGE_CODE = user.language


class SessionWithCsrf(APIKeyCookie):
    """The browser's signed-in session; unsafe methods need Django's CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise Problem(
                403,
                _("CSRF verification failed: send the X-CSRFToken header with a session."),
                kind="csrf",
            )
        return request.COOKIES.get(self.param_name, "")

    def authenticate(self, request, key):
        user = getattr(request, "user", None)
        return user if user is not None and user.is_authenticated else None


class UserRateThrottle(SimpleRateThrottle):
    """Requests per signed-in user (token and session alike); 429 with Retry-After."""

    scope = "rapport-api"

    def __init__(self):
        rate = getattr(settings, "RAPPORT_API_RATE", "1200/min")
        if rate:
            super().__init__(rate)
        else:  # throttling switched off
            self.rate, self.num_requests, self.duration = None, None, None

    def get_cache_key(self, request):
        user = getattr(request, "auth", None)
        ident = f"user-{user.pk}" if user is not None else f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request):
        if self.rate is None:
            return True
        return super().allow_request(request)


def auth_schemes() -> list:
    return [BearerToken(), SessionWithCsrf()]


def scope_of(request) -> str:
    """Idempotency scope: the token when one was used, else the user."""
    token = getattr(request.auth, "api_token", None)
    return f"token:{token.pk}" if token is not None else f"user:{request.auth.pk}"
