"""Who is calling: a personal API token (`Authorization: Bearer rpt_…`) or a browser
session with a CSRF token. A request that sends an Authorization header is judged by it
alone: a bad token answers 401 even when a session cookie is present."""

from __future__ import annotations

import threading
from dataclasses import dataclass

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


@dataclass
class _Window:
    """One throttle key's count in this process for one fixed window."""

    window: int
    seen: int = 0  # the shared count as of our last exchange with the cache
    pending: int = 0  # our requests since then, not yet added to it
    synced: bool = False


_windows: dict[str, _Window] = {}
_windows_lock = threading.Lock()


def forget_throttle_windows() -> None:
    """Drop this process's pending counts (tests clear the shared cache between cases)."""
    with _windows_lock:
        _windows.clear()


class UserRateThrottle(SimpleRateThrottle):
    """Requests per signed-in user (token and session alike); 429 with Retry-After.

    Counted in fixed windows of the rate's duration, in the shared cache. Each process
    adds its requests to the shared count in batches of 2% of the limit (every request
    when the limit is under 50), and always before refusing one: a request costs a cache
    round trip only once a batch instead of a read and a write of the whole request
    history, and all workers together overshoot a limit by at most 2% each.
    """

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
        key = self.get_cache_key(request)
        now = self.timer()
        window = int(now // self.duration)
        batch = max(1, self.num_requests // 50)
        with _windows_lock:
            state = _windows.get(key)
            if state is None or state.window != window:
                if len(_windows) > 10_000:
                    _windows.clear()
                state = _windows[key] = _Window(window)
            state.pending += 1
            if (
                state.synced
                and state.pending < batch
                and state.seen + state.pending <= self.num_requests
            ):
                return True
            pending, state.pending = state.pending, 0
        shared_key = f"{key}:{window}"
        total = int(self.cache.get(shared_key, 0)) + pending
        allowed = total <= self.num_requests
        if not allowed:
            total -= 1  # a refused request does not count
        self.cache.set(shared_key, total, self.duration + 1)
        with _windows_lock:
            state.seen, state.synced = total, True
        return allowed

    def wait(self):
        """Seconds until the current window ends."""
        return max(1.0, self.duration - self.timer() % self.duration)


def auth_schemes() -> list:
    return [BearerToken(), SessionWithCsrf()]


def scope_of(request) -> str:
    """Idempotency scope: the token when one was used, else the user."""
    token = getattr(request.auth, "api_token", None)
    return f"token:{token.pk}" if token is not None else f"user:{request.auth.pk}"
