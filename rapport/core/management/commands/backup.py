"""`rapport backup FILE`: the database and the uploaded files in one verified archive."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from rapport.core.backup import BackupError, create_backup


class Command(BaseCommand):
    help = _(
        "Write the database (SQLite online backup or pg_dump) and the uploaded files into "
        "one archive with a manifest of checksums."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("Where to write the archive (e.g. rapport.tar.gz)."))
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help=_("Database alias."))

    def handle(self, *args, **options):
        try:
            report = create_backup(options["file"], using=options["database"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            _(
                "Backup written to %(path)s: %(engine)s database, %(files)d uploaded files, "
                "%(size)d bytes."
            )
            % {
                "path": report.path,
                "engine": report.engine,
                "files": report.files,
                "size": report.size,
            }
        )
