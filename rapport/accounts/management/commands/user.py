"""`rapport user create NAME --password P|- [--email E] [--team T]... [--role R]... [--admin]`.

Goes through `accounts.services.user_create`, so the CLI obeys the same rules as the
admin area: password validators, an existing name is an error, teams named are
created if missing, `--admin` grants the built-in admin role (never a superuser).
"""

from __future__ import annotations

import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from rapport.core import context


def validation_lines(exc: ValidationError) -> list[str]:
    """`field: message` per problem, for a terminal."""
    if hasattr(exc, "error_dict"):
        return [
            f"{field}: {message}"
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    return [f"password: {message}" for message in exc.messages]


def read_password(value: str, stdin=None) -> str:
    if value != "-":
        return value
    line = (stdin or sys.stdin).readline()
    return line.rstrip("\r\n")


class Command(BaseCommand):
    help = _("Manage users: `user create NAME --password P|-`.")

    def add_arguments(self, parser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help=_("Create a user."))
        create.add_argument("username")
        create.add_argument(
            "--password", required=True, help=_("The password, or - to read it from stdin.")
        )
        create.add_argument("--email", default="")
        create.add_argument("--first-name", default="")
        create.add_argument("--last-name", default="")
        create.add_argument(
            "--team",
            action="append",
            default=[],
            dest="teams",
            help=_("A team to join (created if missing); repeat for several."),
        )
        create.add_argument(
            "--role",
            action="append",
            default=[],
            dest="roles",
            help=_("A role on the first team named (or on all teams); repeat for several."),
        )
        create.add_argument(
            "--admin", action="store_true", help=_("Grant the built-in admin role.")
        )

    def handle(self, *args, **options) -> None:
        from rapport.accounts.services import user_create

        token = context.bind(context.RequestContext(via="cli"))
        try:
            password = read_password(options["password"], getattr(self, "stdin", None))
            if not password:
                raise CommandError(_("password: the password is empty."))
            try:
                user = user_create(
                    username=options["username"],
                    password=password,
                    email=options["email"],
                    first_name=options["first_name"],
                    last_name=options["last_name"],
                    teams=options["teams"],
                    roles=options["roles"],
                    admin=options["admin"],
                )
            except ValidationError as exc:
                raise CommandError("\n".join(validation_lines(exc))) from exc
        finally:
            context.reset(token)
        if options["verbosity"] >= 1:
            self.stdout.write(_("Created user %(name)s.") % {"name": user.username})
