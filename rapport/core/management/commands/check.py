"""`rapport check`: Django's system checks plus Rapport's runtime checks.

A superset of Django's `check` (same options: --deploy, --database, --tag …) that
also verifies the database is reachable and migrated, the search index exists and
matches the records, FTS5 / pg_trgm are available and the system libraries work;
any error exits with status 1.
"""

from __future__ import annotations

from django.core.management.commands.check import Command as DjangoCheckCommand
from django.utils.translation import gettext as _

from rapport.core.checks import runtime_checks


class Command(DjangoCheckCommand):
    help = _(
        "Check configuration, database, migrations, search index and system libraries; "
        "exit 1 on errors."
    )

    def handle(self, *app_labels, **options):
        with runtime_checks():
            super().handle(*app_labels, **options)
        if options["verbosity"] >= 1 and not options.get("list_tags"):
            self.stdout.write(
                _(
                    "Checked: settings, secret key, data directory, database, migrations, "
                    "search index, image and password libraries."
                )
            )
