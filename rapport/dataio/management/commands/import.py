"""`rapport import FILE --type people|companies`: the import wizard for scripts.

Runs synchronously through the same services as the wizard (upload, configure, run),
prints progress and the counts, and with `--report PATH` writes the per-row report
CSV. Bad arguments exit non-zero with a message naming the option.
"""

from __future__ import annotations

import os

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from rapport.core import context

TYPES = {"people": "person", "person": "person", "companies": "company", "company": "company"}


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(m)}" for field, m in exc.message_dict.items())
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = _("Import people or companies from a CSV, XLSX or vCard file.")

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help=_("The file to import."))
        parser.add_argument("--type", required=True, choices=sorted(TYPES), dest="type")
        parser.add_argument("--mapping", default="", help=_("A saved mapping template's name."))
        parser.add_argument("--user", default="", help=_("Import as this user."))
        parser.add_argument("--strategy", default="", choices=["", "skip", "update", "create"])
        parser.add_argument(
            "--match", default="", help=_("Match on: email,phone,name_company,external_id.")
        )
        parser.add_argument("--encoding", default="")
        parser.add_argument("--delimiter", default="")
        parser.add_argument("--sheet", default="")
        parser.add_argument("--report", default="", help=_("Write the per-row report CSV here."))

    def handle(self, *args, **options) -> None:
        path = options["file"]
        if not os.path.isfile(path):
            raise CommandError(_("There is no file %(path)s.") % {"path": path})
        if options["report"] and not os.path.isdir(
            os.path.dirname(os.path.abspath(options["report"]))
        ):
            raise CommandError(
                _("--report: the folder for %(path)s does not exist.") % {"path": options["report"]}
            )
        entity = TYPES[options["type"]]
        user = self._user(options["user"])
        token = context.bind(context.RequestContext(via="cli"))
        try:
            job = self._prepare(path, entity, user, options)
            job = self._run(job)
        finally:
            context.reset(token)
        self._summary(job)
        if options["report"]:
            from rapport.dataio.importing import write_report_csv

            with open(options["report"], "w", newline="", encoding="utf-8-sig") as out:
                write_report_csv(job, out)
            self.stdout.write(_("Report written to %(path)s") % {"path": options["report"]})
        if job.status != job.Status.DONE:
            raise CommandError(job.error or _("The import did not finish."))

    def _user(self, username: str):
        from rapport.accounts.models import User
        from rapport.accounts.services import is_administrator

        if username:
            user = User.objects.filter(username__iexact=username, is_active=True).first()
            if user is None:
                raise CommandError(
                    _("--user: there is no active user named %(name)r.") % {"name": username}
                )
            return user
        admins = [u for u in User.objects.filter(is_active=True) if is_administrator(u)]
        if len(admins) != 1:
            raise CommandError(_("Name the user the import runs as with --user USERNAME."))
        return admins[0]

    def _prepare(self, path: str, entity: str, user, options):
        from rapport.dataio import importing

        try:
            with open(path, "rb") as fh:
                job = importing.import_upload(
                    actor=user, entity=entity, upload=File(fh, name=os.path.basename(path))
                )
            settings = {}
            for option in ("encoding", "delimiter", "sheet", "strategy"):
                if options[option]:
                    settings[option] = options[option]
            if options["match"]:
                settings["match_on"] = [m.strip() for m in options["match"].split(",") if m.strip()]
            if settings:
                job = importing.import_configure(actor=user, job=job, **settings)
            if options["mapping"]:
                job = importing.import_configure(
                    actor=user, job=job, mapping=self._template(user, job, options["mapping"])
                )
            return importing.import_start(actor=user, job=job, enqueue=False)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        except PermissionDenied as exc:
            raise CommandError(
                _("%(user)s may not import %(type)s.")
                % {"user": user.username, "type": options["type"]}
            ) from exc

    def _template(self, user, job, name: str) -> list[dict]:
        from rapport.dataio.importing import mapping_from_template, mapping_templates

        template = mapping_templates(user, job.entity).filter(name=name).order_by("-shared").first()
        if template is None:
            raise CommandError(
                _("--mapping: there is no mapping template named %(name)r.") % {"name": name}
            )
        return mapping_from_template(template, job.headers)

    def _run(self, job):
        from rapport.dataio.importing import import_run

        total = job.total_rows

        def progress(current) -> None:
            self.stdout.write(
                _("%(done)s of %(total)s rows")
                % {"done": current.processed_rows, "total": current.total_rows or total or "?"}
            )

        try:
            return import_run(job.pk, progress=progress)
        except Exception as exc:
            raise CommandError(_("The import failed: %(error)s") % {"error": exc}) from exc

    def _summary(self, job) -> None:
        self.stdout.write(
            _(
                "%(file)s: %(rows)s rows — %(created)s created, %(updated)s updated, "
                "%(skipped)s skipped, %(rejected)s rejected."
            )
            % {
                "file": job.filename,
                "rows": job.processed_rows,
                "created": job.created_count,
                "updated": job.updated_count,
                "skipped": job.skipped_count,
                "rejected": job.rejected_count,
            }
        )
