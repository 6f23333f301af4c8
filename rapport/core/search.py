"""Global search behind one interface; engine-specific indexes live in the search backend."""

from __future__ import annotations

from django.db.models import Q

from rapport.core.text import digits, fold


def index_object(obj) -> None:
    """Add, refresh or (for trashed records) remove one record's search entry."""
    return None


def filter_queryset(qs, text: str):
    """Narrow an entity queryset to rows matching `text` (the list's `q` filter)."""
    folded = fold(text)
    condition = Q(sort_key__contains=folded) if folded else Q()
    number = digits(text)
    if hasattr(qs.model, "primary_email"):
        condition |= Q(primary_email__icontains=text.strip())
        if len(number) >= 4:
            condition |= Q(primary_phone__contains=number)
    return qs.filter(condition)
