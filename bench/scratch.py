"""Scratch databases for the benchmarks: a SQLite file or a PostgreSQL database, emptied
unless reused. The PostgreSQL server comes from BENCH_POSTGRES (default: this machine's)."""

from __future__ import annotations

import os
from pathlib import Path

PG_SERVER = "postgres://postgres@127.0.0.1:5432"


def database(engine: str, name: str, *, folder: Path, reuse: bool = False) -> str:
    """The DATABASE_URL of scratch database `name` (SQLite: `folder/name.sqlite3`)."""
    if engine == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.sqlite3"
        if not reuse:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    server = os.environ.get("BENCH_POSTGRES", PG_SERVER)
    if not reuse:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"
