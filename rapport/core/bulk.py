"""Bulk actions from list pages and saved list views: writes through the entity services.

Ids come from the browser, so each action first narrows them with
`restrict(actor, "view")` and `restrict(actor, <action>)`; ids the actor may not act on
(or cannot see) are skipped and counted, never touched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from rapport.core import services
from rapport.core.exceptions import ConflictError, PermissionDenied
from rapport.core.models import SavedView
from rapport.core.registry import Entity

ACTIONS = {"trash": "delete", "tag_add": "change", "tag_remove": "change", "assign": "assign"}


@dataclass
class BulkResult:
    done: int = 0
    skipped: list[int] = field(default_factory=list)


def update_record(entity: type[Entity], *, actor, obj, data: dict, expected_version=None):
    """Call the entity's update service whatever its object keyword is named."""
    keyword = entity.model._meta.model_name
    return entity.update_service(
        actor=actor, data=data, expected_version=expected_version, **{keyword: obj}
    )


def bulk_apply(
    entity: type[Entity], *, actor, ids: Iterable[int], action: str, value: Any = None
) -> BulkResult:
    """Apply one action to many records; returns how many changed and which ids were skipped."""
    if action not in ACTIONS:
        raise ValidationError({"action": [_("Unknown bulk action.")]})
    wanted = sorted({int(i) for i in ids})
    # View first, as the detail page: a record the actor cannot view does not exist for
    # them, whatever else a (mis)configured role grants.
    visible = entity.model.objects.restrict(actor, "view")
    qs = visible.restrict(actor, ACTIONS[action]).filter(pk__in=wanted)
    if action in {"tag_add", "tag_remove"}:
        qs = qs.prefetch_related("tags")
    objects = list(qs)
    result = BulkResult(skipped=sorted(set(wanted) - {o.pk for o in objects}))
    for obj in objects:
        try:
            _apply_one(entity, actor=actor, obj=obj, action=action, value=value)
            result.done += 1
        except (PermissionDenied, ConflictError, ValidationError):
            result.skipped.append(obj.pk)
    return result


def _apply_one(entity, *, actor, obj, action: str, value) -> None:
    if action == "trash":
        services.trash(actor=actor, obj=obj)
        return
    if action == "assign":
        data = {k: v for k, v in (value or {}).items() if v is not None}
        if data:
            update_record(entity, actor=actor, obj=obj, data=data)
        return
    current = [t.name for t in obj.tags.all()]
    names = {n.lower() for n in value or []}
    if action == "tag_add":
        tags = current + [n for n in value or [] if n.lower() not in {c.lower() for c in current}]
    else:
        tags = [t for t in current if t.lower() not in names]
    if tags != current:
        update_record(entity, actor=actor, obj=obj, data={"tags": tags})


@transaction.atomic
def savedview_create(
    *, actor, entity: type[Entity], name: str, params: dict, columns: list[str], shared: bool
) -> SavedView:
    """Save a list configuration under a name (replacing the actor's own view of that name)."""
    name = " ".join(str(name).split())[:100]
    if not name:
        raise ValidationError({"name": [_("Give the view a name.")]})
    keep = {k: v for k, v in params.items() if k not in {"cursor", "view"}}
    valid_columns = {c.key for c in entity.columns}
    view, _created = SavedView.objects.update_or_create(
        entity=entity.key,
        user=actor,
        name=name,
        defaults={
            "params": keep,
            "columns": [c for c in columns if c in valid_columns],
            "shared": bool(shared),
        },
    )
    return view


def savedview_delete(*, actor, view: SavedView) -> None:
    """Only the author deletes a saved view (shared ones included)."""
    if view.user_id != actor.pk:
        raise PermissionDenied("delete")
    view.delete()
