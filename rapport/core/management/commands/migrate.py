"""`rapport migrate`: Django's migrate, then make sure the search index and cache tables exist.

The index tables are not Django models, so nothing else would notice if a database
lacked them (an old backup, a schema restored by hand); their DDL is idempotent.
When the index is empty but records exist (data from before the index), it is
filled, so search works right after upgrading.
"""

from __future__ import annotations

from django.core.management import call_command
from django.core.management.commands.migrate import Command as DjangoMigrateCommand
from django.db import connections
from django.db.migrations.recorder import MigrationRecorder
from django.utils.translation import gettext as _

SEARCH_MIGRATION = ("core", "0002_search_index")


class Command(DjangoMigrateCommand):
    def handle(self, *args, **options):
        alias = options["database"]
        before = set(MigrationRecorder(connections[alias]).applied_migrations())
        super().handle(*args, **options)
        if options.get("plan") or options.get("check_unapplied"):
            return
        self.ensure_search_index(alias, options["verbosity"])
        # The database cache (used when REDIS_URL is unset) needs its table too.
        call_command("createcachetable", database=alias, verbosity=0)
        if set(MigrationRecorder(connections[alias]).applied_migrations()) - before:
            refresh_statistics(alias)

    def ensure_search_index(self, alias: str, verbosity: int) -> None:
        from rapport.core import search
        from rapport.core.registry import registry

        connection = connections[alias]
        applied = MigrationRecorder(connection).applied_migrations()
        if SEARCH_MIGRATION not in applied:
            return  # migrated backwards past the index: leave it gone
        engine = search.backend(alias)
        engine.ensure_schema()
        if engine.counts():
            return
        if any(entity.model.objects.using(alias).exists() for entity in registry):
            counts = search.rebuild(using=alias)
            if verbosity >= 1:
                self.stdout.write(
                    _("Search index filled: %(count)d records.") % {"count": sum(counts.values())}
                )


def refresh_statistics(alias: str) -> None:
    """Planner statistics after a schema change. An index created by a migration has none
    until the next ANALYZE, and SQLite then guesses it is very selective: a million-row
    list once chose a new index over the one its ORDER BY needed and sorted 300,000 rows."""
    with connections[alias].cursor() as cursor:
        cursor.execute("ANALYZE")
