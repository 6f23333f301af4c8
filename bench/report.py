"""Judging results against the issue's targets, growth from S, and the Markdown table."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

NUMBERS = {
    "list": 1,
    "list_page1": 2,
    "list_page200": 2,
    "list_date_range": 3,
    "list_text": 1,
    "search": 4,
    "person": 5,
    "import": 7,
    "dedup": 8,
    "api_write": 9,
    "load": 10,
}


def _max_p95(out: dict[str, Any]) -> float | None:
    values = [
        v
        for k, v in out.items()
        if k.endswith("p95_ms") and not k.startswith("floor") and "cpu" not in k and v is not None
    ]
    return max(values) if values else None


def verdict(name: str, out: dict[str, Any], result: dict[str, Any]) -> bool | None:
    if "error" in out:
        return False
    p95, ratio = out.get("p95_ms"), out.get("ratio_p95")
    if name in ("list", "list_text"):
        return p95 <= 15 and ratio <= 2
    if name == "list_page200":
        first = result["ops"].get("list_page1", {}).get("p95_ms")
        return None if first is None else p95 <= 1.5 * first
    if name == "list_date_range":
        return p95 <= 20
    if name == "search":
        return p95 <= 15 and ratio <= 3
    if name == "person":
        return p95 <= 10 and len(out.get("queries", [])) == 1
    if name == "api_write":
        worst = _max_p95(out)
        return worst is not None and worst <= 5 and out.get("writes_per_s", 0) >= 500
    if name == "dedup":
        entry = out["entry"].get("no_match_p95_ms", out["entry"].get("p95_ms", 99))
        return entry <= 1 and out["scan"]["seconds"] <= 120
    if name == "load":
        floor = 400 if result["engine"] == "sqlite" else 200
        return out.get("req_per_s", 0) >= floor and out.get("failures", 1) == 0
    if name == "import":
        return out.get("rows_per_s", 0) >= 7000 and out.get("ratio", 0) >= 0.6
    return None


def verdicts(result: dict[str, Any]) -> None:
    for name, out in result["ops"].items():
        out["met"] = verdict(name, out, result)
    memory = result["memory"]
    worker = worker_memory_mb(memory)
    memory["met"] = None if worker is None else worker <= 250


def worker_memory_mb(memory: dict[str, Any]) -> float | None:
    """The app worker's memory that target 12 holds to 250 MB: its own (RssAnon). RSS
    also counts the database file's pages SQLite reads through its memory map, which are
    the operating system's file cache mapped or not (decision 0052). Results from before
    own memory was measured have only RSS."""
    own = memory.get("server_max_own_mb")
    return own if own is not None else memory.get("server_max_rss_mb")


def stem(result: dict[str, Any]) -> str:
    return f"{result['engine']}-{result['label']}"


def growth(result: dict[str, Any], results_dir: Path) -> None:
    """p95 at this size over p95 at S for every operation both runs timed."""
    if result["label"] == "S" or result["smoke"]:
        return
    small = results_dir / f"{result['engine']}-S.json"
    if not small.exists():
        return
    base = json.loads(small.read_text())
    table = {}
    for name, out in result["ops"].items():
        before = base["ops"].get(name, {})
        now_p95, then_p95 = _max_p95(out), _max_p95(before)
        if now_p95 and then_p95:
            ratio = round(now_p95 / then_p95, 2)
            table[name] = {
                "S_p95_ms": then_p95,
                "p95_ms": now_p95,
                "ratio": ratio,
                "met": ratio <= 1.5,
            }
    if "person" in result["ops"] and "person" in base["ops"]:
        table.setdefault("person", {})["queries_same_as_S"] = result["ops"]["person"].get(
            "queries"
        ) == base["ops"]["person"].get("queries")
    result["growth"] = table


def write(result: dict[str, Any], results_dir: Path, *, only: bool) -> None:
    """Write <engine>-<size>.json/.md; a partial run (--only) updates the operations it ran."""
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{stem(result)}.json"
    if only and path.exists():
        previous = json.loads(path.read_text())
        previous["ops"].update(result["ops"])
        for key in ("when", "load"):
            if key in result:
                previous[key] = result[key]
        # growth and memory: what this run measured replaces, the rest is kept
        previous.setdefault("growth", {}).update(result.get("growth") or {})
        memory = previous.setdefault("memory", {})
        memory.update({k: v for k, v in (result.get("memory") or {}).items() if v is not None})
        result = previous
        verdicts(result)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    path.with_suffix(".md").write_text(markdown(result))


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        value = f"{value:,.2f}".rstrip("0").rstrip(".")
    elif isinstance(value, int):
        value = f"{value:,}"
    return f"{value}{unit}"


def _met(value) -> str:
    return {True: "✓", False: "✗", None: "—"}[value]


def _probe_line(result: dict[str, Any]) -> list[str]:
    """The machine's speed during the run: the fixed loop timed before each operation."""
    probes = [out["probe_ms"] for out in result["ops"].values() if out.get("probe_ms")]
    if not probes:
        return []
    return [
        "",
        f"Machine speed during the run: a fixed pure-Python loop took {min(probes):g}–"
        f"{max(probes):g} ms before the operations (lower is faster; "
        "`bench.runner.speed_probe`).",
    ]


