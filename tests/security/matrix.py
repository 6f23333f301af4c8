"""The permission matrix, generated: what every persona gets when it tries each action
on each other's records, through every door (pages and API), against what the role
definitions say it should get.

Expected answers come only from `permissions.allows()` / `permissions.can()` (the
role rows), never from a hand-written table: view not allowed → the record does not
exist for the user (404, absent from lists, skipped by bulk actions); view allowed but
not the action → 403 (or skipped). Entities come from the registry, so a module that
registers one is in the matrix at once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from rapport.core import permissions
from rapport.core.registry import Entity

from .conftest import api_as, page_as, sample_data
from .matrix_doors import (
    API_STATUS,
    FORBIDDEN,
    HIDDEN,
    OK,
    SKIPPED,
    UI_STATUS,
    api_export_ids,
    api_list_ids,
    api_url,
    outcome,
    put_back,
    stored,
    trash_directly,
    ui_export_ids,
    ui_list_ids,
    ui_search_finds,
    ui_url,
)

# Matrix action -> the role actions an object needs besides "view" (bulk assign writes
# through the update service, so it needs "change" as well as "assign").
NEEDS: dict[str, tuple[str, ...]] = {
    "view": (),
    "list": (),
    "search": (),
    "export": ("export",),
    "bulk_tag": ("change",),
    "bulk_assign": ("assign", "change"),
    "bulk_trash": ("delete",),
    "change": ("change",),
    "delete": ("delete",),
    "restore": ("delete",),
}
OBJECT_ACTIONS = ("view", "change", "delete", "restore")  # one request per record: 404/403
COLLECTION_ACTIONS = ("list", "search", "export")  # the record is in the answer or not
BULK_ACTIONS = ("bulk_tag", "bulk_assign", "bulk_trash")  # done or skipped
MATRIX_ACTIONS = (*OBJECT_ACTIONS, *COLLECTION_ACTIONS, *BULK_ACTIONS, "create")


def expected(user, entity: type[Entity], action: str, obj) -> str:
    """What the role definitions promise `user` for `action` on `obj`."""
    if not permissions.allows(user, entity.key, "view", obj):
        return HIDDEN
    for need in NEEDS[action]:
        if not permissions.allows(user, entity.key, need, obj):
            return FORBIDDEN
    return OK


# --- who acts on what ---------------------------------------------------------------------

FULL = os.environ.get("HYPOTHESIS_PROFILE") == "deep" or os.environ.get("SECURITY_MATRIX") == "full"


def signature(user) -> tuple:
    """What decides a user's answers: role assignments (role, team), team memberships and
    field grants. Two personas with this alike get the same answers on the same records."""
    roles = frozenset(user.role_assignments.values_list("role__name", "team_id"))
    teams = frozenset(user.memberships.values_list("team_id", flat=True))
    grants = frozenset(user.field_grants.values_list("permission", flat=True))
    return roles, teams, grants


def actors(users: dict) -> list:
    """Personas that act: one per distinct signature in CI (alice stands for bob too),
    every persona under the deep profile."""
    if FULL:
        return list(users.values())
    chosen: dict[tuple, object] = {}
    for user in users.values():
        chosen.setdefault(signature(user), user)
    return list(chosen.values())


def targets_for(user, records: list) -> list:
    """Records a persona tries: in CI its own, a teammate's and another team's (the three
    cases row scope tells apart); every persona's record under the deep profile."""
    if FULL:
        return records
    own = [r for r in records if r.owner_id == user.pk]
    teammate = [r for r in records if r.owner_id != user.pk and r.team_id == user.primary_team_id]
    outsider = [r for r in records if r.team_id != user.primary_team_id]
    return own[:1] + teammate[:1] + outsider[:1]


# --- probes: (actor, entity, targets) -> [(door, target, observed outcome)] ---------------


@dataclass(frozen=True)
class Observation:
    door: str
    obj: object
    got: str


Probe = Callable[..., list[Observation]]


def probe_view(user, entity, targets) -> list[Observation]:
    web, api = page_as(user), api_as(user)
    out = []
    for obj in targets:
        out.append(
            Observation("UI detail", obj, outcome(web.get(ui_url(entity, f"{obj.pk}/")), UI_STATUS))
        )
        out.append(
            Observation("API GET", obj, outcome(api.get(api_url(entity, f"/{obj.pk}")), API_STATUS))
        )
    return out


def probe_change(user, entity, targets) -> list[Observation]:
    web, api = page_as(user), api_as(user)
    out = []
    for obj in targets:
        for door, response in (
            ("UI edit GET", web.get(ui_url(entity, f"{obj.pk}/edit/"))),
            ("UI edit POST", web.post(ui_url(entity, f"{obj.pk}/edit/"), {})),
        ):
            out.append(Observation(door, obj, outcome(response, UI_STATUS)))
        before = stored(obj).version
        response = api.patch(api_url(entity, f"/{obj.pk}"), {"tags": [f"matrix-{user.username}"]})
        got = outcome(response, API_STATUS)
        changed = stored(obj).version != before
        if changed != (got == OK):
            got = f"{got} but the record {'changed' if changed else 'did not change'}"
        out.append(Observation("API PATCH", obj, got))
    return out


def _deleted_door(door, obj, response, table, *, want_deleted: bool) -> Observation:
    got = outcome(response, table)
    deleted = stored(obj).deleted_at is not None
    if (deleted == want_deleted) != (got == OK):
        got = f"{got} but deleted_at is {'set' if deleted else 'empty'}"
    return Observation(door, obj, got)


