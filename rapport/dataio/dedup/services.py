"""Writes of the duplicates feature: starting a scan and dismissing pairs.

Both leave their own trail: a DuplicateScan row names who asked for it and when, a
DuplicateDismissal row who decided two records are different people and when (the
audit log's actions are about records; neither changes one). Refusals are audited as
denials like any other service.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from itertools import combinations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from rapport.contacts.models import Company, Person
from rapport.core import permissions
from rapport.core.services import deny, require, service
from rapport.dataio.dedup import scoring
from rapport.dataio.dedup.scan import clusters_of, scan_duplicates
from rapport.dataio.models import DuplicateCluster, DuplicateDismissal, DuplicatePair, DuplicateScan

ENTITIES = {"person": Person, "company": Company}
STALE_AFTER = datetime.timedelta(hours=2)  # a "running" scan older than this has died


def model_for(entity: str):
    model = ENTITIES.get(entity)
    if model is None:
        raise ValidationError({"entity": [_("Choose “person” or “company”.")]})
    return model


def may_scan(user, entity: str) -> bool:
    """Scanning reads the whole table on everyone's behalf: managers and administrators
    (change at team or wider scope), not reps who may change only their own records."""
    return permissions.best_scope(user, entity, "change") in {"team", "all"}


@service
def duplicate_scan_start(*, actor, entity: str) -> DuplicateScan:
    """Queue a scan of `entity` (or return the one already queued or running)."""
    model_for(entity)
    if not may_scan(actor, entity):
        raise deny("scan", actor=actor, object_type=entity, extra={"action": "duplicate_scan"})
    pending = (
        DuplicateScan.objects.select_for_update()
        .filter(
            entity=entity, status__in=[DuplicateScan.Status.QUEUED, DuplicateScan.Status.RUNNING]
        )
        .filter(created_at__gte=timezone.now() - STALE_AFTER)
        .first()
    )
    if pending is not None:
        return pending
    scan = DuplicateScan.objects.create(entity=entity, requested_by=actor)
    transaction.on_commit(lambda: scan_duplicates.enqueue(entity, scan.pk))
    return scan


def _changeable(actor, model, ids) -> list:
    """The records among `ids` the actor may view; each must also be changeable."""
    found = list(model.objects.restrict(actor, "view").filter(pk__in=list(ids)))
    for obj in found:
        require(actor, "change", obj)
    return found


def _rebuild(cluster: DuplicateCluster) -> None:
    """After pairs left a cluster: split what is no longer connected, drop singles."""
    pairs = list(cluster.pairs.all())
    groups = clusters_of((p.left_id, p.right_id) for p in pairs)
    if not groups:
        cluster.delete()
        return
    by_member = {pk: index for index, members in enumerate(groups) for pk in members}
    pairs_of: dict[int, list[DuplicatePair]] = defaultdict(list)
    for pair in pairs:
        pairs_of[by_member[pair.left_id]].append(pair)
    for index, members in enumerate(groups):
        target = cluster
        if index > 0:
            target = DuplicateCluster(scan_id=cluster.scan_id, entity=cluster.entity, score=0)
        target.member_ids = members
        target.score = max(p.score for p in pairs_of[index])
        target.reasons = scoring.merge_reasons(p.reasons for p in pairs_of[index])
        target.save()
        if index > 0:
            DuplicatePair.objects.filter(pk__in=[p.pk for p in pairs_of[index]]).update(
                cluster=target
            )


def _dismiss(actor, entity: str, pairs: set[tuple[int, int]]) -> int:
    DuplicateDismissal.objects.bulk_create(
        [DuplicateDismissal(entity=entity, left_id=a, right_id=b, user=actor) for a, b in pairs],
        ignore_conflicts=True,
    )
    ids = sorted({pk for pair in pairs for pk in pair})
    doomed = [
        pair
        for pair in DuplicatePair.objects.filter(entity=entity, left_id__in=ids, right_id__in=ids)
        if (pair.left_id, pair.right_id) in pairs
    ]
    touched = {pair.cluster_id for pair in doomed}
    DuplicatePair.objects.filter(pk__in=[pair.pk for pair in doomed]).delete()
    for cluster in DuplicateCluster.objects.filter(pk__in=touched):
        _rebuild(cluster)
    return len(pairs)


@service
def duplicate_dismiss(*, actor, entity: str, left_id: int, right_id: int) -> DuplicateDismissal:
    """Mark two records as not duplicates: never proposed again by the scan or the
    on-entry check. The actor must be allowed to change both (as for a merge)."""
    model = model_for(entity)
    if left_id == right_id:
        raise ValidationError({"right_id": [_("Choose two different records.")]})
    left, right = sorted((int(left_id), int(right_id)))
    found = _changeable(actor, model, [left, right])
    if len(found) < 2:
        raise model.DoesNotExist
    _dismiss(actor, entity, {(left, right)})
    return DuplicateDismissal.objects.get(entity=entity, left_id=left, right_id=right)


@service
def duplicate_dismiss_cluster(*, actor, cluster: DuplicateCluster) -> int:
    """Dismiss every pair of a cluster among the records the actor may see (and must be
    allowed to change); returns how many pairs were dismissed."""
    model = model_for(cluster.entity)
    found = _changeable(actor, model, cluster.member_ids)
    ids = sorted(obj.pk for obj in found)
    if len(ids) < 2:
        raise model.DoesNotExist
    return _dismiss(actor, cluster.entity, set(combinations(ids, 2)))
