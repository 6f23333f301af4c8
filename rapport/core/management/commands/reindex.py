"""`rapport reindex`: rebuild the global search index from the live records."""

from __future__ import annotations

import time

from django.apps import apps
from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Rebuild the global search index from every live record.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--database", default="default", help=_("Database alias."))

    def handle(self, *args, **options) -> None:
        from rapport.core import search

        started = time.monotonic()
        counts = search.rebuild(using=options["database"])
        if apps.is_installed("rapport.dataio"):  # duplicate match keys follow their rules
            from rapport.dataio.dedup.keys import refresh_match_keys

            refresh_match_keys()
        if options["verbosity"] >= 1:
            self.stdout.write(
                _("Search index rebuilt: %(count)d records in %(seconds).1f s.")
                % {"count": sum(counts.values()), "seconds": time.monotonic() - started}
            )
