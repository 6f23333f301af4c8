"""API endpoints for the exports feature (filled in by its owner)."""

from __future__ import annotations

from ninja import Router


def router() -> Router:
    return Router(tags=["exports"])
