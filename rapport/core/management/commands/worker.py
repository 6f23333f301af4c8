"""`rapport worker`: run background tasks, the periodic scheduler and the reaper."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
from django.utils.translation import gettext as _


class Command(BaseCommand):
    help = _("Run background tasks and the periodic scheduler until stopped.")

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--queue", default="*", help=_("Queues to run, comma-separated (default: all).")
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=1.0,
            help=_("Seconds to wait between polls when the queue is empty."),
        )
        parser.add_argument(
            "--batch", action="store_true", help=_("Run what is queued now, then exit.")
        )
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help=_("Do not take part in running periodic jobs."),
        )
        parser.add_argument("--worker-id", default=None, help=_("A unique id for this worker."))
        parser.add_argument(
            "--parent-pid",
            type=int,
            default=None,
            help=_("Stop when this process (the `rapport serve` that started us) is gone."),
        )

    def handle(self, *args, **options) -> None:
        from django_tasks_db import DatabaseBackend

        from rapport.core.worker import run_worker

        backend = task_backends[DEFAULT_TASK_BACKEND_ALIAS]
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(
                _(
                    "The task backend is %(backend)s, not the database backend: run that "
                    "backend's own worker instead."
                )
                % {"backend": type(backend).__name__}
            )
        if options["verbosity"] >= 1 and not options["batch"]:
            self.stdout.write(_("Worker started; press Ctrl+C to stop."))
        run_worker(
            queue_names=[q.strip() for q in options["queue"].split(",") if q.strip()],
            interval=options["interval"],
            batch=options["batch"],
            run_scheduler=not options["no_scheduler"],
            worker_id=options["worker_id"],
            signals=not options["batch"],
            parent_pid=options["parent_pid"],
        )
