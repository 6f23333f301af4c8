"""A small request-rate limiter on the Django cache, for pages anyone can post to.

Fixed windows counted in the shared cache (Redis when REDIS_URL is set, the database
cache otherwise), so every app server sees one count. A rate reads "20/m", "5/10m",
"100/h" or "1000/d"; an empty rate switches that limit off. Over the limit the answer
is 429 with `Retry-After` (seconds to the end of the window): a page for browsers,
problem+json under /api/.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.shortcuts import render
from django.utils.translation import gettext as _

from rapport.core.middleware import client_ip

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*([smhd])[a-z]*\s*$")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Rate:
        match = _RATE.match(text or "")
        if not match or int(match.group(1)) < 1:
            raise ImproperlyConfigured(
                f"A rate limit must look like 20/m, 5/10m, 100/h or 1000/d, not {text!r}."
            )
        count, multiple, unit = match.groups()
        return cls(int(count), int(multiple or 1) * UNITS[unit])


def _digest(value: str) -> str:
    """Cache keys never hold the raw address or login (and stay short and safe)."""
    return hashlib.sha256(value.encode()).hexdigest()[:32]


def hit(scope: str, ident: str, rate: str | None, *, now: float | None = None) -> int:
    """Count one request; return 0 when allowed, else seconds until it would be."""
    if not rate:
        return 0
    limit = Rate.parse(rate)
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    key = f"rl:{scope}:{_digest(ident)}:{window}"
    cache.add(key, 0, timeout=limit.seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this request starts a new window
        cache.set(key, 1, timeout=limit.seconds + 1)
        count = 1
    if count <= limit.count:
        return 0
    return max(1, math.ceil((window + 1) * limit.seconds - now))


def check(limits: Iterable[tuple[str, str, str | None]]) -> int:
    """Apply several (scope, identity, rate) limits; the longest wait wins. Every limit
    counts the request, so one that is already exceeded keeps its window honest."""
    waits = [hit(scope, ident, rate) for scope, ident, rate in limits if ident]
    return max(waits, default=0)


def too_many(request, retry_after: int):
    """429 for a browser (a page saying how long to wait) or an API client."""
    if request.path.startswith("/api/"):
        from rapport.core.api.problems import problem_response

        response = problem_response(429, _("Too many requests; slow down and retry later."))
    else:
        minutes = max(1, math.ceil(retry_after / 60))
        response = render(
            request,
            "rate_limited.html",
            {"retry_after": retry_after, "minutes": minutes},
            status=429,
        )
    response["Retry-After"] = str(retry_after)
    return response


def rate_limit(
    scope: str,
    rate: str | Callable[[], str | None] | None,
    *,
    key: Callable | None = None,
    methods: tuple[str, ...] = ("POST",),
):
    """Decorate a view: at most `rate` requests per client address (or per `key(request)`)
    for the given methods. `rate` may be a callable so settings are read per request."""

    def decorator(view):
        @functools.wraps(view)
        def wrapped(request, *args, **kwargs):
            if request.method in methods:
                current = rate() if callable(rate) else rate
                ident = key(request) if key else client_ip(request)
                wait = check([(scope, ident or "", current)])
                if wait:
                    return too_many(request, wait)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
