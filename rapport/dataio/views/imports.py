"""Pages for the imports feature (filled in by its owner)."""

from __future__ import annotations

urlpatterns: list = []
