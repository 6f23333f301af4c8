"""`python -m bench.summary [--size L] [--write]`: the README's Performance table.

One row per target of issue 4, one column per engine, read from
bench/results/<engine>-<size>.json. With --write the table in README.md (between the
`bench-summary` markers) is replaced; without it the table is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from bench.report import worker_memory_mb

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
README = ROOT / "README.md"
BEGIN, END = "<!-- bench-summary:begin -->", "<!-- bench-summary:end -->"
ENGINES = ("sqlite", "postgres")


def _mark(met) -> str:
    return {True: " ✓", False: " ✗"}.get(met, "")


def _read(ops: dict[str, Any], memory: dict[str, Any], growth: dict[str, Any]):
    """The cells of one engine, keyed by target number."""
    cells: dict[int | str, str] = {}
    op = ops.get("list")
    if op:
        cells[1] = (
            f"p50 {op['p50_ms']} / p95 {op['p95_ms']} ms "
            f"(floor p95 {op['floor_p95_ms']}){_mark(op.get('met'))}"
        )
    op = ops.get("list_text")
    if op:
        kinds = ", ".join(f"{k} {v['p95_ms']}" for k, v in sorted(op.get("by_kind", {}).items()))
        cells["1b"] = (
            f"p50 {op['p50_ms']} / p95 {op['p95_ms']} ms ({kinds}); floor p95 "
            f"{op['floor_p95_ms']}{_mark(op.get('met'))}"
        )
    first, deep = ops.get("list_page1"), ops.get("list_page200")
    if first and deep:
        ratio = round(deep["p95_ms"] / first["p95_ms"], 2) if first["p95_ms"] else None
        cells[2] = (
            f"p95 {deep['p95_ms']} vs {first['p95_ms']} ms ({ratio}×){_mark(deep.get('met'))}"
        )
    op = ops.get("list_date_range")
    if op:
        cells[3] = f"p50 {op['p50_ms']} / p95 {op['p95_ms']} ms{_mark(op.get('met'))}"
    op = ops.get("search")
    if op:
        kinds = ", ".join(f"{k} {v['p95_ms']}" for k, v in sorted(op.get("by_kind", {}).items()))
        cells[4] = (
            f"p50 {op['p50_ms']} / p95 {op['p95_ms']} ms ({kinds}); "
            f"{op['ratio_p95']}× floor{_mark(op.get('met'))}"
        )
    op = ops.get("person")
    if op:
        cells[5] = (
            f"p50 {op['p50_ms']} / p95 {op['p95_ms']} ms, {op.get('queries')} queries"
            f"{_mark(op.get('met'))}"
        )
    cells[6] = "not built yet (sales module)"
    op = ops.get("import")
    if op and "rows_per_s" in op:
        cells[7] = (
            f"{op['rows_per_s']} rows/s ({op['rows_per_cpu_s']} per CPU-s); floor "
            f"{op['floor_rows_per_s']} rows/s; {op['ratio']}×{_mark(op.get('met'))}"
        )
    op = ops.get("dedup")
    if op and "entry" in op:
        quality = op.get("quality", {})
        cells[8] = (
            f"entry p95 {op['entry']['no_match_p95_ms']} ms (match "
            f"{op['entry']['match_p95_ms']} ms); scan {op['scan']['seconds']} s; precision "
            f"{quality.get('precision')}, recall {quality.get('recall')}{_mark(op.get('met'))}"
        )
    op = ops.get("api_write")
    if op and "create_p95_ms" in op:
        floor = op.get("floor_writes_per_s")
        cells[9] = (
            f"p95 {op['create_p95_ms']} / {op['update_p95_ms']} ms; "
            f"{op['writes_per_s']} writes/s"
            + (f" (floor {floor} writes/s)" if floor is not None else "")
            + _mark(op.get("met"))
        )
    op = ops.get("load")
    if op and "req_per_s" in op:
        cpu = op.get("server_cpu_ms_per_request")
        cells[10] = (
            f"{op['req_per_s']} req/s, {op['failures']} errors"
            + (f", {cpu} ms server CPU/request" if cpu is not None else "")
            + _mark(op.get("met"))
        )
    if growth:
        over = [f"{name} {g['ratio']}×" for name, g in growth.items() if g.get("met") is False]
        cells[11] = f"over 1.5×: {', '.join(over)} ✗" if over else "all ≤ 1.5× ✓"
    worker = worker_memory_mb(memory)
    if worker is not None:
        if memory.get("server_max_own_mb") is not None:
            cells[12] = (
                f"own {worker} MB (RSS {memory.get('server_max_rss_mb')} MB); import growth "
                f"{memory.get('import_own_growth_mb')} MB{_mark(worker <= 250)}"
            )
        else:
            cells[12] = (
                f"{worker} MB; import RSS growth "
                f"{memory.get('import_rss_growth_mb')} MB{_mark(worker <= 250)}"
            )
    return cells


ROWS = [
    (1, "People list, rep's team scope + filter + sort, 50 rows", "p95 ≤ 15 ms, ≤ 2× floor"),
    ("1b", "The same list narrowed by typed text (`q`)", "p95 ≤ 15 ms, ≤ 2× floor"),
    (2, "Page 200 vs page 1, every sortable column", "≤ 1.5×"),
    (3, "Sort by name within a date range", "p95 ≤ 20 ms"),
    (4, "Search type-ahead", "p95 ≤ 15 ms, ≤ 3× floor"),
    (5, "Person page, 50-item timeline", "p95 ≤ 10 ms; queries constant"),
    (6, "Pipeline board and forecast", "≤ 10 / 150 ms"),
    (7, "Import 100k-row CSV into the live 1M database", "≥ 7,000 rows/s, ≥ 0.6× floor"),
    (8, "Duplicate check on entry / full scan", "≤ 1 ms / ≤ 2 min"),
    (9, "API create + update with audit", "p95 ≤ 5 ms; ≥ 500/s"),
    (10, "Locust, 16 users → `rapport serve`, JSON list", "≥ 400 / ≥ 200 req/s, 0 errors"),
    (11, "Growth S → L (p95)", "≤ 1.5×"),
    (12, "App worker memory during the load test (own, and RSS)", "≤ 250 MB"),
]


def table(size: str = "L", results: Path = RESULTS) -> str:
    columns = []
    for engine in ENGINES:
        path = results / f"{engine}-{size}.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        columns.append(_read(data.get("ops", {}), data.get("memory", {}), data.get("growth", {})))
    lines = [
        f"| # | operation at size {size} | SQLite | PostgreSQL | target |",
        "|---|---|---|---|---|",
    ]
    for number, title, target in ROWS:
        sqlite, postgres = (c.get(number, "—") for c in columns)
        lines.append(f"| {number} | {title} | {sqlite} | {postgres} | {target} |")
    return "\n".join(lines) + "\n"


def write_readme(text: str, readme: Path = README) -> None:
    content = readme.read_text()
    start, end = content.index(BEGIN) + len(BEGIN), content.index(END)
    readme.write_text(content[:start] + "\n" + text + content[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.summary", description=__doc__)
    parser.add_argument("--size", default="L")
    parser.add_argument("--write", action="store_true", help="replace the table in README.md")
    args = parser.parse_args(argv)
    text = table(args.size)
    if args.write:
        write_readme(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
