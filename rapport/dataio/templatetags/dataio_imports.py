"""Template helpers of the import feature: whether a record type can be imported."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def importable(entity_key) -> bool:
    """True when the import engine has column targets for this record type."""
    from rapport.dataio.forms_imports import importable as known

    return known(str(entity_key or ""))
