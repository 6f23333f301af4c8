"""`rapport restore FILE`: verify an archive, load it, migrate, then check the database."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.utils.translation import gettext as _

from rapport.core.backup import BackupError, restore_backup
from rapport.core.integrity import integrity_problems


class Command(BaseCommand):
    help = _(
        "Restore a backup made by `rapport backup`: checks the archive first, refuses to "
        "overwrite a database that holds data unless --force, then migrates and checks."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=_("The archive written by `rapport backup`."))
        parser.add_argument(
            "--force",
            action="store_true",
            help=_("Overwrite a database that already holds data."),
        )
        parser.add_argument(
            "--no-media",
            action="store_true",
            help=_("Leave the uploaded files folder as it is."),
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS, help=_("Database alias."))

    def handle(self, *args, **options):
        alias = options["database"]
        try:
            report = restore_backup(
                options["file"], using=alias, force=options["force"], media=not options["no_media"]
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        problems = integrity_problems(alias)
        if problems:
            raise CommandError(
                _("Restored, but the database check found problems: %(problems)s")
                % {"problems": "; ".join(problems)}
            )
        self.stdout.write(
            _(
                "Restored %(path)s: %(engine)s database (%(migrations)d migrations), "
                "%(files)d uploaded files. The database check found no problem."
            )
            % {
                "path": report.path,
                "engine": report.engine,
                "migrations": report.migrations,
                "files": report.files,
            }
        )
