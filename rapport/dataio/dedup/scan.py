"""The background duplicate scan over a whole table.

Blocking happens in SQL: records that share a normalised email, an E.164 phone, a
company domain or a phonetic match key (for people: at the same employer) (GROUP BY …
HAVING COUNT(*) > 1) become candidate pairs; a block larger than `BLOCK_CAP` (a shared info@ address, the most
common name key) is skipped and counted, since comparing everyone in it would be
quadratic and mostly noise. Only records in some pair are loaded, in chunks, and
scored in Python; pairs at or above the threshold that nobody dismissed are joined
into clusters (union-find) that replace the previous scan's clusters atomically.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations

from django.db import connection, transaction
from django.db.models import Count, TextField
from django.db.models.functions import Cast
from django.tasks import task
from django.utils import timezone

from rapport.contacts.models import Company, EmailAddress, Person, PhoneNumber
from rapport.dataio.dedup import scoring
from rapport.dataio.models import (
    DuplicateCluster,
    DuplicateDismissal,
    DuplicatePair,
    DuplicateScan,
)

logger = logging.getLogger("rapport.dedup")

BLOCK_CAP = 100  # largest block compared pairwise
CHUNK = 2000  # wanted ids per range read when loading profiles; values per IN (…)
WRITE_BATCH = 1000


@dataclass
class ScanResult:
    records: int = 0
    comparisons: int = 0
    pairs: int = 0
    clusters: int = 0
    skipped_blocks: int = 0
    skipped_records: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


# --- blocking ------------------------------------------------------------------------


def _blocks(
    queryset, key: str, member: str, result: ScanResult, *, within: str | None = None
) -> Iterator[list[int]]:
    """Ids sharing each value of `key` (and of `within`, when given), in blocks of
    2…BLOCK_CAP; bigger blocks are counted in `result` and skipped.

    The database groups and counts; members of the blocks worth comparing come back in
    one query ordered by key, grouped here as they stream."""
    queryset = queryset.exclude(**{key: ""})
    if within:
        queryset = queryset.filter(**{f"{within}__isnull": False})
    groups = queryset.values(key, *([within] if within else [])).annotate(n=Count("*")).order_by()
    for size in groups.filter(n__gt=BLOCK_CAP).values_list("n", flat=True):
        result.skipped_blocks += 1
        result.skipped_records += size
    shared = groups.filter(n__gt=1, n__lte=BLOCK_CAP).values(key)
    fields = [key, *([within] if within else []), member]
    rows = queryset.filter(**{f"{key}__in": shared}).values_list(*fields).order_by(*fields[:-1])
    block: list[int] = []
    current = None
    for row in rows.iterator(chunk_size=10000):
        if row[:-1] != current:
            if 1 < len(block) <= BLOCK_CAP:
                yield block
            block, current = [], row[:-1]
        block.append(row[-1])
    if 1 < len(block) <= BLOCK_CAP:
        yield block


def candidate_pairs(entity: str, result: ScanResult) -> set[tuple[int, int]]:
    """Every (smaller id, larger id) pair sharing a block, over live records.

    People meet on a shared email or phone, or on the name key *at the same employer*:
    a name alone never scores above the threshold without an employer or address to back
    it, and blocking the name key on its own grows quadratically with common names."""
    model = Person if entity == "person" else Company
    dead = set(model.all_objects.filter(deleted_at__isnull=False).values_list("pk", flat=True))
    if entity == "person":
        sources = [
            (EmailAddress.objects.all(), "normalized", "person_id", None),
            (PhoneNumber.objects.filter(person__isnull=False), "number", "person_id", None),
            (Person.objects.all(), "match_key", "pk", "company_id"),
        ]
    else:
        sources = [
            (Company.objects.all(), "primary_domain", "pk", None),
            (PhoneNumber.objects.filter(company__isnull=False), "number", "company_id", None),
            (Company.objects.all(), "match_key", "pk", None),
        ]
    pairs: set[tuple[int, int]] = set()
    for queryset, key, member, within in sources:
        for block in _blocks(queryset, key, member, result, within=within):
            ids = sorted({pk for pk in block if pk not in dead})
            pairs.update(combinations(ids, 2))
    return pairs


# --- loading and scoring -------------------------------------------------------------


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def _json(text: str | None):
    """Addresses are parsed only for the records wanted, and not at all when empty."""
    return json.loads(text) if text and text != "[]" else []


def load_profiles(entity: str, ids: Iterable[int]) -> dict[int, scoring.Profile]:
    """Profiles of the given records, three range queries per chunk of ids.

    A chunk is read as an id *range* and filtered here: thousands of bound parameters
    in `IN (…)` cost more to send than the few rows in between that nobody asked for."""
    profiles: dict[int, scoring.Profile] = {}
    for chunk in _chunks(sorted(ids)):
        wanted = set(chunk)
        span = {"gte": chunk[0], "lte": chunk[-1]}
        owner = "person_id" if entity == "person" else "company_id"
        numbers: dict[int, list[str]] = defaultdict(list)
        for pk, number in PhoneNumber.objects.filter(
            **{f"{owner}__{k}": v for k, v in span.items()}
        ).values_list(owner, "number"):
            if pk in wanted:
                numbers[pk].append(number)
        if entity == "person":
            emails: dict[int, list[str]] = defaultdict(list)
            for pk, address in EmailAddress.objects.filter(
                person_id__gte=chunk[0], person_id__lte=chunk[-1]
            ).values_list("person_id", "normalized"):
                if pk in wanted:
                    emails[pk].append(address)
            rows = (
                Person.objects.filter(pk__gte=chunk[0], pk__lte=chunk[-1])
                .annotate(places=Cast("addresses", TextField()))
                .values_list("pk", "first_name", "last_name", "company_id", "places", "match_key")
            )
            for pk, first, last, company_id, places, key in rows:
                if pk not in wanted:
                    continue
                profiles[pk] = scoring.person_profile(
                    pk,
                    first_name=first,
                    last_name=last,
                    emails=emails.get(pk, ()),
                    phones=numbers.get(pk, ()),
                    company_id=company_id,
                    addresses=_json(places),
                    match_key=key,
                )
        else:
            rows = (
                Company.objects.filter(pk__gte=chunk[0], pk__lte=chunk[-1])
                .annotate(places=Cast("addresses", TextField()))
                .values_list("pk", "name", "domains", "primary_domain", "places", "match_key")
            )
            for pk, name, domains, primary, places, key in rows:
                if pk not in wanted:
                    continue
                profiles[pk] = scoring.company_profile(
                    pk,
                    name=name,
                    domains=list(domains or []) + ([primary] if primary else []),
                    phones=numbers.get(pk, ()),
                    addresses=_json(places),
                    match_key=key,
                )
    return profiles


def dismissed_pairs(entity: str) -> set[tuple[int, int]]:
    rows = DuplicateDismissal.objects.filter(entity=entity).values_list("left_id", "right_id")
    return {(min(a, b), max(a, b)) for a, b in rows}


def score_pairs(entity, pairs, profiles, dismissed) -> dict[tuple[int, int], tuple[float, list]]:
    kept = {}
    for pair in pairs:
        if pair in dismissed:
            continue
        left, right = profiles.get(pair[0]), profiles.get(pair[1])
        if left is None or right is None:
            continue
        value, reasons = scoring.score(left, right, entity=entity)
        if value >= scoring.THRESHOLD:
            kept[pair] = (value, reasons)
    return kept


# --- clustering ----------------------------------------------------------------------


def clusters_of(pairs: Iterable[tuple[int, int]]) -> list[list[int]]:
    """Connected components (union-find with path halving), each sorted."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        root_a, root_b = find(a), find(b)
        if root_a != root_b:
            parent[max(root_a, root_b)] = min(root_a, root_b)
    groups: dict[int, list[int]] = defaultdict(list)
    for x in list(parent):
        groups[find(x)].append(x)
    return [sorted(members) for members in groups.values()]


