"""Embedded mode on one machine: SQLite in ./var, served on plain http://127.0.0.1."""

from rapport.settings.base import *  # noqa: F403

SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
