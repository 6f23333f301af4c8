"""A tiny run of the dedup benchmark: the scan finds the planted duplicates and spares
the relatives (the benchmark itself times 100k and 1M people)."""

from __future__ import annotations

import pytest

from bench.dedup.generate import generate
from bench.dedup.load import load
from bench.dedup.measure import scan_quality, time_entry, time_scan

pytestmark = pytest.mark.django_db


def test_scan_finds_planted_duplicates_with_high_precision_and_recall(admin, team_a):
    data = generate(300, seed=3, dup_rate=0.1)
    assert len(data.rows) == 300 and len(data.truth) == 30
    assert {kind for _b, _d, kind in data.truth} >= {"typo", "script", "swap", "phone"}
    ids = load(data, owner=admin, team=team_a)
    scan = time_scan()
    assert scan["records"] == 300
    quality = scan_quality(data, ids)
    assert quality["precision"] >= 0.9
    assert quality["recall"] >= 0.9
    assert quality["relatives_proposed"] == 0
    entry = time_entry(data, ids, admin, probes=40)
    assert entry["duplicate_probes_found"] >= 0.9


def test_the_generator_is_deterministic():
    one, two = generate(200, seed=5), generate(200, seed=5)
    assert [(r.first, r.last, r.emails) for r in one.rows] == [
        (r.first, r.last, r.emails) for r in two.rows
    ]
    assert one.truth == two.truth
