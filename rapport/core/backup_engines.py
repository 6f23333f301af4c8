"""How each database engine is copied out of and back into a backup archive.

SQLite uses the online backup API (`sqlite3.Connection.backup`): a consistent copy of a
live database, WAL included, without stopping the server. PostgreSQL uses `pg_dump` in
custom format and `pg_restore`, found on PATH, in RAPPORT_PG_BIN or in Debian's
/usr/lib/postgresql/<version>/bin; a missing binary is a clear error, not a traceback.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess  # nosec B404 # pg_dump/pg_restore, argument lists, never a shell
from pathlib import Path

from django.db import connections
from django.utils.translation import gettext as _


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why in plain words."""


ENGINES = {"sqlite": "sqlite", "postgresql": "postgresql"}
DUMP_NAMES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}


def engine_of(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in ENGINES:
        raise BackupError(
            _("Backups support SQLite and PostgreSQL, not %(vendor)s.") % {"vendor": vendor}
        )
    return vendor


# --- SQLite --------------------------------------------------------------------------


def sqlite_dump(alias: str, target: Path) -> None:
    """Copy the live database page by page into a fresh file (consistent snapshot)."""
    connection = connections[alias]
    if connection.in_atomic_block:
        # SQLite answers "locked" forever to a backup from a connection that is writing.
        raise BackupError(_("A backup cannot be taken inside a database transaction."))
    connection.ensure_connection()
    destination = sqlite3.connect(target)
    try:
        with connection.wrap_database_errors:
            connection.connection.backup(destination)
    finally:
        destination.close()


def sqlite_load(alias: str, source: Path) -> None:
    """Overwrite the alias's database file with the archived one, through the backup API
    so the WAL and any open readers see one consistent switch."""
    name = connections[alias].settings_dict["NAME"]
    if str(name) in ("", ":memory:") or "mode=memory" in str(name):
        raise BackupError(_("An in-memory SQLite database cannot be restored into."))
    connections[alias].close()
    origin = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    destination = sqlite3.connect(name)
    try:
        origin.backup(destination)
    finally:
        destination.close()
        origin.close()


# --- PostgreSQL ------------------------------------------------------------------------


def pg_binary(name: str) -> str:
    """Path of pg_dump / pg_restore: RAPPORT_PG_BIN, PATH, then the newest Debian install."""
    configured = os.environ.get("RAPPORT_PG_BIN")
    if configured:
        candidate = Path(configured) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    debian = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda path: int(Path(path).parts[-3]) if Path(path).parts[-3].isdigit() else 0,
    )
    if debian:
        return debian[-1]
    raise BackupError(
        _(
            "%(name)s was not found. Install the PostgreSQL client tools "
            "(apt-get install postgresql-client) or set RAPPORT_PG_BIN to their directory."
        )
        % {"name": name}
    )


def pg_arguments(alias: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for the PostgreSQL tools; the password goes in the environment,
    never on the command line (where `ps` would show it)."""
    settings_dict = connections[alias].settings_dict
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", str(settings_dict["USER"])]
    env = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    options = settings_dict.get("OPTIONS") or {}
    if options.get("sslmode"):
        env["PGSSLMODE"] = str(options["sslmode"])
    return args, env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(  # noqa: S603  # nosec B603 # argument list
            command, env=env, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        message = _("%(what)s could not start: %(error)s") % {"what": what, "error": exc}
        raise BackupError(message) from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(
            _("%(what)s failed: %(detail)s")
            % {"what": what, "detail": " ".join(detail[-3:]) or result.returncode}
        )


def pg_dump(alias: str, target: Path) -> None:
    args, env = pg_arguments(alias)
    name = str(connections[alias].settings_dict["NAME"])
    command = [pg_binary("pg_dump"), "--format=custom", "--no-owner", "--no-privileges"]
    _run([*command, *args, "--file", str(target), "--dbname", name], env, "pg_dump")


def pg_load(alias: str, source: Path) -> None:
    """Empty the schema, then restore the dump into it in one transaction."""
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_schema()")
        schema = cursor.fetchone()[0] or "public"
        quoted = connection.ops.quote_name(schema)
        cursor.execute(f"DROP SCHEMA IF EXISTS {quoted} CASCADE")
        cursor.execute(f"CREATE SCHEMA {quoted}")
    connection.close()
    args, env = pg_arguments(alias)
    name = str(connection.settings_dict["NAME"])
    command = [pg_binary("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
    command += ["--single-transaction", *args, "--dbname", name, str(source)]
    _run(command, env, "pg_restore")


def dump(alias: str, target: Path) -> None:
    (sqlite_dump if engine_of(alias) == "sqlite" else pg_dump)(alias, target)


def load(alias: str, source: Path) -> None:
    (sqlite_load if engine_of(alias) == "sqlite" else pg_load)(alias, source)
