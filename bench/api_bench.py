"""`python -m bench.api_bench --engine sqlite|postgres [--size 100000] [--reuse]`

Times single-record API writes (target 9: POST and PATCH /api/v1/people, audit included)
and the person page with a 50-item timeline (target 5) through the real stack, in process
with django.test.Client, as a non-admin rep with team scope, in a database that already
holds many people (loaded by bench.dedup's bulk loader). SQLite goes to /tmp/api-bench
(`API_BENCH_DIR` overrides), PostgreSQL to the database `rapport_bench_api` (`API_BENCH_PG`
overrides), so two people can bench at once without emptying each other's database.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path

from bench import scratch

WORK = Path(os.environ.get("API_BENCH_DIR", "/tmp/api-bench"))
PG_NAME = os.environ.get("API_BENCH_PG", "rapport_bench_api")
GIVEN = ["Anna", "Olena", "Piotr", "James", "Taras", "Maria", "Ivan", "Zofia", "Emma", "Oleh"]
FAMILY = ["Kowalski", "Shevchenko", "Smith", "Ivanova", "Nowak", "Taylor", "Bondar", "Lewis"]
TAGS = ["vip", "lead", "partner", "press", "customer", "cold", "warm"]


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))], 2)


def _summary(times: list[float], cpu: list[float]) -> dict:
    """Wall-clock and this process's CPU time per request: on a shared, loaded machine the
    CPU time is the steadier measure of what the code costs (for SQLite it includes the
    database work; PostgreSQL's own work runs in its server process)."""
    return {
        "p50_ms": _pct(times, 0.5),
        "p95_ms": _pct(times, 0.95),
        "cpu_p50_ms": _pct(cpu, 0.5),
        "cpu_p95_ms": _pct(cpu, 0.95),
        "n": len(times),
    }


class _Clock:
    """Wall and CPU milliseconds of one block, appended to two lists."""

    def __init__(self, wall: list[float], cpu: list[float]):
        self.wall, self.cpu = wall, cpu

    def __enter__(self):
        self.t0, self.c0 = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        self.wall.append((time.perf_counter() - self.t0) * 1000)
        self.cpu.append((time.process_time() - self.c0) * 1000)


def _person_body(rng: random.Random, i: int) -> dict:
    first, last = rng.choice(GIVEN), rng.choice(FAMILY)
    return {
        "first_name": first,
        "last_name": f"{last}{i}",
        "emails": [
            {"address": f"{first.lower()}.{last.lower()}.{i}.{rng.randrange(10**9)}@ex.org"}
        ],
        "phones": [{"number": f"+1212{rng.randrange(10**7):07d}"}],
        "tags": rng.sample(TAGS, 2),
    }


def time_api_writes(client, *, token: str, n: int = 300, seed: int = 5, profile=None) -> dict:
    """POST n people, then PATCH each once with If-Match; p50/p95 of each and the
    combined writes per second (wall time of all 2n requests). `profile` is (phase,
    profiler): the profiler runs during that phase's requests only."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(seed)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    created: list[tuple[int, str]] = []
    create_ms: list[float] = []
    update_ms: list[float] = []
    create_cpu: list[float] = []
    update_cpu: list[float] = []
    queries: dict[str, int] = {}
    for i in range(5):  # warm-up
        client.post(
            "/api/v1/people", _person_body(rng, -i), content_type="application/json", **auth
        )
    started = time.perf_counter()
    _start(profile, "create")
    for i in range(n):
        body = _person_body(rng, i)
        with _Clock(create_ms, create_cpu):
            response = client.post("/api/v1/people", body, content_type="application/json", **auth)
        assert response.status_code == 201, response.content
        created.append((response.json()["id"], response["ETag"]))
    _stop(profile, "create")
    _start(profile, "update")
    for i, (pk, etag) in enumerate(created):
        patch = {"source": f"fair {i}", "tags": rng.sample(TAGS, 2)}
        with _Clock(update_ms, update_cpu):
            response = client.patch(
                f"/api/v1/people/{pk}",
                patch,
                content_type="application/merge-patch+json",
                HTTP_IF_MATCH=etag,
                **auth,
            )
        assert response.status_code == 200, response.content
    _stop(profile, "update")
    elapsed = time.perf_counter() - started
    cpu_total = sum(create_cpu) + sum(update_cpu)
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(
            "/api/v1/people", _person_body(rng, n + 1), content_type="application/json", **auth
        )
    queries["create"] = len(ctx.captured_queries)
    pk, etag = response.json()["id"], response["ETag"]
    with CaptureQueriesContext(connection) as ctx:
        client.patch(
            f"/api/v1/people/{pk}",
            {"source": "x", "tags": ["vip"]},
            content_type="application/json",
            HTTP_IF_MATCH=etag,
            **auth,
        )
    queries["update"] = len(ctx.captured_queries)
    return {
        "create": _summary(create_ms, create_cpu),
        "update": _summary(update_ms, update_cpu),
        "writes_per_s": round(2 * n / elapsed, 1),
        "writes_per_cpu_s": round(2 * n / (cpu_total / 1000), 1),
        "queries": queries,
        "created_ids": [pk for pk, _etag in created],
    }


def _start(profile, phase: str) -> None:
    if profile and profile[0] == phase:
        prof = profile[1]
        prof.enable() if hasattr(prof, "enable") else prof.start()


def _stop(profile, phase: str) -> None:
    if profile and profile[0] == phase:
        prof = profile[1]
        prof.disable() if hasattr(prof, "disable") else prof.stop()


def time_person_page(client, person_ids: list[int], *, n: int = 60) -> dict:
    """GET /people/{id}/ n times over the given people; p50/p95 and queries per page."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for pk in person_ids[:3]:  # warm-up
        client.get(f"/people/{pk}/")
    times: list[float] = []
    cpu: list[float] = []
    for i in range(n):
        pk = person_ids[i % len(person_ids)]
        with _Clock(times, cpu):
            response = client.get(f"/people/{pk}/")
        assert response.status_code == 200, response.status_code
    with CaptureQueriesContext(connection) as ctx:
        client.get(f"/people/{person_ids[0]}/")
    return {**_summary(times, cpu), "queries": len(ctx.captured_queries)}


def prepare_database(engine: str, *, reuse: bool) -> str:
    name = "api" if engine == "sqlite" else PG_NAME
    return scratch.database(engine, name, folder=WORK, reuse=reuse)


def setup(engine: str, size: int, *, reuse: bool):
    """Django on a loaded database; returns (rep user, raw token, ids of people with
    about 60 audit events each)."""
    os.environ["DATABASE_URL"] = prepare_database(engine, reuse=reuse)
    os.environ.setdefault("RAPPORT_DATA_DIR", str(WORK))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rapport.settings.demo"
    os.environ.setdefault("RAPPORT_ALLOWED_HOSTS", "testserver,127.0.0.1")
    # Throttling stays on (its cache writes are part of each request) but never refuses.
    os.environ.setdefault("RAPPORT_API_RATE", "1000000/min")
    import django
    from django.conf import settings

    django.setup()
    # No collectstatic in the scratch dir: plain static URLs (what the manifest adds is a
    # dictionary lookup per asset).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    from django.core.management import call_command
    from django.db import connection

    from rapport.accounts.models import Team, User
    from rapport.accounts.services import token_create, user_create
    from rapport.contacts.models import Person
    from rapport.contacts.services import person_create, person_update

    if not reuse:
        call_command("migrate", verbosity=0)
        call_command("createcachetable", verbosity=0)
        from bench.dedup.generate import generate
        from bench.dedup.load import load

        admin = user_create(
            username="bench",
            password="bench-password-1",
            teams=["Bench"],
            admin=True,
            validate=False,
        )
        print(f"loading {size:,} people …", flush=True)
        t0 = time.perf_counter()
        load(generate(size), owner=admin, team=Team.objects.get(name="Bench"))
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"loaded in {time.perf_counter() - t0:.1f} s", flush=True)
        rep = user_create(
            username="rep",
            password="rep-password-1",
            teams=["Bench"],
            roles=["rep"],
            validate=False,
        )
        rng = random.Random(11)
        for i in range(6):
            person = person_create(actor=rep, data=_person_body(rng, 10_000 + i))
            for j in range(60):
                person = person_update(
                    actor=rep,
                    person=person,
                    data={"source": f"Source {j}", "tags": rng.sample(TAGS, 2)},
                )
    rep = User.objects.get(username="rep")
    _token, raw = token_create(user=rep, name="bench")
    busy = list(
        Person.objects.filter(owner=rep, version__gt=50).order_by("pk").values_list("pk", flat=True)
    )
    return rep, raw, busy


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api_bench", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="use the last run's database")
    parser.add_argument("--profile", choices=["create", "update", "page"], default=None)
    parser.add_argument("--profiler", choices=["pyinstrument", "cprofile"], default="cprofile")
    args = parser.parse_args(argv)
    rep, token, busy = setup(args.engine, args.size, reuse=args.reuse)
    from django.test import Client

    api = Client()
    page = Client()
    page.force_login(rep)
    if args.profile:
        return _profile(args.profile, api, page, token, busy, profiler=args.profiler, n=args.n)
    result = {
        "engine": args.engine,
        "size": args.size,
        "api_writes": time_api_writes(api, token=token, n=args.n),
        "person_page": time_person_page(page, busy),
    }
    print(json.dumps(result, indent=2))
    return 0


