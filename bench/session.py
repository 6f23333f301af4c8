"""A benchmark session: the loaded database, the signed-in rep, and the operations that
are measured as a whole rather than case by case (API writes, duplicate detection,
concurrent load, import)."""

from __future__ import annotations

import random
import time
from typing import Any

from bench import freeze_heap, memory_mb
from bench.dataset import TEAMS, build
from bench.ops import Ctx
from bench.raw import Raw


def start(engine: str, size: int, *, seed: int, url: str, loaded: bool):
    from django.core.management import call_command
    from django.test import Client

    from bench import loader
    from rapport.accounts.models import Team, User
    from rapport.contacts.models import Person

    started = time.perf_counter()
    data = build(size, seed=seed)
    generated = round(time.perf_counter() - started, 1)
    if loaded:
        call_command("migrate", verbosity=0)  # indexes added since the load
        count = len(data.people.rows)
        ids = list(Person.all_objects.order_by("pk").values_list("pk", flat=True)[:count])
        removed = loader.reset_to_loaded(ids[-1])
        users = [User.objects.get(username=name) for name in data.users]
        admin = User.objects.get(username="bench-admin")
        info = {"reused": True, "generate_seconds": generated, "removed_since_load": removed}
    else:
        call_command("migrate", verbosity=0)
        out = loader.load(data)
        ids, users, admin = out["ids"], out["users"], out["admin"]
        info = {"reused": False, "generate_seconds": generated, "seconds": out["seconds"]}
    info["planned"] = data.planned
    call_command("collectstatic", interactive=False, verbosity=0)  # pages need the manifest
    rep = users[0]
    team = Team.objects.get(name=TEAMS[data.team_of(0)])
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(rep)
    ctx = Ctx(
        engine=engine,
        size=size,
        data=data,
        ids=ids,
        rep=rep,
        team_ids=[team.pk],
        client=client,
        raw=Raw(url),
        rng=random.Random(seed),
    )
    visible = Person.objects.restrict(rep, "view").count()
    rep_team = {i for i in range(len(users)) if data.team_of(i) == data.team_of(0)}
    ctx.extra.update(
        url=url,
        admin=admin,
        users=users,
        visible=visible,
        busy_visible=[ids[i] for i in data.busy if data.owners[i] in rep_team],
    )
    info["rep"] = {"username": rep.username, "visible_people": visible}
    freeze_heap()  # the dataset held in ctx is the benchmark's, not the app's
    return ctx, info


def token_for(user) -> str:
    from rapport.accounts.services import token_create

    _token, raw = token_create(user=user, name="bench")
    return raw


def special(name: str, ctx: Ctx, *, smoke: bool, runs: int) -> dict[str, Any]:
    return {"api_write": api_write, "dedup": dedup, "load": load, "import": import_}[name](
        ctx, smoke=smoke, runs=runs
    )


def api_write(ctx: Ctx, *, smoke: bool, runs: int) -> dict[str, Any]:
    from django.test import Client

    from bench.api_bench import time_api_writes

    client = Client(HTTP_HOST="127.0.0.1")
    raw = time_api_writes(client, token=token_for(ctx.rep), n=20 if smoke else max(runs * 10, 300))
    created = raw.pop("created_ids")
    out = {
        f"{kind}_{key}": value for kind in ("create", "update") for key, value in raw[kind].items()
    }
    out.update({k: v for k, v in raw.items() if k not in {"create", "update"}})
    out["n"] = raw["create"]["n"] + raw["update"]["n"]
    out["title"] = "API create and update, with audit"
    out["target"] = "p95 ≤ 5 ms; ≥ 500 writes/s per worker"
    out.update(api_write_floor(ctx, created))
    return out


def api_write_floor(ctx: Ctx, ids: list[int]) -> dict[str, Any]:
    """The creates' floor: the rows the API wrote for these people (as they stand after the
    updates, so with their final tags), written again by hand-written SQL on the raw
    driver, one committed transaction per person, then deleted (`bench.replay`). Its
    answer agrees when it wrote as many rows to every table as the app did."""
    from bench import replay
    from bench.runner import percentiles

    raw = ctx.raw

    def fetch(sql: str, params: list) -> tuple[list[str], list[tuple]]:
        cursor = raw.conn.cursor()
        cursor.execute(raw.sql(sql), params)
        names = [c[0] for c in cursor.description]
        return names, cursor.fetchall()

    copies = replay.read(fetch, ids)
    try:
        seconds = replay.one_by_one(raw.conn, copies, raw.vendor)
        written = {copy.key: _count_from(fetch, copy.table, copy.shift) for copy in copies}
    finally:
        replay.remove(raw.conn, copies, raw.vendor)
    stored = {copy.key: len(copy.rows) for copy in copies}
    timed = percentiles(seconds)
    return {
        "floor_p50_ms": timed["p50_ms"],
        "floor_p95_ms": timed["p95_ms"],
        "floor_writes_per_s": round(len(seconds) / sum(seconds), 1),
        "floor_rows": stored,
        "answers_match": written == stored and stored["person"] == len(ids),
    }


