"""Undoing a merge, and merging whole duplicate clusters (one at a time or in bulk).

Undo puts every moved row back, re-creates the rows dropped as duplicates with their
original ids and values, restores both records' columns from their snapshots and
clears the tombstone. It is refused, with the reason, when the survivor or any moved
row changed since the merge in a way the undo would silently overwrite.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.core import audit
from rapport.core.exceptions import ConflictError, PermissionDenied
from rapport.core.models import AuditEvent
from rapport.core.registry import registry
from rapport.core.services import deny, lock_for_update, require, service, stamp
from rapport.dataio import merging
from rapport.dataio.merge_moves import CHUNK, relations
from rapport.dataio.models import DuplicateCluster, DuplicateDismissal, DuplicateScan, Merge

NOT_RESTORED = frozenset({"id", "version", "updated_at", "updated_by_id"})


class MergeUndoRefused(Exception):
    """The merge cannot be undone safely (already undone, or changed since); `reason`
    says why in the user's language. The API answers 409, the UI shows the reason."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def merges_visible_to(user):
    """Merges whose survivor the user may view (tombstones and undone ones included)."""
    condition = Q(pk__in=[])
    for entity in registry:
        visible = entity.model.all_objects.restrict(user, "view").values("pk")
        condition |= Q(entity=entity.key, survivor_id__in=visible)
    return Merge.objects.filter(condition)


def _model_of(label: str):
    app_label, model_name, *_rest = label.split(".")
    return apps.get_model(app_label, model_name)


def _fk_of(label: str):
    app_label, model_name, name = label.split(".")
    return apps.get_model(app_label, model_name)._meta.get_field(name)


def _from_json(model, values: dict[str, Any]) -> dict[str, Any]:
    fields = {f.attname: f for f in model._meta.concrete_fields}
    return {k: fields[k].to_python(v) for k, v in values.items() if k in fields}


def _restore_columns(obj, values: dict[str, Any]) -> None:
    for attname, value in _from_json(type(obj), values).items():
        if attname not in NOT_RESTORED:
            setattr(obj, attname, value)


def _problems(merge: Merge, survivor, merged) -> list[str]:
    """Why undoing now would lose or corrupt data; empty when it is safe."""
    after = merge.moved.get("_after", {})
    problems = []
    if survivor.version != after.get("survivor_version"):
        problems.append(
            _("“%(name)s” was changed after the merge; undo would overwrite those changes.")
            % {"name": survivor}
        )
    if merged.merged_into != survivor.pk or merged.version != after.get("merged_version"):
        problems.append(_("The merged record changed after the merge."))
    for label, entry in merge.moved.items():
        if label.startswith("_"):
            continue
        ids = entry.get("ids", [])
        model = _model_of(label)
        if "." in label and label.count(".") == 2:
            fk = _fk_of(label)
            still = model._base_manager.filter(pk__in=ids, **{fk.attname: survivor.pk}).count()
        else:
            still = model._base_manager.filter(pk__in=ids, object_id=survivor.pk).count()
        if still != len(ids):
            problems.append(
                _("%(count)s moved %(things)s were changed or deleted since the merge.")
                % {"count": len(ids) - still, "things": model._meta.verbose_name_plural}
            )
        dropped = [row[model._meta.pk.attname] for row in entry.get("dropped", [])]
        if dropped and model._base_manager.filter(pk__in=dropped).exists():
            problems.append(_("Rows removed as duplicates cannot be put back."))
    return problems


@service
def merge_undo(*, actor, merge: Merge) -> None:
    """Put everything a merge moved back where it was and bring the merged record back."""
    merge = Merge.objects.select_for_update().get(pk=merge.pk)
    if merge.undone_at is not None:
        raise MergeUndoRefused(_("This merge was already undone."))
    model = registry.get(merge.entity).model
    first, second = sorted([merge.survivor_id, merge.merged_id])
    locked = {pk: lock_for_update(model, pk) for pk in (first, second)}
    survivor, merged = locked[merge.survivor_id], locked[merge.merged_id]
    require(actor, "change", survivor)
    require(actor, "change", merged)
    problems = _problems(merge, survivor, merged)
    if problems:
        raise MergeUndoRefused(" ".join(problems))

    for label, entry in merge.moved.items():
        if label.startswith("_"):
            continue
        if label.count(".") == 2:
            _put_back_relation(_fk_of(label), entry, merge)
        else:
            _put_back_soft(_model_of(label), entry, merge)

    _restore_columns(survivor, merge.survivor_before)
    stamp(survivor, actor=actor, creating=False)
    survivor.save()
    _restore_columns(merged, merge.merged_before)
    stamp(merged, actor=actor, creating=False)
    merged.save()
    merge.undone_at = timezone.now()
    merge.undone_by = actor if getattr(actor, "pk", None) else None
    merge.save(update_fields=["undone_at", "undone_by"])
    for obj, other in ((survivor, merged), (merged, survivor)):
        audit.record(
            audit.Action.MERGE_UNDO,
            actor=actor,
            obj=obj,
            extra={"merge_id": merge.pk, "other_id": other.pk},
        )
    merging.reindex_after(merge.entity, survivor, merged, merge.moved)