def _delete_clusters(entity: str) -> None:
    """Drop an entity's clusters and pairs in two statements (the ORM's cascading delete
    would first load every cluster: tens of thousands after a big scan)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in (DuplicatePair, DuplicateCluster):
            table = quote(model._meta.db_table)
            column = quote(model._meta.get_field("entity").column)
            cursor.execute(f"DELETE FROM {table} WHERE {column} = %s", [entity])  # noqa: S608  # nosec B608 # identifiers from code, values as parameters


def write_clusters(entity: str, scan: DuplicateScan, kept: dict) -> int:
    """Replace the entity's clusters with those of `kept` pairs; returns how many."""
    by_root: dict[int, list[tuple[int, int]]] = defaultdict(list)
    member_of: dict[int, int] = {}
    for members in clusters_of(kept):
        for pk in members:
            member_of[pk] = members[0]
    for pair in kept:
        by_root[member_of[pair[0]]].append(pair)
    with transaction.atomic():
        _delete_clusters(entity)
        roots = sorted(by_root)
        for start in range(0, len(roots), WRITE_BATCH):
            batch = roots[start : start + WRITE_BATCH]
            clusters = []
            for root in batch:
                pairs = by_root[root]
                members = sorted({pk for pair in pairs for pk in pair})
                clusters.append(
                    DuplicateCluster(
                        scan=scan,
                        entity=entity,
                        score=max(kept[p][0] for p in pairs),
                        member_ids=members,
                        reasons=scoring.merge_reasons(kept[p][1] for p in pairs),
                    )
                )
            DuplicateCluster.objects.bulk_create(clusters)
            DuplicatePair.objects.bulk_create(
                [
                    DuplicatePair(
                        cluster=cluster,
                        entity=entity,
                        left_id=pair[0],
                        right_id=pair[1],
                        score=kept[pair][0],
                        reasons=kept[pair][1],
                    )
                    for root, cluster in zip(batch, clusters, strict=True)
                    for pair in by_root[root]
                ],
                batch_size=WRITE_BATCH,
            )
    return len(by_root)


