"""Writes of a user's interface preferences (language, theme) from the app shell.

The profile page edits these too; this is the quick path used by the top bar.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

THEMES = ("light", "dark", "system")


def user_set_theme(*, user, theme: str) -> None:
    """Persist the theme; an unknown value is refused."""
    if theme not in THEMES:
        raise ValidationError({"theme": [_("Choose light, dark or system.")]})
    if user.theme != theme:
        user.theme = theme
        user.save(update_fields=["theme"])


def user_set_language(*, user, language: str) -> None:
    """Persist the interface language; an unknown code is refused."""
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": [_("This language is not available.")]})
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
