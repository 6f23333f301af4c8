"""Every route that takes an object id is in the matrix, or is declared here with a reason.

The URL resolver and the OpenAPI document are walked, not listed by hand: a route that
reaches a registered entity's record (its namespace is the entity's, it takes the entity
key as a parameter, or a path segment names the entity) is tried by an outsider on a
record the outsider may not view, with every method, and must answer 404 and change
nothing. Any other route with an id parameter must sit in `NOT_RECORD_ROUTES` with the
reason it needs no matrix row; a new module's id routes therefore fail this file until
they are covered or declared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from rapport.core import permissions
from rapport.core.registry import registry

from .conftest import api_as, entities, page_as

pytestmark = pytest.mark.django_db

ID_NAME = re.compile(r"(^|_)(id|pk)$|^(left|right)$")

# Routes with an id that do not address an entity record, each with the reason.
# Keys are route prefixes (UI: resolver pattern; API: OpenAPI path). The data jobs and
# merges are attacked by id in test_attacks_idor_dataio.py.
NOT_RECORD_ROUTES: dict[str, str] = {
    "me/tokens/": "own-only: a user's API tokens, looked up with user=request.user",
    "admin/": "administration area: users, teams, roles, custom fields; gated as a whole by "
    "the grant-roles right (accounts tests), not by row scope",
    "data/imports/": "own-only: an import job is visible to the user who started it",
    "data/exports/job/": "own-only: an export job is visible to the user who started it",
    "data/merges/<int:pk>/undo/": "a merge record, not an entity row: looked up through "
    "merges_visible_to(user) and undone by the merge service's own checks",
    "/api/v1/imports/": "own-only: an import job is visible to the user who started it",
    "/api/v1/exports/": "own-only: an export job is visible to the user who started it",
    "/api/v1/merges/": "a merge record, not an entity row: merges_visible_to(user)",
}
SAVED_VIEW_PARAM = "view_id"  # saved list views: own-only (author), looked up by user


@dataclass(frozen=True)
class Route:
    path: str  # resolver pattern ("people/<int:pk>/edit/") or OpenAPI path
    namespace: str
    params: tuple[str, ...]
    methods: tuple[str, ...]
    api: bool


def _walk(patterns, prefix: str = "", namespace: str = ""):
    for item in patterns:
        if isinstance(item, URLResolver):
            ns = item.namespace or namespace
            yield from _walk(item.url_patterns, prefix + str(item.pattern), ns)
        elif isinstance(item, URLPattern):
            yield prefix + str(item.pattern), namespace, item.pattern


def _params(pattern) -> tuple[str, ...]:
    converters = getattr(pattern, "converters", {}) or {}
    names = list(converters) or list(pattern.regex.groupindex)
    return tuple(names)


def ui_routes() -> list[Route]:
    routes = []
    for path, namespace, pattern in _walk(get_resolver().url_patterns):
        if path.startswith("api/") or path.startswith("^api"):
            continue
        routes.append(Route(path, namespace, _params(pattern), ("GET", "POST"), api=False))
    return routes


def openapi_routes() -> list[Route]:
    from rapport.api_urls import api

    routes = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        methods = tuple(
            m.upper() for m in operations if m in {"get", "post", "put", "patch", "delete"}
        )
        params = tuple(re.findall(r"{([^}]+)}", path))
        routes.append(Route(path, "api-v1", params, methods, api=True))
    return routes


def has_id(route: Route) -> bool:
    return any(ID_NAME.search(name) for name in route.params)


def entities_of(route: Route) -> list:
    """Registered entities whose records this route addresses (none: not a record route)."""
    segments = set(re.split(r"[/{}<>:]", route.path))
    found = []
    for entity in entities():
        if (
            route.namespace == entity.url_base
            or "entity" in route.params
            or {entity.key, entity.url_base} & segments
        ):
            found.append(entity)
    return found


def declared(route: Route) -> str | None:
    if SAVED_VIEW_PARAM in route.params and "pk" not in route.params:
        return "own-only: saved list views are looked up with user=request.user"
    for prefix, reason in NOT_RECORD_ROUTES.items():
        if route.path.startswith(prefix):
            return reason
    return None


def fill(route: Route, entity, hidden: list) -> str:
    """The route's URL with the entity key and ids of records the prober may not view."""
    ids = iter(hidden)
    url = route.path
    for name in route.params:
        value = entity.key if name == "entity" else next(ids).pk
        url = re.sub(rf"<(?:\w+:)?{name}>|{{{name}}}", str(value), url, count=1)
    return url if route.api else "/" + url


