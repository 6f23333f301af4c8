"""Routers that apps add to the API besides the entity kit's CRUD routers.

An app's `api` module (imported by `site.discover()`) calls `add_router("/imports",
factory)`; `build_api()` mounts every factory's router after the entity routers.
"""

from __future__ import annotations

from collections.abc import Callable

from ninja import Router

extra: list[tuple[str, Callable[[], Router]]] = []


def add_router(prefix: str, factory: Callable[[], Router]) -> None:
    if any(existing == prefix for existing, _ in extra):
        return  # discover() may run more than once (tests build the API again)
    extra.append((prefix, factory))
