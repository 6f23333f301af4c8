"""Pages for the merges feature (filled in by its owner)."""

from __future__ import annotations

urlpatterns: list = []