# --- the scan ------------------------------------------------------------------------


def run_scan(entity: str, scan: DuplicateScan) -> ScanResult:
    """Block, score, cluster and store; timings per phase in `result.seconds`."""
    result = ScanResult()
    model = Person if entity == "person" else Company
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        result.seconds[name] = round(now - clock, 3)
        clock = now

    result.records = model.objects.count()
    pairs = candidate_pairs(entity, result)
    result.comparisons = len(pairs)
    lap("blocking")
    profiles = load_profiles(entity, {pk for pair in pairs for pk in pair})
    lap("loading")
    kept = score_pairs(entity, pairs, profiles, dismissed_pairs(entity))
    result.pairs = len(kept)
    lap("scoring")
    result.clusters = write_clusters(entity, scan, kept)
    lap("writing")
    if result.skipped_blocks:
        logger.warning(
            "duplicate scan of %s skipped %d blocks (%d records) larger than %d",
            entity,
            result.skipped_blocks,
            result.skipped_records,
            BLOCK_CAP,
        )
    return result


@task()
def scan_duplicates(entity: str, scan_id: int | None = None) -> dict:
    """Run a duplicate scan (a queued DuplicateScan, or a new one); idempotent: a scan
    that already finished is not run again."""
    if scan_id is None:
        scan = DuplicateScan.objects.create(entity=entity)
    else:
        scan = DuplicateScan.objects.filter(pk=scan_id).first()
        if scan is None or scan.status in (DuplicateScan.Status.DONE, DuplicateScan.Status.FAILED):
            return {"skipped": True}
    scan.status = DuplicateScan.Status.RUNNING
    scan.started_at = timezone.now()
    scan.save(update_fields=["status", "started_at"])
    try:
        result = run_scan(scan.entity, scan)
    except Exception as exc:
        logger.exception("duplicate scan %s failed", scan.pk)
        scan.status = DuplicateScan.Status.FAILED
        scan.error = str(exc)[:2000]
        scan.finished_at = timezone.now()
        scan.save(update_fields=["status", "error", "finished_at"])
        raise
    scan.status = DuplicateScan.Status.DONE
    scan.records = result.records
    scan.comparisons = result.comparisons
    scan.pairs = result.pairs
    scan.clusters = result.clusters
    scan.finished_at = timezone.now()
    scan.save(
        update_fields=["status", "records", "comparisons", "pairs", "clusters", "finished_at"]
    )
    return {
        "scan": scan.pk,
        "records": result.records,
        "pairs": result.pairs,
        "clusters": result.clusters,
        "skipped_blocks": result.skipped_blocks,
        "skipped_records": result.skipped_records,
    }
