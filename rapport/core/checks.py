"""System checks `rapport check` adds to Django's, each explained in plain words.

Two kinds: static checks (secret key, data directory, system libraries) run with
every command like Django's own; runtime checks (database reachable, migrations
applied, search index present and consistent, FTS5 / pg_trgm) query the database,
so they run only inside `runtime_checks()` — which `rapport check` enters — and
never block `migrate` on a database that is about to be fixed.
"""

from __future__ import annotations

import contextlib
import contextvars
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

_runtime = contextvars.ContextVar("rapport_runtime_checks", default=False)


@contextlib.contextmanager
def runtime_checks():
    """Let the database-backed checks run for the duration of the block."""
    token = _runtime.set(True)
    try:
        yield
    finally:
        _runtime.reset(token)


# --- static checks -------------------------------------------------------------------


@register("rapport")
def check_secret_key(app_configs=None, **kwargs):
    key = str(getattr(settings, "SECRET_KEY", "") or "")
    if not key or key.startswith("django-insecure") or len(key) < 32 or len(set(key)) < 8:
        return [
            Error(
                _("The secret key is missing, a default or too short."),
                hint=_(
                    "Set RAPPORT_SECRET_KEY to a long random value, or delete it to let "
                    "Rapport generate one in the data directory."
                ),
                id="rapport.E003",
            )
        ]
    return []


@register("rapport")
def check_data_dir(app_configs=None, **kwargs):
    path = Path(getattr(settings, "DATA_DIR", "var"))
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".rapport-check-"):
            pass
    except OSError as exc:
        return [
            Error(
                _("The data directory %(path)s is not writable (%(error)s).")
                % {"path": path, "error": exc.strerror or exc},
                hint=_("Give the user running Rapport write access, or set RAPPORT_DATA_DIR."),
                id="rapport.E004",
            )
        ]
    return []


@register("rapport")
def check_libraries(app_configs=None, **kwargs):
    errors = []
    try:
        from PIL import Image

        Image.new("RGB", (1, 1)).tobytes()
    except Exception as exc:  # noqa: BLE001 - a broken install fails in many ways
        errors.append(
            Error(
                _("The image library (Pillow) does not work: %(error)s") % {"error": exc},
                hint=_("Reinstall the dependencies; Pillow needs libjpeg and zlib."),
                id="rapport.E008",
            )
        )
    try:
        from argon2 import PasswordHasher

        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("check")
    except Exception as exc:  # noqa: BLE001
        errors.append(
            Error(
                _("Password hashing (argon2) does not work: %(error)s") % {"error": exc},
                hint=_("Reinstall argon2-cffi; without it nobody can sign in."),
                id="rapport.E009",
            )
        )
    return errors


# --- runtime checks ------------------------------------------------------------------


def _aliases(databases) -> list[str]:
    return list(databases) if databases else [DEFAULT_DB_ALIAS]


@register("rapport")
def check_database(app_configs=None, databases=None, **kwargs):
    if not _runtime.get():
        return []
    errors = []
    for alias in _aliases(databases):
        errors.extend(database_problems(alias))
    return errors


def database_problems(alias: str = DEFAULT_DB_ALIAS) -> list:
    """Reachability, migrations and the search index of one database, in that order;
    later checks are skipped when an earlier one makes them meaningless."""
    connection = connections[alias]
    try:
        connection.ensure_connection()
    except Exception as exc:  # noqa: BLE001 - every driver error means "unreachable"
        return [
            Error(
                _("The database “%(alias)s” cannot be reached: %(error)s")
                % {"alias": alias, "error": str(exc).strip()},
                hint=_("Check DATABASE_URL and that the database server is running."),
                id="rapport.E001",
            )
        ]
    pending = unapplied_migrations(alias)
    if pending:
        names = ", ".join(f"{app}.{name}" for app, name in pending[:3])
        more = "…" if len(pending) > 3 else ""
        return [
            Error(
                _("%(count)d database migrations have not been applied (%(names)s%(more)s).")
                % {"count": len(pending), "names": names, "more": more},
                hint=_("Run `rapport migrate`."),
                id="rapport.E002",
            )
        ]
    return cache_problems(alias) + search_problems(alias) + integrity_errors(alias)


def integrity_errors(alias: str = DEFAULT_DB_ALIAS) -> list:
    """The database itself is sound (SQLite pages and foreign keys; PostgreSQL tables and
    id sequences): see rapport.core.integrity."""
    from rapport.core.integrity import integrity_problems

    return [
        Error(
            problem,
            hint=_("Restore the latest backup (`rapport restore FILE --force`) or repair it."),
            id="rapport.E011",
        )
        for problem in integrity_problems(alias)
    ]


def cache_problems(alias: str = DEFAULT_DB_ALIAS) -> list:
    """A database cache (the default without REDIS_URL) needs its table, or every page
    that touches the cache — sign-in lockout counting among them — fails."""
    from django.core.cache import caches
    from django.core.cache.backends.db import DatabaseCache

    tables = set(connections[alias].introspection.table_names())
    problems = []
    for name in settings.CACHES:
        cache = caches[name]
        if isinstance(cache, DatabaseCache) and cache._table not in tables:
            problems.append(
                Error(
                    _("The cache table “%(table)s” is missing.") % {"table": cache._table},
                    hint=_("Run `rapport migrate` (or `rapport createcachetable`)."),
                    id="rapport.E010",
                )
            )
    return problems


def unapplied_migrations(alias: str = DEFAULT_DB_ALIAS) -> list[tuple[str, str]]:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connections[alias])
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [(migration.app_label, migration.name) for migration, backwards in plan]


def search_problems(alias: str = DEFAULT_DB_ALIAS) -> list:
    from rapport.core import search
    from rapport.core.registry import registry
    from rapport.core.searchbackends import backend_for

    engine = backend_for(connections[alias])
    problem = engine.engine_problem()
    if problem:
        return [
            Error(
                _("The database cannot hold the search index: %(problem)s.") % {"problem": problem},
                hint=(
                    _("Install the pg_trgm and btree_gin extensions (postgresql-contrib).")
                    if engine.vendor == "postgresql"
                    else _("Use a Python whose SQLite has FTS5 with the trigram tokenizer.")
                ),
                id="rapport.E006",
            )
        ]
    if not engine.tables_present():
        return [
            Error(
                _("The search index tables are missing."),
                hint=_("Run `rapport migrate`, then `rapport reindex`."),
                id="rapport.E005",
            )
        ]
    warnings = []
    counts = engine.counts()
    for entity in registry:
        live = entity.model.objects.using(alias).count()
        indexed = counts.get(entity.key, 0)
        if live != indexed:
            warnings.append(
                Warning(
                    _("The search index is out of date: %(indexed)d entries for %(live)d %(what)s.")
                    % {"indexed": indexed, "live": live, "what": entity.verbose_name_plural},
                    hint=_("Run `rapport reindex`."),
                    id="rapport.W007",
                )
            )
    for key, count in search.stale_copies(alias).items():
        warnings.append(
            Warning(
                _(
                    "The search index is out of date: %(count)d entries for %(what)s "
                    "carry an earlier team or owner."
                )
                % {"count": count, "what": registry.get(key).verbose_name_plural},
                hint=_("Run `rapport reindex`."),
                id="rapport.W007",
            )
        )
    inconsistency = engine.consistency_problem()
    if inconsistency:
        warnings.append(
            Warning(
                _("The search index is inconsistent: %(problem)s.") % {"problem": inconsistency},
                hint=_("Run `rapport reindex`."),
                id="rapport.W007",
            )
        )
    return warnings
