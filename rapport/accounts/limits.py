"""Request-rate limits on the public account pages: sign-in and password reset.

django-axes locks one (account, address) pair after failed passwords (decision 0013);
these limits sit in front of it and count every POST, so one address cannot try many
accounts, flood the reset mail to one address, or hammer the forms. Keys: the client
address (REMOTE_ADDR, as axes and the audit log) and, for password reset, the address
the mail would go to. Rates come from settings.RAPPORT_RATE_LIMITS (decision 0026).
"""

from __future__ import annotations

from django.conf import settings

from rapport.core import ratelimit
from rapport.core.middleware import client_ip

# url name -> [(limit name in RAPPORT_RATE_LIMITS, what identifies the caller)]
GUARDED = {
    "account_login": [("login_ip", "ip")],
    "account_reset_password": [("password_reset_ip", "ip"), ("password_reset_email", "email")],
    "account_reset_password_from_key": [("password_reset_ip", "ip")],
}


def _identity(request, kind: str) -> str:
    if kind == "email":
        return str(request.POST.get("email", "")).strip().casefold()[:254]
    return client_ip(request) or ""


class AccountRateLimitMiddleware:
    """429 + Retry-After once a guarded page gets too many POSTs from one caller."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method != "POST" or request.resolver_match is None:
            return None
        rules = GUARDED.get(request.resolver_match.url_name or "")
        if not rules:
            return None
        rates = getattr(settings, "RAPPORT_RATE_LIMITS", {})
        wait = ratelimit.check(
            (name, _identity(request, kind), rates.get(name)) for name, kind in rules
        )
        return ratelimit.too_many(request, wait) if wait else None
