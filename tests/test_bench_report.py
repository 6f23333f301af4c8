"""A partial bench run (--only) updates what it measured and keeps the rest."""

from __future__ import annotations

import json

from bench import report


def _op(p50: float, p95: float, floor: float) -> dict:
    return {
        "runs": 30,
        "p50_ms": p50,
        "p95_ms": p95,
        "floor_p95_ms": floor,
        "ratio_p95": round(p95 / floor, 2),
        "title": "an operation",
        "target": "a target",
    }


def _growth(ratio: float) -> dict:
    return {"S_p95_ms": 10.0, "p95_ms": 10.0 * ratio, "ratio": ratio, "met": ratio <= 1.5}


def _result(ops: dict, growth: dict, rss) -> dict:
    return {
        "engine": "sqlite",
        "label": "L",
        "size": 1_000_000,
        "when": "then",
        "machine": "x86_64, 2 cores",
        "python": "3.12",
        "load": {"reused": True},
        "ops": ops,
        "memory": {"server_max_rss_mb": rss, "import_rss_growth_mb": None},
        "growth": growth,
    }


def test_partial_run_keeps_the_growth_and_memory_it_did_not_measure(tmp_path):
    full = _result(
        {
            "list": _op(30, 40, 2),
            "search": _op(50, 90, 60),
        },
        {"list": _growth(1.1), "search": _growth(9.0)},
        rss=108.0,
    )
    report.write(full, tmp_path, only=False)
    partial = _result(
        {"search": _op(5, 9, 6)},
        {"search": _growth(1.2)},
        rss=None,  # no load test in this run
    )
    report.write(partial, tmp_path, only=True)
    merged = json.loads((tmp_path / "sqlite-L.json").read_text())
    assert merged["ops"]["list"]["p95_ms"] == 40  # kept
    assert merged["ops"]["search"]["p95_ms"] == 9  # replaced
    assert merged["growth"] == {"list": _growth(1.1), "search": _growth(1.2)}
    assert merged["memory"]["server_max_rss_mb"] == 108.0
    assert merged["ops"]["search"]["met"] is True  # judged again on the merged result


def test_the_table_says_how_fast_the_machine_ran():
    ops = {
        "list": {**_op(30, 40, 2), "probe_ms": 41.5},
        "search": {**_op(5, 9, 6), "probe_ms": 60.25},
    }
    text = report.markdown(_result(ops, {}, rss=None))
    assert "a fixed pure-Python loop took 41.5–60.25 ms" in text
    assert "probe" not in report.markdown(_result({"list": _op(30, 40, 2)}, {}, rss=None))


def test_target_12_holds_the_workers_own_memory_and_shows_its_rss():
    """RSS counts the database pages SQLite reads through its memory map (decision 0052):
    the verdict is on the worker's own memory, and the table shows both."""
    mapped = _result({}, {}, rss=315.0)
    mapped["memory"]["server_max_own_mb"] = 107.0
    report.verdicts(mapped)
    assert mapped["memory"]["met"] is True
    assert "| 107 MB (RSS 315 MB) |" in report.markdown(mapped)
    mapped["memory"]["server_max_own_mb"] = 260.0
    report.verdicts(mapped)
    assert mapped["memory"]["met"] is False
    older = _result({}, {}, rss=300.0)  # measured before own memory was: RSS decides
    report.verdicts(older)
    assert older["memory"]["met"] is False


def test_memory_is_read_from_proc_for_this_process_and_none_for_a_gone_one():
    from bench import memory_mb

    now = memory_mb()
    assert set(now) == {"rss", "peak_rss", "own", "mapped"}
    assert 0 < now["own"] < now["rss"] <= now["peak_rss"]
    assert memory_mb(2**22 + 12345) is None  # above Linux's largest pid
