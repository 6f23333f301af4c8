"""Import speed (issue 4, target 7): a seeded CSV imported through the real import path
into a database that already holds people, next to the floor: the same rows written by
raw `executemany` through the driver.

    python -m bench.import_bench --engine sqlite|postgres --people 100000 --rows 100000

builds a scratch database (/tmp/imp-bench/*.sqlite3 or PostgreSQL `rapport_bench_imp`),
pre-loads `--people` people with the dedup bench's generator and bulk loader, and prints
the result of `run_import_bench`.

Memory is measured as the growth of the process's own memory (RssAnon, sampled every
50 ms by a thread during the import) over its value just before the import: flat memory
means the peak does not grow with the number of rows (tracemalloc would slow the run
down several times and distort the speed being measured). The growth of VmRSS is
reported beside it; it also counts the database file's pages that SQLite reads through
its memory map (decision 0052).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench import freeze_heap, memory_mb, scratch

WORK = Path(os.environ.get("IMP_BENCH_DIR", "/tmp/imp-bench"))
PG_NAME = os.environ.get("IMP_BENCH_PG", "rapport_bench_imp")
LOCALES = {"en": "en_US", "uk": "uk_UA", "ru": "ru_RU", "pl": "pl_PL"}
REGIONS = {"en": "US", "uk": "UA", "ru": "RU", "pl": "PL"}
HEADERS = ["First name", "Last name", "Email", "Phone"]


# --- the file ------------------------------------------------------------------------


def write_csv(path: Path, rows: int, *, seed: int, existing_emails=()) -> int:
    """A CSV of `rows` people; about 5% reuse an address of `existing_emails`.
    Returns how many rows reuse one."""
    from faker import Faker

    rng = random.Random(seed)
    fakers = {key: Faker(locale) for key, locale in LOCALES.items()}
    for index, fake in enumerate(fakers.values()):
        fake.seed_instance(seed * 10 + index)
    pools = {}
    for key, fake in fakers.items():
        pools[key] = (
            [fake.first_name() for _ in range(300)],
            [fake.last_name() for _ in range(600)],
        )
    existing = list(existing_emails)
    reused = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for index in range(rows):
            locale = rng.choice(list(LOCALES))
            firsts, lasts = pools[locale]
            first, last = rng.choice(firsts), rng.choice(lasts)
            if existing and rng.random() < 0.05:
                email = rng.choice(existing)
                reused += 1
            else:
                email = f"imp{seed}.{index}.{rng.randrange(10**6)}@example-{locale}.com"
            phone = _phone(rng, locale)
            writer.writerow([first, last, email, phone])
    return reused


def _phone(rng: random.Random, locale: str) -> str:
    if locale == "en":
        return f"+1 {rng.choice(['212', '415', '617', '303'])} 555 {rng.randrange(10**4):04d}"
    if locale == "uk":
        return f"+380 {rng.choice(['67', '50', '63', '93'])} {rng.randrange(10**7):07d}"
    if locale == "ru":
        return f"+7 9{rng.randrange(10**2):02d} {rng.randrange(10**7):07d}"
    return f"+48 {rng.choice(['501', '601', '691', '791'])} {rng.randrange(10**6):06d}"


# --- memory --------------------------------------------------------------------------


class MemorySampler(threading.Thread):
    """The peak of each of this process's memory figures (`bench.memory_mb`)."""

    def __init__(self, interval: float = 0.05):
        super().__init__(daemon=True)
        self.interval, self.stop = interval, threading.Event()
        self.before = memory_mb()
        self.peak = dict(self.before)

    def run(self) -> None:
        while not self.stop.wait(self.interval):
            for key, value in memory_mb().items():
                self.peak[key] = max(self.peak[key], value)

    def growth(self, key: str) -> float:
        return round(self.peak[key] - self.before[key], 1)


# --- the run -------------------------------------------------------------------------


