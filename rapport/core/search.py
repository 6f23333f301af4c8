"""Global search behind one interface (the search backend is completed by the search work)."""

from __future__ import annotations


def index_object(obj) -> None:
    """Add, refresh or (for trashed records) remove one record's search entry."""
    return None
