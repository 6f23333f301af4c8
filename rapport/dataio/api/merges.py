"""API endpoints for the merges feature (filled in by its owner)."""

from __future__ import annotations

from ninja import Router


def router() -> Router:
    return Router(tags=["merges"])