def _profile(what: str, api, page, token: str, busy: list[int], *, profiler: str, n: int) -> int:
    """A profile of one operation, by cProfile (exact call counts; tables by own and by
    cumulative time) or pyinstrument (installed locally). For `create` and `update` only
    those requests are profiled; the other half runs unprofiled."""
    if profiler == "cprofile":
        import cProfile
        import pstats

        prof = cProfile.Profile()
    else:
        from pyinstrument import Profiler

        prof = Profiler(interval=0.0005)
    if what == "page":
        _start((what, prof), what)
        time_person_page(page, busy, n=60)
        _stop((what, prof), what)
        requests = 60
    else:
        time_api_writes(api, token=token, n=n, profile=(what, prof))
        requests = n
    if profiler == "cprofile":
        stats = pstats.Stats(prof)
        if os.environ.get("PROFILE_OUT"):  # for pstats queries beyond the two tables
            stats.dump_stats(os.environ["PROFILE_OUT"])
        print(f"{stats.total_calls / requests:,.0f} function calls per request")
        stats.sort_stats("tottime").print_stats(45)
        stats.sort_stats("cumulative").print_stats(70)
    else:
        show_all = bool(os.environ.get("PROFILE_ALL"))
        print(prof.output_text(unicode=True, color=False, show_all=show_all))
    return 0


if __name__ == "__main__":
    sys.exit(main())
