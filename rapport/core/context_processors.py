"""Template context every page needs: navigation, account links, theme, languages.

Values are computed lazily, so HTMX partials that never show the shell pay nothing.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings


def rapport(request):
    user = getattr(request, "user", None)
    authenticated = bool(user is not None and user.is_authenticated)

    @cache
    def nav():
        from rapport.core.navigation import main_navigation

        return main_navigation(user) if authenticated else []

    @cache
    def utility():
        from rapport.core.navigation import utility_links

        return utility_links(user) if authenticated else []

    @cache
    def account():
        from rapport.core.navigation import account_links

        return account_links(user) if authenticated else {}

    theme = getattr(user, "theme", "") if authenticated else ""
    return {
        "nav_groups": nav,
        "nav_utility": utility,
        "account_links": account,
        "ui_theme": theme if theme in {"light", "dark", "system"} else "system",
        "ui_languages": settings.LANGUAGES,
    }