def all_id_routes() -> list[Route]:
    return [r for r in ui_routes() + openapi_routes() if has_id(r)]


def test_every_id_route_is_in_the_matrix_or_declared():
    uncovered = [
        f"{r.path} ({r.namespace or 'no namespace'})"
        for r in all_id_routes()
        if not entities_of(r) and declared(r) is None
    ]
    assert uncovered == [], (
        "routes taking an object id that neither address a registered entity's record nor "
        "are declared in NOT_RECORD_ROUTES with a reason"
    )


def test_every_api_id_route_is_in_the_openapi_document():
    documented = {re.sub(r"{[^}]+}", "#", r.path) for r in openapi_routes()}
    served = {
        re.sub(r"<[^>]+>", "#", "/" + path)
        for path, _ns, pattern in _walk(get_resolver().url_patterns)
        if path.startswith("api/v1/") and _params(pattern) and "docs/assets" not in path
    }
    assert served - documented == set()


def test_declared_routes_are_still_real():
    """A stale allow-list entry hides nothing: each prefix still matches a live route."""
    paths = [r.path for r in all_id_routes()]
    assert [p for p in NOT_RECORD_ROUTES if not any(x.startswith(p) for x in paths)] == []


def test_idor_by_id_every_record_route_answers_404_to_an_outsider(world):
    """Every record route of every entity, every method: an outsider (a persona that may
    not view the record) gets 404 exactly as for a missing record, and nothing changes."""
    wrong = []
    routes = [r for r in all_id_routes() if entities_of(r) and declared(r) is None]
    assert routes
    for route in routes:
        for entity in entities_of(route):
            records = world.records_of(entity.key)
            for outsider in world.users.values():
                hidden = [
                    r for r in records if not permissions.allows(outsider, entity.key, "view", r)
                ]
                if len(hidden) >= len(route.params):
                    break
            else:
                pytest.fail(f"no persona is an outsider to {entity.key} records")
            url = fill(route, entity, hidden)
            client = api_as(outsider) if route.api else page_as(outsider)
            before = [_state(r) for r in hidden]
            answers = {}
            for method in route.methods:
                call = getattr(client, method.lower())
                answers[method] = call(url).status_code
            # 405 reveals nothing (the method is not served); at least one method must reach
            # the lookup and answer 404.
            if set(answers.values()) - {404, 405} or 404 not in answers.values():
                wrong.append(f"{url} as {outsider.username}: {answers}")
            if before != [_state(r) for r in hidden]:
                wrong.append(f"{url} as {outsider.username}: a hidden record changed")
    assert wrong == []


def _state(obj) -> tuple:
    stored = type(obj).all_objects.get(pk=obj.pk)
    return stored.version, stored.deleted_at, stored.merged_into


def test_entity_routes_resolve_for_every_registered_entity():
    """The matrix reaches each entity through the kit's URL names; all must exist."""
    names = {f"{ns}:{p.name}" for _path, ns, p in _walk_named(get_resolver().url_patterns)}
    kit = ("list", "create", "bulk", "detail", "edit", "delete", "restore")
    missing = [
        f"{entity.url_base}:{name}"
        for entity in registry
        for name in kit
        if f"{entity.url_base}:{name}" not in names
    ]
    assert missing == []


def _walk_named(patterns, namespace: str = ""):
    for item in patterns:
        if isinstance(item, URLResolver):
            yield from _walk_named(item.url_patterns, item.namespace or namespace)
        elif isinstance(item, URLPattern):
            yield "", namespace, item
