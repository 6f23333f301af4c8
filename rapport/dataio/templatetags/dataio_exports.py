"""Template helpers of the list page's Export menu."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext_lazy as _

from rapport.core import permissions

register = template.Library()

FORMAT_LABELS = {
    "csv": _("CSV (spreadsheet)"),
    "xlsx": _("Excel (XLSX)"),
    "vcard": _("vCard (address book)"),
    "json": _("JSON"),
}


@register.filter
def may_export(entity, user) -> bool:
    """Whether to offer the menu at all (the export view checks again)."""
    return permissions.can(user, entity.key, "export")


@register.filter
def export_formats(entity) -> list[tuple[str, str]]:
    from rapport.dataio.exporting import formats_for

    return [(fmt, FORMAT_LABELS[fmt]) for fmt in formats_for(entity)]


@register.simple_tag
def export_query(params, fmt: str) -> str:
    """The list's query (filters, ordering, columns) without its page, plus the format."""
    query = params.copy()
    for key in ("cursor", "format"):
        query.pop(key, None)
    query["format"] = fmt
    return query.urlencode()
