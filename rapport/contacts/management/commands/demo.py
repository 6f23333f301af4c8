"""`rapport demo`: load the demo data once and print the demo logins."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Load demo data (about 2,000 people and 300 companies) unless already loaded.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("--people", type=int, default=2000, help=_("How many people."))
        parser.add_argument("--companies", type=int, default=300, help=_("How many companies."))
        parser.add_argument("--seed", type=int, default=2024, help=_("Random seed."))

    def handle(self, *args, **options) -> None:
        from rapport.contacts import demo

        if options["people"] < 0 or options["companies"] < 0:
            raise CommandError(_("Counts cannot be negative."))
        result = demo.load(
            people=options["people"], companies=options["companies"], seed=options["seed"]
        )
        if result.loaded:
            self.stdout.write(
                _("Demo data loaded: %(people)d people, %(companies)d companies in %(s).1f s.")
                % {"people": result.people, "companies": result.companies, "s": result.seconds}
            )
        else:
            self.stdout.write(_("Demo data is already loaded; nothing to do."))
        self.stdout.write("")
        self.stdout.write(_("Demo logins (username / password, role, team):"))
        for username, password, role, team in result.logins:
            self.stdout.write(f"  {username:<8} / {password}   {role:<8} {team}")
