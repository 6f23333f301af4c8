"""`rapport token create USERNAME [--name N]`: print a new API token, and only it.

Only the token goes to stdout, so scripts can capture it; it is shown this once,
the database keeps its SHA-256.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from rapport.core import context


class Command(BaseCommand):
    help = _("Manage API tokens: `token create USERNAME [--name N]`.")

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help=_("Create a personal API token."))
        create.add_argument("username")
        create.add_argument("--name", default="", help=_("What the token is for."))

    def handle(self, *args, **options) -> None:
        from rapport.accounts.models import User
        from rapport.accounts.services import token_create

        user = User.objects.filter(username__iexact=options["username"]).first()
        if user is None:
            raise CommandError(
                _("There is no user named %(name)r.") % {"name": options["username"]}
            )
        if not user.is_active:
            raise CommandError(_("The user %(name)s is deactivated.") % {"name": user.username})
        token = context.bind(context.RequestContext(via="cli"))
        try:
            _token, raw = token_create(user=user, name=options["name"] or "CLI")
        finally:
            context.reset(token)
        self.stdout.write(raw)
