"""Pages for the duplicates feature (filled in by its owner)."""

from __future__ import annotations

urlpatterns: list = []
