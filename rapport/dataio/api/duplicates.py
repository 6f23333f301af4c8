"""API endpoints for the duplicates feature (filled in by its owner)."""

from __future__ import annotations

from ninja import Router


def router() -> Router:
    return Router(tags=["duplicates"])
