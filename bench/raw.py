"""The floor's connection: the database driver itself (sqlite3 or psycopg), no Django.

Floors are hand-written SQL with `%s` placeholders; for sqlite3 they become `?`.
"""

from __future__ import annotations

import time
from urllib.parse import urlparse


class Raw:
    def __init__(self, database_url: str):
        self.url = database_url
        if database_url.startswith("sqlite"):
            import sqlite3

            self.vendor = "sqlite"
            self.conn = sqlite3.connect(urlparse(database_url).path, isolation_level=None)
            # as the app connects (WAL, synchronous=NORMAL, its checkpoint interval): the
            # write floors commit, and a commit's cost depends on these
            from rapport.settings.base import database_config

            pragmas = database_config(database_url)["OPTIONS"]["init_command"]
            self.conn.executescript(pragmas)
        else:
            import psycopg

            self.vendor = "postgresql"
            # as the app connects: no JIT (rapport.settings.base.database_config)
            self.conn = psycopg.connect(database_url, autocommit=True, options="-c jit=off")

    def sql(self, text: str) -> str:
        return text.replace("%s", "?") if self.vendor == "sqlite" else text

    def fetch(self, text: str, params=()) -> list[tuple]:
        cursor = self.conn.cursor()
        cursor.execute(self.sql(text), list(params))
        rows = cursor.fetchall()
        cursor.close()
        return rows

    def timed(self, text: str, params=()) -> tuple[float, list[tuple]]:
        started = time.perf_counter()
        rows = self.fetch(text, params)
        return time.perf_counter() - started, rows

    def timed_many(self, statements: list[tuple[str, list]]) -> tuple[float, list[list[tuple]]]:
        started = time.perf_counter()
        answers = [self.fetch(text, params) for text, params in statements]
        return time.perf_counter() - started, answers

    def plan(self, text: str, params=()) -> str:
        """The engine's plan for a query, as one string (to spot full scans)."""
        prefix = "EXPLAIN QUERY PLAN " if self.vendor == "sqlite" else "EXPLAIN "
        rows = self.fetch(prefix + text, params)
        return "\n".join(" ".join(str(c) for c in row) for row in rows)

    def close(self) -> None:
        self.conn.close()
