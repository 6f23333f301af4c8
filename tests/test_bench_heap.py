"""A benchmark process holds its generated dataset next to the app it measures; once set up,
that dataset is moved out of the garbage collector's reach (`bench.freeze_heap`), so a
collection during a timed operation scans what an app process would hold, not the
benchmark's millions of rows."""

from __future__ import annotations

import gc

from bench import freeze_heap


def test_the_benchmarks_own_data_is_out_of_the_collectors_reach():
    rows = [[index, f"person {index}"] for index in range(5_000)]  # tracked, like the dataset
    wanted = {id(row) for row in rows}
    assert sum(id(o) in wanted for o in gc.get_objects()) == len(rows)
    try:
        freeze_heap()
        assert gc.get_freeze_count() >= len(rows)
        assert not any(id(o) in wanted for o in gc.get_objects())
        later = [[0]]  # made after the freeze: collected as usual
        assert any(o is later for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert sum(id(o) in wanted for o in gc.get_objects()) == len(rows)
