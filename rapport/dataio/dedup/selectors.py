"""Reads of the duplicates feature: the clusters a user may see, a page at a time.

A cluster lists records from every team; each reader sees only the members they may
view, and a cluster with fewer than two visible members is not shown at all (it would
leak that a hidden duplicate exists). Pages are keyset pages over (score, id); hidden
clusters are skipped by reading on until the page is full.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rapport.core import keyset, permissions
from rapport.core.navigation import url_or_none
from rapport.dataio.dedup import scoring
from rapport.dataio.dedup.services import model_for
from rapport.dataio.models import DuplicateCluster, DuplicatePair, DuplicateScan

ORDERING = keyset.Ordering("-score", (("score", True), ("id", False)))
MAX_ROUNDS = 10  # underlying pages read to fill one page of visible clusters


@dataclass
class PairView:
    left: Any
    right: Any
    score: float
    reasons: list[dict]
    reason_texts: list[str]
    merge_url: str | None
    can_dismiss: bool

    @property
    def percent(self) -> int:
        return round(self.score * 100)

    @property
    def records(self) -> list:
        return [self.left, self.right]


@dataclass
class ClusterView:
    cluster: DuplicateCluster
    members: list
    pairs: list[PairView] = field(default_factory=list)
    reason_texts: list[str] = field(default_factory=list)

    @property
    def percent(self) -> int:
        return round(self.cluster.score * 100)


def latest_scan(entity: str) -> DuplicateScan | None:
    return DuplicateScan.objects.filter(entity=entity).order_by("-created_at", "-id").first()


def _views(user, entity: str, clusters: list[DuplicateCluster]) -> list[ClusterView]:
    model = model_for(entity)
    wanted = {pk for c in clusters for pk in c.member_ids}
    visible = model.objects.restrict(user, "view").filter(pk__in=sorted(wanted))
    if entity == "person":
        visible = visible.select_related("company")
    objects = {obj.pk: obj for obj in visible}
    pairs_by_cluster: dict[int, list[DuplicatePair]] = {}
    shown = [c for c in clusters if sum(pk in objects for pk in c.member_ids) >= 2]
    for pair in DuplicatePair.objects.filter(cluster__in=[c.pk for c in shown]).order_by(
        "-score", "id"
    ):
        pairs_by_cluster.setdefault(pair.cluster_id, []).append(pair)
    result = []
    for cluster in shown:
        members = [objects[pk] for pk in cluster.member_ids if pk in objects]
        view = ClusterView(cluster, members)
        for pair in pairs_by_cluster.get(cluster.pk, []):
            left, right = objects.get(pair.left_id), objects.get(pair.right_id)
            if left is None or right is None:
                continue
            view.pairs.append(
                PairView(
                    left=left,
                    right=right,
                    score=pair.score,
                    reasons=pair.reasons,
                    reason_texts=scoring.reasons_text(pair.reasons),
                    merge_url=url_or_none("dataio:merge", entity, left.pk, right.pk),
                    can_dismiss=permissions.allows(user, entity, "change", left)
                    and permissions.allows(user, entity, "change", right),
                )
            )
        if not view.pairs:
            continue
        view.reason_texts = scoring.reasons_text(
            scoring.merge_reasons(p.reasons for p in view.pairs)
        )
        result.append(view)
    return result


def clusters_for(
    user, entity: str, *, cursor: str | None, limit: int
) -> tuple[list[ClusterView], str | None]:
    """One page of the clusters `user` may see, best first, and the next page's cursor.

    Raises keyset.CursorError for a cursor of another query."""
    model_for(entity)
    filters = {"entity": entity}
    queryset = DuplicateCluster.objects.filter(entity=entity)
    items: list[ClusterView] = []
    next_cursor = cursor
    for _round in range(MAX_ROUNDS):
        page = keyset.paginate(
            queryset,
            ordering=ORDERING,
            filters=filters,
            cursor=next_cursor,
            limit=limit - len(items),
        )
        items += _views(user, entity, page.items)
        next_cursor = page.next_cursor
        if next_cursor is None or len(items) >= limit:
            break
    return items, next_cursor
