"""Concurrent load on the JSON list endpoint (issue 4, targets 10 and 12).

`python -m bench.load_bench --engine sqlite|postgres --people 100000` builds a scratch
database (SQLite under /tmp/load-bench, PostgreSQL database `rapport_bench_load`), loads
generated people through the bench's bulk loader, creates a non-admin sales rep with a
team role and an API token, then `run_load` starts the real production server
(`rapport serve --no-worker`: gunicorn, gthread workers) on a free loopback port, drives
it with locust (headless, one process) on GET /api/v1/people?limit=50 with varied
filters and orderings, samples the resident memory of every server process every half
second, stops the server and prints the result.

Both share the machine's cores: the result says how much CPU time the server processes
and the load generator each used.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import memory_mb, scratch

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
SCRATCH = Path("/tmp/load-bench")
PG_NAME = "rapport_bench_load"
TICKS = os.sysconf("SC_CLK_TCK")


# --- processes ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct children of `pid`, from /proc/<pid>/task/*/children."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(x) for x in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class Sampler:
    """Every `interval` seconds: the memory of the master and each worker (RSS and their
    own memory, `bench.memory_mb`), and their CPU time."""

    def __init__(self, master: int, interval: float = 0.5):
        self.master = master
        self.interval = interval
        self.max_rss: dict[str, float] = {}
        self.max_own: dict[str, float] = {}
        self.cpu: dict[int, float] = {}
        self.samples = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def sample(self) -> None:
        pids = {"master": self.master}
        for index, pid in enumerate(sorted(children(self.master)), start=1):
            pids[f"worker-{index}"] = pid
        for label, pid in pids.items():
            memory = memory_mb(pid)
            if memory:
                self.max_rss[label] = max(self.max_rss.get(label, 0.0), memory["rss"])
                self.max_own[label] = max(self.max_own.get(label, 0.0), memory["own"])
            self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu_seconds(pid))
        self.samples += 1

    def _run(self) -> None:
        while not self.stopping.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join()
        self.sample()


def wait_healthy(url: str, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode} before it was up")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f} s")


def server_env(database_url: str, data_dir: str) -> dict[str, str]:
    env = os.environ.copy()
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(
        DATABASE_URL=database_url,
        RAPPORT_DATA_DIR=data_dir,
        RAPPORT_SETTINGS="demo",
        DJANGO_SETTINGS_MODULE="rapport.settings.demo",
        # A benchmark of throughput, not of the per-user request limit.
        RAPPORT_API_RATE="100000000/min",
    )
    return env


def stop_server(process: subprocess.Popen) -> int:
    """SIGTERM (gunicorn's graceful stop) and wait; SIGKILL if it does not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _read_stats(prefix: str) -> dict:
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    failures: list[dict] = []
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with failures_file.open(newline="", encoding="utf-8") as handle:
            failures = [
                {"error": row["Error"][:300], "count": int(row["Occurrences"])}
                for row in csv.DictReader(handle)
            ]
    return {
        "requests": int(total["Request Count"]),
        "failures": int(total["Failure Count"]),
        "req_per_s": round(float(total["Requests/s"]), 1),
        "p50_ms": float(total["50%"]),
        "p95_ms": float(total["95%"]),
        "p99_ms": float(total["99%"]),
        "failure_kinds": failures[:5],
    }


# --- the run -----------------------------------------------------------------------------


# Orderings an index serves today; the others (updated_at, email, company, owner) sort
# every visible row per page until they get one (see --all-orderings).
INDEXED_ORDERINGS = ["name", "-name", "-created_at", "created_at"]
OTHER_ORDERINGS = ["updated_at", "-updated_at", "email", "company", "owner"]


def default_paths(*, owner_id: int | None = None, all_orderings: bool = False) -> list[str]:
    """GET /api/v1/people?limit=50 with the orderings and filters a list page offers."""
    base = "/api/v1/people?limit=50"
    orderings = INDEXED_ORDERINGS + (OTHER_ORDERINGS if all_orderings else [])
    paths = [f"{base}&ordering={o}" for o in orderings]
    paths += [base]
    paths += [f"{base}&created_after=2025-0{m}-01&ordering=name" for m in range(1, 10)]
    paths += [f"{base}&created_before=2030-01-01&ordering=-created_at"]
    if owner_id is not None:
        paths += [f"{base}&owner={owner_id}&ordering=-created_at"]
    return paths


def run_load(
    database_url: str,
    *,
    token: str,
    data_dir: str,
    seconds: int = 20,
    users: int = 16,
    workers: int | None = None,
    threads: int | None = None,
    paths: list[str] | None = None,
    warmup: int = 3,
) -> dict:
    """Start `rapport serve`, load it with locust for `seconds`, sample RSS, stop it."""
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    work = Path(tempfile.mkdtemp(prefix="load-", dir=SCRATCH if SCRATCH.exists() else None))
    paths_file = work / "paths.json"
    paths_file.write_text(json.dumps(paths or default_paths()))
    command = [sys.executable, "-m", "rapport.cli", "serve", "--no-worker"]
    command += ["--host", "127.0.0.1", "--port", str(port)]
    if workers is not None:
        command += ["--workers", str(workers)]
    if threads is not None:
        command += ["--threads", str(threads)]
    log = (work / "server.log").open("wb")
    server = subprocess.Popen(  # noqa: S603 - our interpreter and module
        command, env=server_env(database_url, data_dir), stdout=log, stderr=subprocess.STDOUT
    )
    sampler = Sampler(server.pid)
    try:
        wait_healthy(f"{host}/healthz", server)
        # Each worker imports lazily; a few requests warm every worker before timing.
        for _ in range(warmup * (workers or 4)):
            request = urllib.request.Request(  # noqa: S310 - loopback
                f"{host}{(paths or default_paths())[0]}",
                headers={"Authorization": f"Bearer {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                response.read()
        sampler.start()
        sampler.sample()
        server_cpu_before = sum(cpu_seconds(p) for p in [server.pid, *children(server.pid)])
        prefix = str(work / "locust")
        locust_env = os.environ.copy()
        locust_env.update(LOAD_TOKEN=token, LOAD_PATHS=str(paths_file))
        locust_command = [
            str(Path(sys.executable).with_name("locust")),
            "-f",
            str(ROOT / "bench" / "locustfile.py"),
            "--headless",
            "--only-summary",
            "--skip-log-setup",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--stop-timeout",
            "10",
            "--host",
            host,
            "--csv",
            prefix,
        ]
        started = time.monotonic()
        locust = subprocess.Popen(  # noqa: S603
            locust_command,
            env=locust_env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "locust.log").open("wb"),
        )
        locust_cpu = _wait_for(locust, timeout=seconds + 60)
        wall = time.monotonic() - started
        sampler.stop()
        server_cpu = sum(sampler.cpu.values()) - server_cpu_before
        stats = _read_stats(prefix)
    finally:
        if sampler.thread.is_alive():
            sampler.stop()
        code = stop_server(server)
        log.close()
    measured_workers = sorted(k for k in sampler.max_rss if k.startswith("worker-"))
    result = {
        **stats,
        "max_rss_mb": sampler.max_rss,
        "max_own_mb": sampler.max_own,
        "max_worker_rss_mb": max((sampler.max_rss[k] for k in measured_workers), default=None),
        "max_worker_own_mb": max((sampler.max_own[k] for k in measured_workers), default=None),
        "rss_samples": sampler.samples,
        "workers": len(measured_workers),
        "threads": threads or _default_threads(),
        "users": users,
        "seconds": seconds,
        "cpu_seconds": {
            "server": round(server_cpu, 1),
            "locust": round(locust_cpu, 1),
            "wall": round(wall, 1),
        },
        "server_exit": code,
        "paths": len(paths or default_paths()),
    }
    if result["failures"] == 0 and code == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        result["logs"] = str(work)
    return result


def _wait_for(process: subprocess.Popen, *, timeout: float) -> float:
    """Wait for `process` (killed after `timeout`); returns the CPU seconds it used."""
    killer = threading.Timer(timeout, process.kill)
    killer.start()
    try:
        _pid, status, usage = os.wait4(process.pid, 0)
    finally:
        killer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def _default_threads() -> int:
    from rapport.core.management.commands.serve import default_threads

    return default_threads()


# --- building the scratch database -------------------------------------------------------


def prepare_database(engine: str, *, reuse: bool, people: int = 100_000) -> tuple[str, str]:
    """(DATABASE_URL, data dir) of a scratch database, emptied unless `reuse` (SQLite: one
    file per size)."""
    data_dir = SCRATCH / f"data-{engine}"
    data_dir.mkdir(parents=True, exist_ok=True)
    name = f"load-{people}" if engine == "sqlite" else PG_NAME
    return scratch.database(engine, name, folder=SCRATCH, reuse=reuse), str(data_dir)


TEAMS = ["Bench A", "Bench B", "Bench C", "Bench D", "Bench E"]
OWNERS_PER_TEAM = 4


def build(people: int, *, seed: int = 7) -> dict:
    """Migrate, load `people` generated people spread over 5 teams and 20 owners (owners
    skewed: the first of each team holds half its people), then create the rep (a member
    of the first team with the built-in "rep" role: team scope) and their token."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from bench.dedup.generate import generate
    from bench.dedup.load import load
    from rapport.accounts.models import Team
    from rapport.accounts.services import token_create, user_create

    call_command("migrate", verbosity=0)
    bench = user_create(
        username="bench", password="bench-password-1", teams=TEAMS, admin=True, validate=False
    )
    owners: dict[int, list[int]] = {}
    for t, name in enumerate(TEAMS):
        team = Team.objects.get(name=name)
        owners[team.pk] = [
            user_create(
                username=f"owner{t}{o}", password="owner-password-1", teams=[name], validate=False
            ).pk
            for o in range(OWNERS_PER_TEAM)
        ]
    started = time.perf_counter()
    ids = load(generate(people, seed=seed), owner=bench, team=Team.objects.get(name=TEAMS[0]))
    team_ids = sorted(owners)
    with transaction.atomic(), connection.cursor() as cursor:
        rows = []
        for index, pk in enumerate(ids):
            team = team_ids[index % len(team_ids)]
            slot = (index // len(team_ids)) % (2 * OWNERS_PER_TEAM)
            owner = owners[team][0 if slot < OWNERS_PER_TEAM else slot - OWNERS_PER_TEAM]
            rows.append((team, owner, pk))
        cursor.executemany(
            "UPDATE contacts_person SET team_id = %s, owner_id = %s WHERE id = %s", rows
        )
        cursor.execute("ANALYZE")
    loaded = round(time.perf_counter() - started, 1)
    rep = user_create(
        username="rep", password="rep-password-1", teams=[TEAMS[0]], roles=["rep"], validate=False
    )
    _token, raw = token_create(user=rep, name="load bench")
    return {"token": raw, "owner_id": owners[team_ids[0]][0], "load_seconds": loaded}


def reuse_token() -> dict:
    from rapport.accounts.models import User
    from rapport.accounts.services import token_create

    _token, raw = token_create(user=User.objects.get(username="rep"), name="load bench")
    owner = User.objects.get(username="owner00")
    return {"token": raw, "owner_id": owner.pk, "load_seconds": None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__)
    parser.add_argument("--engine", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--runs", type=int, default=1, help="load runs on the same database")
    parser.add_argument("--reuse", action="store_true", help="keep the last build's database")
    parser.add_argument("--save", action="store_true", help="write bench/results/load-*.json")
    parser.add_argument(
        "--all-orderings",
        action="store_true",
        help="also order by columns no index serves yet (updated_at, email, company, owner)",
    )
    args = parser.parse_args(argv)

    database_url, data_dir = prepare_database(args.engine, reuse=args.reuse, people=args.people)
    os.environ["DATABASE_URL"] = database_url
    os.environ["RAPPORT_DATA_DIR"] = data_dir
    os.environ["DJANGO_SETTINGS_MODULE"] = "rapport.settings.demo"
    import django

    django.setup()
    from django.db import connections

    if args.reuse:
        setup = reuse_token()
    else:
        print(f"building {args.people:,} people on {args.engine} …", flush=True)
        setup = build(args.people)
        print(f"loaded in {setup['load_seconds']} s", flush=True)
    connections.close_all()
    runs = []
    for _ in range(args.runs):
        result = run_load(
            database_url,
            token=setup["token"],
            data_dir=data_dir,
            seconds=args.seconds,
            users=args.users,
            workers=args.workers,
            threads=args.threads,
            paths=default_paths(owner_id=setup["owner_id"], all_orderings=args.all_orderings),
        )
        runs.append(result)
        print(json.dumps(result, indent=2), flush=True)
    if args.save:
        summary = {
            "engine": args.engine,
            "people": args.people,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores",
            "runs": runs,
        }
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"load-{args.engine}-{args.people}.json"
        out.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"wrote {out.relative_to(ROOT)}")
    return 0 if all(r["failures"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
