"""Request id and client address for logs, responses and audit rows."""

from __future__ import annotations

import logging
import re
import uuid

from rapport.core import context

_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Gives every request an id (kept from X-Request-ID when well-formed) and echoes it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        via = "api" if request.path.startswith("/api/") else "web"
        token = context.bind(context.RequestContext(request_id, client_ip(request), via))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


class UserContextMiddleware:
    """Applies the signed-in user's time zone, and their saved language on a browser that
    has not chosen one yet (the language cookie, once set, wins)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.conf import settings
        from django.utils import timezone, translation

        user = getattr(request, "user", None)
        adopt_language = (
            user is not None
            and user.is_authenticated
            and user.language in dict(settings.LANGUAGES)
            and settings.LANGUAGE_COOKIE_NAME not in request.COOKIES
            and not request.path.startswith("/api/")
        )
        if adopt_language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        if user is not None and user.is_authenticated and user.time_zone:
            try:
                import zoneinfo

                timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        response = self.get_response(request)
        if adopt_language:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                user.language,
                samesite="Lax",
                max_age=settings.LANGUAGE_COOKIE_AGE,
            )
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = context.current().request_id or "-"
        return True
