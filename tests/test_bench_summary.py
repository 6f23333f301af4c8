"""The README's performance table is written from the committed bench results."""

from __future__ import annotations

import json

from bench import summary


def _result(list_p95: float, met: bool) -> dict:
    return {
        "ops": {
            "list": {"p50_ms": 9.5, "p95_ms": list_p95, "floor_p95_ms": 1.2, "met": met},
            "list_page1": {"p95_ms": 10.0, "met": None},
            "list_page200": {"p95_ms": 11.0, "met": True},
            "list_text": {
                "p50_ms": 20.0,
                "p95_ms": 31.0,
                "floor_p95_ms": 9.0,
                "met": False,
                "by_kind": {"substring": {"p95_ms": 31.0}, "surname": {"p95_ms": 12.0}},
            },
        },
        "memory": {"server_max_rss_mb": 300.0, "import_rss_growth_mb": 4.0},
        "growth": {"list": {"ratio": 1.1, "met": True}, "search": {"ratio": 2.0, "met": False}},
    }


def test_table_reads_each_engine_and_marks_each_target(tmp_path):
    (tmp_path / "sqlite-L.json").write_text(json.dumps(_result(12.0, True)))
    (tmp_path / "postgres-L.json").write_text(json.dumps(_result(40.0, False)))
    rows = {line.split(" | ")[0]: line for line in summary.table("L", tmp_path).splitlines()}
    assert "p95 12.0 ms (floor p95 1.2) ✓" in rows["| 1"].split(" | ")[2]
    assert "p95 40.0 ms (floor p95 1.2) ✗" in rows["| 1"].split(" | ")[3]
    assert rows["| 1b"].split(" | ")[2] == (
        "p50 20.0 / p95 31.0 ms (substring 31.0, surname 12.0); floor p95 9.0 ✗"
    )
    assert "(1.1×) ✓" in rows["| 2"]
    assert "over 1.5×: search 2.0× ✗" in rows["| 11"]
    assert "300.0 MB; import RSS growth 4.0 MB ✗" in rows["| 12"]  # over 250 MB
    assert rows["| 7"].split(" | ")[2] == "—"  # not measured: said so, not invented


def test_memory_row_judges_the_workers_own_memory_and_shows_its_rss(tmp_path):
    result = _result(12.0, True)
    result["memory"] = {
        "server_max_own_mb": 107.0,
        "server_max_rss_mb": 315.0,
        "import_own_growth_mb": 0.0,
        "import_rss_growth_mb": 199.0,
    }
    (tmp_path / "sqlite-L.json").write_text(json.dumps(result))
    rows = {line.split(" | ")[0]: line for line in summary.table("L", tmp_path).splitlines()}
    assert rows["| 12"].split(" | ")[2] == "own 107.0 MB (RSS 315.0 MB); import growth 0.0 MB ✓"


def test_write_replaces_only_the_marked_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{summary.BEGIN}\nold table\n{summary.END}\noutro\n")
    summary.write_readme("| new |\n", readme)
    assert readme.read_text() == f"intro\n{summary.BEGIN}\n| new |\n{summary.END}\noutro\n"
