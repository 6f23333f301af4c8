"""API endpoints for the imports feature (filled in by its owner)."""

from __future__ import annotations

from ninja import Router


def router() -> Router:
    return Router(tags=["imports"])
