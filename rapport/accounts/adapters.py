"""allauth adapter: no public sign-up (administrators create users), one sign-in limit."""

from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return False

    def pre_authenticate(self, request, **credentials) -> None:
        """django-axes alone limits password attempts (per username + IP, with a cool-off);
        allauth's per-login counter would be a second, differently keyed limit."""
        self._login_failed_rl_usage = None
