"""The write floors: what the app wrote for some new people, written again by hand.

The import's floor and the API create's floor are the same rows the app stored (the
person, its emails, phones and tag links, its audit row, its search entry and, on
SQLite, the entry's FTS row), copied under fresh ids and inserted with plain `INSERT`
statements through the driver: no validation, no ORM, nothing decided. The import
writes them all in one transaction; the API writes one person per transaction, as a
client creating people one by one does. Both commit, as the app must (on SQLite most of
a write's cost is the commit that puts its pages into the WAL), and the copies are
deleted afterwards.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Copy:
    """One table's rows of the chosen people, moved to ids no row has yet."""

    key: str
    table: str
    columns: list[str]
    rows: list[list] = field(default_factory=list)
    owners: list[int] = field(default_factory=list)  # the original person of each row
    shift: int = 0  # added to every id; the copies are the rows with id >= shift


def _tables(low: int, high: int) -> dict[str, tuple[str, str, list, str]]:
    """key: (table, condition for the people low..high, its parameters, person column)."""
    from rapport.contacts.models import Person
    from rapport.core.models import AuditEvent
    from rapport.core.searchbackends.base import ENTRY_TABLE

    tags = Person.tags.through._meta.db_table
    return {
        "person": ("contacts_person", "id BETWEEN %s AND %s", [low, high], "id"),
        "email": ("contacts_emailaddress", "person_id BETWEEN %s AND %s", [low, high], "person_id"),
        "phone": ("contacts_phonenumber", "person_id BETWEEN %s AND %s", [low, high], "person_id"),
        "tag": (tags, "person_id BETWEEN %s AND %s", [low, high], "person_id"),
        "audit": (
            AuditEvent._meta.db_table,
            "object_type = %s AND action = %s AND object_id BETWEEN %s AND %s",
            ["person", "create", low, high],
            "object_id",
        ),
        "search": (
            ENTRY_TABLE,
            "entity = %s AND object_id BETWEEN %s AND %s",
            ["person", low, high],
            "object_id",
        ),
    }


def read(fetch: Callable[[str, list], tuple[list[str], list[tuple]]], ids: list[int]) -> list[Copy]:
    """The rows of the people `ids` (a run of consecutive new people) in every table a
    person create writes, with fresh ids: `fetch(sql, params)` returns (column names,
    rows) through the connection the floor will write on."""
    low, high = min(ids), max(ids)
    wanted = set(ids)
    copies = []
    for key, (table, where, params, person) in _tables(low, high).items():
        columns, rows = fetch(f"SELECT * FROM {table} WHERE {where} ORDER BY id", params)  # noqa: S608  # nosec B608 # identifiers from code
        shift = fetch(f"SELECT COALESCE(MAX(id), 0) FROM {table}", [])[1][0][0] + 1  # noqa: S608  # nosec B608
        at = columns.index(person)
        kept = [list(row) for row in rows if row[at] in wanted]
        copies.append(Copy(key, table, columns, kept, [row[at] for row in kept], shift))
    person_shift = copies[0].shift
    for copy in copies:
        moves = {copy.columns.index("id"): copy.shift}
        if copy.key in ("email", "phone", "tag"):
            moves[copy.columns.index("person_id")] = person_shift
        if copy.key in ("audit", "search"):
            moves[copy.columns.index("object_id")] = person_shift
        for row in copy.rows:
            for index, delta in moves.items():
                row[index] += delta
    return copies


def statements(copies: list[Copy], vendor: str) -> list[tuple[str, list[list], list[int]]]:
    """(INSERT with the driver's placeholders, rows, the original person of each row) per
    table, in the order the app writes them; SQLite's FTS rows follow the entries."""
    mark = "?" if vendor == "sqlite" else "%s"
    out = []
    for copy in copies:
        rows = copy.rows
        if vendor == "postgresql":  # JSON columns go back as JSON text
            rows = [[json.dumps(v) if isinstance(v, dict | list) else v for v in r] for r in rows]
        names = ", ".join(f'"{c}"' for c in copy.columns)
        marks = ", ".join([mark] * len(copy.columns))
        out.append((f"INSERT INTO {copy.table} ({names}) VALUES ({marks})", rows, copy.owners))  # noqa: S608  # nosec B608 # identifiers from code
        if copy.key == "search" and vendor == "sqlite":
            body = copy.columns.index("body")
            fts = [[r[0], r[body]] for r in rows]
            out.append(
                ("INSERT INTO core_search_fts (rowid, body) VALUES (?, ?)", fts, copy.owners)
            )
    return out


def remove(conn, copies: list[Copy], vendor: str) -> None:
    """Delete the copies (every row at or past its table's shift), committed."""
    mark = "?" if vendor == "sqlite" else "%s"
    cursor = conn.cursor()
    begin(conn, vendor)
    for copy in reversed(copies):
        if copy.key == "search" and vendor == "sqlite":
            cursor.execute(f"DELETE FROM core_search_fts WHERE rowid >= {mark}", [copy.shift])
        cursor.execute(f"DELETE FROM {copy.table} WHERE id >= {mark}", [copy.shift])  # noqa: S608  # nosec B608 # identifiers from code
    commit(conn, vendor)


def begin(conn, vendor: str) -> None:
    conn.execute("BEGIN IMMEDIATE" if vendor == "sqlite" else "BEGIN")


def commit(conn, vendor: str) -> None:
    conn.execute("COMMIT")


def all_at_once(conn, copies: list[Copy], vendor: str) -> float:
    """Write all the copied rows with one `executemany` per table in one transaction,
    committed, as an import at its best would; returns the seconds it took. `conn` is a
    driver connection in autocommit mode."""
    plan = statements(copies, vendor)
    cursor = conn.cursor()
    started = time.perf_counter()
    begin(conn, vendor)
    for sql, rows, _owners in plan:
        cursor.executemany(sql, rows)
    commit(conn, vendor)
    return time.perf_counter() - started


def one_by_one(conn, copies: list[Copy], vendor: str) -> list[float]:
    """Write each person's copied rows in a transaction of its own, committed, as the API
    does; returns the seconds of each transaction. `conn` is a driver connection in
    autocommit mode (transactions are opened here)."""
    plan = statements(copies, vendor)
    people = list(dict.fromkeys(copies[0].owners))
    per_person: dict[int, list[tuple[str, list[list]]]] = {pk: [] for pk in people}
    for sql, rows, owners in plan:
        mine: dict[int, list[list]] = {}
        for row, owner in zip(rows, owners, strict=True):
            mine.setdefault(owner, []).append(row)
        for owner, owned in mine.items():  # one statement per table, as the app writes
            per_person[owner].append((sql, owned))
    cursor = conn.cursor()
    seconds = []
    for pk in people:
        started = time.perf_counter()
        # PostgreSQL: the whole transaction in one round trip (psycopg's pipeline), as the
        # app batches a write's statements (`batched_statements`)
        with conn.pipeline() if vendor == "postgresql" else contextlib.nullcontext():
            begin(conn, vendor)
            for sql, rows in per_person[pk]:
                cursor.executemany(sql, rows)
            commit(conn, vendor)
        seconds.append(time.perf_counter() - started)
    return seconds