def _count_from(fetch, table: str, first_id: int) -> int:
    sql = f"SELECT count(*) FROM {table} WHERE id >= %s"  # noqa: S608  # nosec B608 # identifiers from code
    return fetch(sql, [first_id])[1][0][0]


def dedup(ctx: Ctx, *, smoke: bool, runs: int) -> dict[str, Any]:
    import csv

    from bench.dedup.measure import scan_quality, time_entry, time_scan
    from bench.runner import WORK

    data = ctx.data.people
    truth = WORK / f"truth-{ctx.engine}-{ctx.size}.csv"  # (base id, duplicate id, kind)
    with truth.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["base_id", "duplicate_id", "kind"])
        writer.writerows((ctx.ids[b], ctx.ids[d], kind) for b, d, kind in data.truth)
    entry = time_entry(data, ctx.ids, ctx.extra["admin"], probes=20 if smoke else 400)
    scan = time_scan()
    quality = scan_quality(data, ctx.ids)
    return {
        "title": "Duplicate check on entry / full scan",
        "target": "≤ 1 ms / ≤ 2 min; precision and recall reported",
        "entry": entry,
        "scan": scan,
        "quality": quality,
        "truth_file": str(truth),
        "answers_match": quality["recall"] >= 0.9 and quality["precision"] >= 0.9,
    }


def load(ctx: Ctx, *, smoke: bool, runs: int) -> dict[str, Any]:
    from bench.load_bench import run_load
    from bench.runner import WORK

    out = run_load(
        ctx.extra["url"],
        token=token_for(ctx.rep),
        data_dir=str(WORK),
        seconds=5 if smoke else 30,
    )
    out["title"] = "Concurrent load on the JSON list endpoint (locust → rapport serve)"
    out["target"] = "≥ 400 req/s SQLite, ≥ 200 PostgreSQL, no errors"
    out["answers_match"] = out.get("failures", 1) == 0 and out.get("requests", 0) > 0
    cpu = out.get("cpu_seconds", {})
    if out.get("requests") and cpu.get("server"):
        out["server_cpu_ms_per_request"] = round(cpu["server"] * 1000 / out["requests"], 2)
    return out


def import_(ctx: Ctx, *, smoke: bool, runs: int) -> dict[str, Any]:
    from bench.import_bench import run_import_bench

    rows = 1000 if smoke else min(100_000, ctx.size)
    rng = random.Random(17)
    sample = rng.sample(ctx.data.people.rows, min(len(ctx.data.people.rows), rows // 10))
    out = run_import_bench(
        ctx.rep, rows=rows, existing_emails=[r.emails[0] for r in sample if r.emails]
    )
    out["title"] = "Import a CSV into the live database (dedup by email, index kept)"
    out["target"] = "≥ 7,000 rows/s and ≥ 0.6× raw executemany"
    counted = sum(out.get(k, 0) for k in ("created", "updated", "skipped", "rejected"))
    out["answers_match"] = counted == out.get("rows")
    return out


def memory(result: dict[str, Any]) -> dict[str, Any]:
    load_op = result["ops"].get("load", {})
    import_op = result["ops"].get("import", {})
    return {
        "runner_peak_rss_mb": memory_mb()["peak_rss"],
        "server_max_own_mb": load_op.get("max_worker_own_mb"),
        "server_max_rss_mb": load_op.get("max_worker_rss_mb"),
        "server_rss_mb": load_op.get("max_rss_mb"),
        "import_own_growth_mb": import_op.get("own_growth_mb"),
        "import_rss_growth_mb": import_op.get("rss_growth_mb"),
        "note": "the runner holds the whole generated dataset in memory; the app worker's "
        "memory is the server's, measured during the load test: its own (RssAnon) and its "
        "RSS, which also counts the database file's pages SQLite maps (decision 0052)",
    }
