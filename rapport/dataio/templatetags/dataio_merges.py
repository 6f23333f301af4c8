"""Template filters of the merge feature."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def may_bulk_merge(user) -> bool:
    """Bulk merge is for administrators only (rapport.accounts.services.is_administrator)."""
    from rapport.accounts.services import is_administrator

    return bool(getattr(user, "is_authenticated", False)) and is_administrator(user)
