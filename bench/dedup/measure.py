"""Timing the scan and the on-entry check on a loaded dataset, scored against the truth."""

from __future__ import annotations

import random
import statistics
import time
from typing import Any

from bench.dedup.generate import Dataset
from bench.dedup.load import _e164
from rapport.dataio.dedup import candidates
from rapport.dataio.dedup.scan import run_scan
from rapport.dataio.models import DuplicatePair, DuplicateScan


def truth_pairs(data: Dataset, ids: list[int]) -> set[tuple[int, int]]:
    return {tuple(sorted((ids[b], ids[d]))) for b, d, _kind in data.truth}


def scan_quality(data: Dataset, ids: list[int]) -> dict[str, Any]:
    """Precision and recall of the stored pairs against the planted duplicates, overall
    and per kind; relatives proposed as duplicates are counted too."""
    found = set(DuplicatePair.objects.filter(entity="person").values_list("left_id", "right_id"))
    truth = truth_pairs(data, ids)
    hits = found & truth
    by_kind: dict[str, list[int]] = {}
    for b, d, kind in data.truth:
        pair = tuple(sorted((ids[b], ids[d])))
        by_kind.setdefault(kind, [0, 0])
        by_kind[kind][1] += 1
        by_kind[kind][0] += pair in found
    relatives = {tuple(sorted((ids[a], ids[b]))) for a, b in data.negatives}
    return {
        "proposed_pairs": len(found),
        "true_pairs": len(truth),
        "precision": round(len(hits) / len(found), 4) if found else 1.0,
        "recall": round(len(hits) / len(truth), 4) if truth else 1.0,
        "recall_by_kind": {k: round(v[0] / v[1], 4) for k, v in sorted(by_kind.items())},
        "relatives_proposed": len(found & relatives),
        "relatives": len(relatives),
    }


def time_scan(entity: str = "person") -> dict[str, Any]:
    scan = DuplicateScan.objects.create(entity=entity)
    started = time.perf_counter()
    result = run_scan(entity, scan)
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "phases": result.seconds,
        "records": result.records,
        "candidate_pairs": result.comparisons,
        "kept_pairs": result.pairs,
        "clusters": result.clusters,
        "skipped_blocks": result.skipped_blocks,
        "skipped_records": result.skipped_records,
    }


def _probe(row) -> dict[str, Any]:
    return {
        "first_name": row.first,
        "last_name": row.last,
        "emails": [{"address": e} for e in row.emails],
        "phones": [{"number": _e164(p, row.locale)} for p in row.phones],  # as its region
    }


def time_entry(data: Dataset, ids: list[int], user, *, probes: int = 400, seed: int = 11):
    """p50/p95 of the on-entry check: half the probes are planted duplicates being
    entered again (each should find its original), half fresh people."""
    rng = random.Random(seed)
    dupes = rng.sample(data.truth, min(probes // 2, len(data.truth)))
    fresh = []
    for n in range(probes - len(dupes)):
        row = data.rows[rng.randrange(len(data.rows))]
        fresh.append(
            {
                "first_name": row.last[::-1].title(),
                "last_name": row.first[::-1].title(),
                "emails": [{"address": f"nobody{n}@fresh.example"}],
                "phones": [],
            }
        )
    dupe_timings, fresh_timings, found = [], [], 0
    candidates.likely_duplicates("person", user, fresh[0] if fresh else {})  # warm caches
    for base, dup, _kind in dupes:
        started = time.perf_counter()
        matches = candidates.likely_duplicates(
            "person", user, _probe(data.rows[dup]), exclude_pk=ids[dup]
        )
        dupe_timings.append(time.perf_counter() - started)
        found += any(m.obj.pk == ids[base] for m in matches)
    for probe in fresh:
        started = time.perf_counter()
        candidates.likely_duplicates("person", user, probe)
        fresh_timings.append(time.perf_counter() - started)
    return {
        "probes": len(dupe_timings) + len(fresh_timings),
        **_percentiles("", dupe_timings + fresh_timings),
        **_percentiles("no_match_", fresh_timings),
        **_percentiles("match_", dupe_timings),
        "duplicate_probes_found": round(found / len(dupes), 4) if dupes else 1.0,
    }


def _percentiles(prefix: str, timings: list[float]) -> dict[str, float]:
    if len(timings) < 2:
        return {}
    cuts = statistics.quantiles(sorted(timings), n=20)
    return {
        f"{prefix}p50_ms": round(statistics.median(timings) * 1000, 3),
        f"{prefix}p95_ms": round(cuts[18] * 1000, 3),
    }