def probe_delete(user, entity, targets) -> list[Observation]:
    web, api = page_as(user), api_as(user)
    out = []
    for obj in targets:
        response = web.post(ui_url(entity, f"{obj.pk}/delete/"))
        out.append(_deleted_door("UI delete", obj, response, UI_STATUS, want_deleted=True))
        put_back([obj])
        response = api.delete(api_url(entity, f"/{obj.pk}"))
        out.append(_deleted_door("API DELETE", obj, response, API_STATUS, want_deleted=True))
        put_back([obj])
    return out


def probe_restore(user, entity, targets) -> list[Observation]:
    web, api = page_as(user), api_as(user)
    out = []
    for obj in targets:
        trash_directly([obj])
        response = web.post(ui_url(entity, f"{obj.pk}/restore/"))
        out.append(_deleted_door("UI restore", obj, response, UI_STATUS, want_deleted=False))
        trash_directly([obj])
        response = api.post(api_url(entity, f"/{obj.pk}/restore"))
        out.append(_deleted_door("API restore", obj, response, API_STATUS, want_deleted=False))
        put_back([obj])
    return out


def presence(door: str, targets, ids: set[int] | None) -> list[Observation]:
    """Collection answers: OK when the record is in it, SKIPPED when not (None: the whole
    request was refused)."""
    return [
        Observation(door, obj, FORBIDDEN if ids is None else OK if obj.pk in ids else SKIPPED)
        for obj in targets
    ]


def probe_list(user, entity, targets) -> list[Observation]:
    return presence("UI list", targets, ui_list_ids(page_as(user), entity)) + presence(
        "API list", targets, api_list_ids(api_as(user), entity)
    )


def probe_search(user, entity, targets) -> list[Observation]:
    web = page_as(user)
    out = []
    for obj in targets:
        for door, found in ui_search_finds(web, entity, obj).items():
            out.append(Observation(door, obj, OK if found else SKIPPED))
    return out


def probe_export(user, entity, targets) -> list[Observation]:
    return presence("UI export CSV", targets, ui_export_ids(page_as(user), entity)) + presence(
        "API export CSV", targets, api_export_ids(api_as(user), entity)
    )


def _bulk(user, entity, targets, data: dict, done: Callable) -> list[Observation]:
    web = page_as(user)
    response = web.post(ui_url(entity, "bulk/"), {**data, "ids": [obj.pk for obj in targets]})
    got = outcome(response, UI_STATUS)
    out = [
        Observation("UI bulk", obj, got if got != OK else OK if done(obj) else SKIPPED)
        for obj in targets
    ]
    put_back(targets)
    return out


def probe_bulk_tag(user, entity, targets) -> list[Observation]:
    tag = f"bulk-{user.username}"

    def done(obj):
        return tag in {t.name for t in stored(obj).tags.all()}

    return _bulk(user, entity, targets, {"action": "tag_add", "tags": tag}, done)


def probe_bulk_assign(user, entity, targets, *, assignee) -> list[Observation]:
    def done(obj):
        return stored(obj).owner_id == assignee.pk and obj.owner_id != assignee.pk

    movable = [obj for obj in targets if obj.owner_id != assignee.pk]
    data = {"action": "assign", "owner": assignee.pk}
    return _bulk(user, entity, movable, data, done)


def probe_bulk_trash(user, entity, targets) -> list[Observation]:
    def done(obj):
        return stored(obj).deleted_at is not None

    return _bulk(user, entity, targets, {"action": "trash"}, done)


PROBES: dict[str, Probe] = {
    "view": probe_view,
    "change": probe_change,
    "delete": probe_delete,
    "restore": probe_restore,
    "list": probe_list,
    "search": probe_search,
    "export": probe_export,
    "bulk_tag": probe_bulk_tag,
    "bulk_trash": probe_bulk_trash,
}


def mismatches(user, entity, action: str, observations: list[Observation]) -> list[str]:
    """Every observation that differs from what the roles promise, in words."""
    wrong = []
    for seen in observations:
        want = expected(user, entity, action, seen.obj)
        if action in COLLECTION_ACTIONS or action in BULK_ACTIONS:
            if seen.got == FORBIDDEN and want != OK and action == "export":
                continue  # refused as a whole: the record is not in it either
            ok = (seen.got == OK) == (want == OK) and seen.got in (OK, SKIPPED, FORBIDDEN)
        else:
            ok = seen.got == want
        if not ok:
            wrong.append(
                f"{seen.door}: {user.username} on {entity.key} #{seen.obj.pk} owned by "
                f"{getattr(seen.obj.owner, 'username', None)} (team {seen.obj.team_id}): "
                f"expected {want}, got {seen.got}"
            )
    return wrong


def probe_create(user, entity) -> list[str]:
    """Create through both doors: allowed iff the user holds "add" at any scope."""
    want = OK if permissions.can(user, entity.key, "add") else FORBIDDEN
    web, api = page_as(user), api_as(user)
    before = entity.model.all_objects.count()
    answers = {
        "UI new GET": outcome(web.get(ui_url(entity, "new/")), UI_STATUS),
        "UI new POST (empty form)": outcome(web.post(ui_url(entity, "new/"), {}), UI_STATUS),
    }
    assert entity.model.all_objects.count() == before  # an empty form never creates
    response = api.post(api_url(entity), sample_data(entity))
    answers["API POST"] = outcome(response, API_STATUS)
    created = entity.model.all_objects.count() - before
    if created != (1 if answers["API POST"] == OK else 0):
        answers["API POST"] += f" but {created} record(s) were created"
    return [
        f"{door}: {user.username} creating {entity.key}: expected {want}, got {got}"
        for door, got in answers.items()
        if got != want
    ]