def markdown(result: dict[str, Any]) -> str:
    people = result["load"].get("planned", {}).get("people", result["size"])
    lines = [
        f"## {result['engine']}, size {result['label']} ({people:,} people) — {result['when']}",
        "",
        f"{result['machine']}, Python {result['python']}; every read is an HTTP request "
        "through Django's full stack as a sales rep with team scope "
        f"({result['load'].get('rep', {}).get('visible_people', 0):,} people visible); "
        "floor = the same answer from hand-written SQL on the raw driver.",
        *_probe_line(result),
        "",
        "| # | operation | runs | p50 | p95 | CPU p50 | floor p95 | ratio | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, out in result["ops"].items():
        number = NUMBERS.get(name, "")
        title = out.get("title", name)
        if "error" in out:
            lines.append(
                f"| {number} | {title} | — | — | — | — | — | — | error: {out['error']} | ✗ |"
            )
            continue
        if name == "dedup":
            entry, scan, quality = out["entry"], out["scan"], out["quality"]
            lines.append(
                f"| 8 | on-entry duplicate check (no match / match) | {entry.get('probes')} | "
                f"{_fmt(entry.get('no_match_p50_ms'), ' ms')} / {_fmt(entry.get('match_p50_ms'), ' ms')} | "
                f"{_fmt(entry.get('no_match_p95_ms'), ' ms')} / {_fmt(entry.get('match_p95_ms'), ' ms')} "
                f"| — | — | — | ≤ 1 ms | {_met(entry.get('no_match_p95_ms', 99) <= 1)} |"
            )
            lines.append(
                f"| 8 | full duplicate scan; precision {quality['precision']}, recall "
                f"{quality['recall']} | 1 | — | {_fmt(scan['seconds'], ' s')} | — | — | — | ≤ 2 min | "
                f"{_met(scan['seconds'] <= 120)} |"
            )
            continue
        if name == "import":
            lines.append(
                f"| 7 | {title}: {_fmt(out.get('rows'))} rows | 1 | — | "
                f"{_fmt(out.get('seconds'), ' s')} ({_fmt(out.get('rows_per_s'))} rows/s) | "
                f"{_fmt(out.get('rows_per_cpu_s'))} rows/CPU-s | "
                f"{_fmt(out.get('floor_rows_per_s'))} rows/s | {_fmt(out.get('ratio'))}× | "
                f"{out['target']} | {_met(out.get('met'))} |"
            )
            continue
        if name == "load":
            lines.append(
                f"| 10 | {title}: {_fmt(out.get('users'))} users, {_fmt(out.get('requests'))} "
                f"requests, {_fmt(out.get('failures'))} failures | — | {_fmt(out.get('p50_ms'), ' ms')} | "
                f"{_fmt(out.get('p95_ms'), ' ms')} | {_fmt(out.get('server_cpu_ms_per_request'), ' ms')} "
                f"server CPU/req | — | {_fmt(out.get('req_per_s'))} req/s | "
                f"{out['target']} | {_met(out.get('met'))} |"
            )
            continue
        if name == "api_write":
            lines.append(
                f"| 9 | {title} | {_fmt(out.get('n', out.get('runs')))} | "
                f"{_fmt(out.get('create_p50_ms'), ' ms')} / {_fmt(out.get('update_p50_ms'), ' ms')} | "
                f"{_fmt(out.get('create_p95_ms'), ' ms')} / {_fmt(out.get('update_p95_ms'), ' ms')} | "
                f"{_fmt(out.get('create_cpu_p50_ms'), ' ms')} / {_fmt(out.get('update_cpu_p50_ms'), ' ms')} | "
                f"{_fmt(out.get('floor_p95_ms'), ' ms')} ({_fmt(out.get('floor_writes_per_s'))} "
                f"writes/s) | {_fmt(out.get('writes_per_s'))} writes/s | {out['target']} | "
                f"{_met(out.get('met'))} |"
            )
            continue
        extra = f" ({out['queries']} queries)" if name == "person" and out.get("queries") else ""
        lines.append(
            f"| {number} | {title}{extra} | {out['runs']} | {_fmt(out['p50_ms'], ' ms')} | "
            f"{_fmt(out['p95_ms'], ' ms')} | {_fmt(out.get('cpu_p50_ms'), ' ms')} | "
            f"{_fmt(out['floor_p95_ms'], ' ms')} | "
            f"{_fmt(out['ratio_p95'])}× | {out['target']} | {_met(out.get('met'))} |"
        )
        if out.get("by_kind"):
            kinds = ", ".join(f"{k} {v['p95_ms']} ms" for k, v in out["by_kind"].items())
            lines.append(f"|  | p95 by kind: {kinds} | | | | | | | | |")
    memory = result.get("memory", {})
    lines.append(
        f"| 12 | memory: app worker's own memory (RssAnon) during the load test, and its RSS"
        f" | — | — | {_fmt(memory.get('server_max_own_mb'), ' MB')} "
        f"(RSS {_fmt(memory.get('server_max_rss_mb'), ' MB')}) | — | — | — | ≤ 250 MB | "
        f"{_met(memory.get('met'))} |"
    )
    if result.get("growth"):
        lines += ["", "Growth from S (p95 here / p95 at S; target ≤ 1.5×):", ""]
        lines += ["| operation | S p95 | this p95 | ratio | met |", "|---|---|---|---|---|"]
        for name, row in result["growth"].items():
            if "ratio" in row:
                lines.append(
                    f"| {name} | {row['S_p95_ms']} ms | {row['p95_ms']} ms | {row['ratio']}× | {_met(row['met'])} |"
                )
    wrong = [n for n, o in result["ops"].items() if o.get("answers_match") is False]
    lines += [
        "",
        "Answers agree with the floor: " + ("all" if not wrong else "NOT " + ", ".join(wrong)),
        "",
    ]
    return "\n".join(lines)