def _put_back_relation(fk, entry: dict[str, Any], merge: Merge) -> None:
    model = fk.model
    manager = model._base_manager
    ids = entry.get("ids", [])
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        manager.filter(pk__in=chunk).update(**{fk.attname: merge.merged_id})
    if entry.get("cleared"):
        manager.filter(pk__in=entry["cleared"]).update(**{fk.attname: merge.merged_id})
    for pk, old in (entry.get("changed") or {}).items():
        manager.filter(pk=int(pk)).update(**_from_json(model, old))
    if entry.get("dropped"):
        manager.bulk_create([model(**_from_json(model, row)) for row in entry["dropped"]])


def _put_back_soft(model, entry: dict[str, Any], merge: Merge) -> None:
    ids = entry.get("ids", [])
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        model.objects.filter(pk__in=chunk).update(object_id=merge.merged_id)
    if model is AuditEvent and entry.get("marked"):
        events = list(AuditEvent.objects.filter(pk__in=entry["marked"]).only("pk", "extra"))
        for event in events:
            event.extra = {k: v for k, v in (event.extra or {}).items() if k != "merged_from"}
        AuditEvent.objects.bulk_update(events, ["extra"], batch_size=CHUNK)


# --- clusters --------------------------------------------------------------------------


def completeness(obj) -> int:
    """How much a record holds: filled fields plus related rows (the survivor of a
    cluster merge is the most complete record; the oldest breaks ties)."""
    filled = sum(not merging.blank(merging._value(obj, f)) for f in merging.merge_fields(type(obj)))
    related = 0
    for fk in relations(type(obj)):
        related += fk.model._base_manager.filter(**{fk.attname: obj.pk}).count()
    return filled + related


def pick_survivor(records: list) -> Any:
    return sorted(records, key=lambda r: (-completeness(r), r.created_at, r.pk))[0]


@service
def merge_cluster(*, actor, cluster: DuplicateCluster, survivor=None) -> list[Merge]:
    """Merge every live member of a duplicate cluster into one survivor."""
    model = registry.get(cluster.entity).model
    members = list(model.objects.filter(pk__in=cluster.member_ids).order_by("pk"))
    if len(members) < 2:
        raise ValidationError({"cluster": [_("Fewer than two of its records are left.")]})
    survivor = survivor or pick_survivor(members)
    return [
        merging.record_merge(actor=actor, entity=cluster.entity, survivor=survivor, merged=m)
        for m in members
        if m.pk != survivor.pk
    ]


@dataclass
class BulkMergeResult:
    clusters: int = 0
    merges: list[Merge] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (cluster id, reason)


def clusters_at_least(entity: str, threshold: float):
    """The latest finished scan's clusters scoring at least `threshold`."""
    scan = DuplicateScan.objects.filter(entity=entity, status=DuplicateScan.Status.DONE).first()
    qs = DuplicateCluster.objects.filter(entity=entity, score__gte=threshold)
    return qs.filter(scan=scan) if scan is not None else qs


def _dismissed(cluster: DuplicateCluster) -> bool:
    ids = sorted(cluster.member_ids)
    pairs = Q(pk__in=[])
    for i, left in enumerate(ids):
        pairs |= Q(left_id=left, right_id__in=ids[i + 1 :])
    return DuplicateDismissal.objects.filter(pairs, entity=cluster.entity).exists()


def merge_clusters_bulk(*, actor, entity: str, threshold: float) -> BulkMergeResult:
    """Administrators only: merge every high-confidence cluster, each on its own
    (a cluster that fails is skipped with the reason; the others still merge)."""
    from rapport.accounts.services import is_administrator

    if not is_administrator(actor):
        raise deny("bulk_merge", actor=actor, object_type=entity, extra={"action": "bulk_merge"})
    result = BulkMergeResult()
    for cluster in clusters_at_least(entity, threshold):
        if _dismissed(cluster):
            result.skipped.append((cluster.pk, _("Some of its pairs were marked not duplicates.")))
            continue
        try:
            merges = merge_cluster(actor=actor, cluster=cluster)
        except ValidationError as exc:
            result.skipped.append((cluster.pk, " ".join(exc.messages)))
            continue
        except (PermissionDenied, ConflictError) as exc:
            result.skipped.append((cluster.pk, str(exc) or _("Not allowed.")))
            continue
        if merges:
            result.clusters += 1
            result.merges.extend(merges)
    return result