def run_import_bench(
    actor, *, rows: int = 100_000, seed: int = 11, existing_emails: list[str] = (), **options
) -> dict:
    """Import a seeded `rows`-row CSV as `actor` through the import service (the path
    the wizard and `rapport import` use), strategy `options.get("strategy", "skip")`,
    matching on email; then time the floor. See the module docstring."""
    from django.core.files import File

    from rapport.dataio import importing
    from rapport.dataio.models import ImportJob

    strategy = options.get("strategy", "skip")
    work = Path(tempfile.mkdtemp(prefix="imp-bench-"))
    path = work / "people.csv"
    reused = write_csv(path, rows, seed=seed, existing_emails=existing_emails)
    mapping = [
        {"column": i, "header": h, "target": t}
        for i, (h, t) in enumerate(
            zip(HEADERS, ["first_name", "last_name", "email", "phone"], strict=True)
        )
    ]
    with path.open("rb") as handle:
        job = importing.import_upload(
            actor=actor, entity="person", upload=File(handle, name="people.csv")
        )
    job = importing.import_configure(
        actor=actor, job=job, mapping=mapping, strategy=strategy, match_on=["email"]
    )
    importing.import_start(actor=actor, job=job, enqueue=False)
    sampler = MemorySampler()
    sampler.start()
    started, cpu = time.perf_counter(), time.process_time()
    job = importing.import_run(job.pk)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    sampler.stop.set()
    sampler.join()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    floor = floor_seconds(job)
    result = {
        "rows": rows,
        "strategy": strategy,
        "seconds": round(seconds, 2),
        "rows_per_s": round(rows / seconds),
        "cpu_seconds": round(cpu, 2),
        "rows_per_cpu_s": round(rows / cpu) if cpu else None,
        "created": job.created_count,
        "updated": job.updated_count,
        "skipped": job.skipped_count,
        "rejected": job.rejected_count,
        "reused_emails": reused,
        "adds_up": job.created_count + job.updated_count + job.skipped_count + job.rejected_count
        == rows
        == job.processed_rows,
        "own_before_mb": sampler.before["own"],
        "own_growth_mb": sampler.growth("own"),
        "rss_before_mb": sampler.before["rss"],
        "rss_growth_mb": sampler.growth("rss"),
        "memory_measure": "peak RssAnon (own memory) during the import minus RssAnon "
        "before it; the same for VmRSS beside it",
        "floor_seconds": round(floor, 2),
        "floor_rows_per_s": round(rows / floor) if floor else None,
        "ratio": round(floor / seconds, 3) if seconds else None,
    }
    for leftover in work.iterdir():
        leftover.unlink()
    work.rmdir()
    return result


def floor_seconds(job) -> float:
    """The same new people, their email and phone rows, audit rows and search entries,
    inserted again (under fresh ids) with raw `executemany` in one transaction through
    the driver and committed, then deleted (`bench.replay`). Returns the seconds the
    inserts and their commit took."""
    from django.db import connection

    from bench import replay
    from rapport.dataio.models import ImportRow

    ids = list(
        ImportRow.objects.filter(job=job, outcome=ImportRow.Outcome.CREATED)
        .order_by("number")
        .values_list("object_id", flat=True)
    )
    if not ids:
        return 0.0
    connection.ensure_connection()

    def fetch(sql: str, params: list) -> tuple[list[str], list[tuple]]:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [c[0] for c in cursor.description], cursor.fetchall()

    copies = replay.read(fetch, ids)
    try:
        return replay.all_at_once(connection.connection, copies, connection.vendor)
    finally:
        replay.remove(connection.connection, copies, connection.vendor)


# --- scratch database ----------------------------------------------------------------


def prepare_database(engine: str, people: int) -> str:
    name = f"imp-{people}" if engine == "sqlite" else PG_NAME
    return scratch.database(engine, name, folder=WORK)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.import_bench", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--strategy", choices=["skip", "update"], default="skip")
    parser.add_argument("--profile", help="write a pyinstrument HTML profile here")
    args = parser.parse_args(argv)

    os.environ["DATABASE_URL"] = prepare_database(args.engine, args.people)
    os.environ.setdefault("RAPPORT_DATA_DIR", str(WORK))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rapport.settings.demo"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from bench.dedup.generate import generate
    from bench.dedup.load import load
    from rapport.accounts.models import Team
    from rapport.accounts.services import user_create

    call_command("migrate", verbosity=0)
    user = user_create(
        username="bench",
        password="bench-password-1",
        teams=["Bench"],
        admin=True,
        validate=False,
    )
    print(f"loading {args.people:,} people …", file=sys.stderr, flush=True)
    data = generate(args.people, seed=7)
    load(data, owner=user, team=Team.objects.get(name="Bench"))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    existing = [row.emails[0] for row in data.rows[: max(1, args.rows)] if row.emails]
    freeze_heap()  # the generated people stay alive here; an app process holds no such data
    print(f"importing {args.rows:,} rows …", file=sys.stderr, flush=True)
    profiler = None
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler()
        profiler.start()
    result = run_import_bench(
        user, rows=args.rows, seed=args.seed, existing_emails=existing, strategy=args.strategy
    )
    if profiler is not None:
        profiler.stop()
        Path(args.profile).write_text(profiler.output_html())
        print(profiler.output_text(unicode=False, show_all=False), file=sys.stderr)
    result.update(engine=args.engine, people=args.people)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
