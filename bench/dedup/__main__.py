"""`python -m bench.dedup --size 100000 --engine sqlite|postgres`

Builds a fresh database, loads a seeded dataset with planted duplicates, times the
duplicate scan (precision and recall against the truth) and the on-entry check (p50,
p95), and writes bench/results/dedup-<engine>-<size>.json and .md. The truth (base
id, duplicate id, kind) goes to var/bench-dedup/truth-<engine>-<size>.csv.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import sys
import time
from pathlib import Path

from bench import freeze_heap, scratch

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
WORK = ROOT / "var" / "bench-dedup"


def prepare_database(engine: str, size: int, *, reuse: bool = False) -> str:
    """A fresh, empty database for this run (or the last run's, with `reuse`); returns
    its DATABASE_URL."""
    name = f"dedup-{size}" if engine == "sqlite" else f"rapport_bench_dedup_{size}"
    return scratch.database(engine, name, folder=WORK, reuse=reuse)


def markdown(result: dict) -> str:
    scan, entry, quality = result["scan"], result["entry"], result["quality"]
    lines = [
        f"## Duplicate detection — {result['engine']}, {result['size']:,} people",
        "",
        "| measure | value |",
        "|---|---|",
        f"| load (bulk) | {result['load_seconds']} s |",
        f"| full scan | {scan['seconds']} s |",
        f"| scan phases | {', '.join(f'{k} {v} s' for k, v in scan['phases'].items())} |",
        f"| candidate pairs / kept / clusters | {scan['candidate_pairs']:,} / "
        f"{scan['kept_pairs']:,} / {scan['clusters']:,} |",
        f"| skipped blocks (records) | {scan['skipped_blocks']} ({scan['skipped_records']}) |",
        f"| precision / recall | {quality['precision']} / {quality['recall']} |",
        f"| recall by kind | {', '.join(f'{k} {v}' for k, v in quality['recall_by_kind'].items())} |",
        f"| relatives proposed | {quality['relatives_proposed']} of {quality['relatives']} |",
        f"| on-entry check p50 / p95, all | {entry['p50_ms']} ms / {entry['p95_ms']} ms |",
        f"| … when nothing matches | {entry.get('no_match_p50_ms')} ms / "
        f"{entry.get('no_match_p95_ms')} ms |",
        f"| … when a duplicate is found | {entry.get('match_p50_ms')} ms / "
        f"{entry.get('match_p95_ms')} ms |",
        f"| on-entry finds the original | {entry['duplicate_probes_found']} |",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dedup", description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--probes", type=int, default=400)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time again on the data the last run with this size and seed loaded",
    )
    args = parser.parse_args(argv)

    os.environ["DATABASE_URL"] = prepare_database(args.engine, args.size, reuse=args.reuse)
    os.environ.setdefault("RAPPORT_DATA_DIR", str(WORK))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rapport.settings.demo"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.dedup.generate import generate
    from bench.dedup.load import load
    from bench.dedup.measure import scan_quality, time_entry, time_scan
    from rapport.accounts.models import Team
    from rapport.accounts.services import user_create

    if not args.reuse:  # (rapport's migrate would fill the search index of a loaded db)
        call_command("migrate", verbosity=0)
    print(f"generating {args.size:,} people (seed {args.seed}) …", flush=True)
    data = generate(args.size, seed=args.seed)
    if args.reuse:
        from rapport.accounts.models import User
        from rapport.contacts.models import Person

        user = User.objects.get(username="bench")
        ids = list(Person.objects.order_by("pk").values_list("pk", flat=True))
        assert len(ids) == len(data.rows), "--reuse needs the data of a run with this size"
        previous = json.loads((RESULTS / f"dedup-{args.engine}-{args.size}.json").read_text())
        load_seconds = previous["load_seconds"]
    else:
        user = user_create(
            username="bench",
            password="bench-password-1",
            teams=["Bench"],
            admin=True,
            validate=False,
        )
        started = time.perf_counter()
        ids = load(data, owner=user, team=Team.objects.get(name="Bench"))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        load_seconds = round(time.perf_counter() - started, 1)
    print(f"loaded in {load_seconds} s; scanning …", flush=True)
    truth_file = WORK / f"truth-{args.engine}-{args.size}.csv"
    with truth_file.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["base_id", "duplicate_id", "kind"])
        writer.writerows((ids[b], ids[d], kind) for b, d, kind in data.truth)
    freeze_heap()  # the generated people stay alive here; an app process holds no such data
    scan = time_scan()
    quality = scan_quality(data, ids)
    print(f"scan {scan['seconds']} s; timing the on-entry check …", flush=True)
    entry = time_entry(data, ids, user, probes=args.probes)
    result = {
        "engine": args.engine,
        "size": args.size,
        "seed": args.seed,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "load_seconds": load_seconds,
        "scan": scan,
        "quality": quality,
        "entry": entry,
        "truth_file": str(truth_file.relative_to(ROOT)),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = RESULTS / f"dedup-{args.engine}-{args.size}"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    table = markdown(result)
    stem.with_suffix(".md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
