"""`rapport serve`: the production server (gunicorn, gthread workers) plus the task worker.

Before it binds anything it refuses, in plain words, to start on an unreachable or
unmigrated database or a busy port. The task worker (`rapport worker`: tasks,
scheduler, reaper) runs as a child process that `serve` starts, restarts if it dies
and stops on exit; a child process rather than a thread, because gunicorn forks its
web workers from this process and a forked database connection is a shared one.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import subprocess
import sys
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils.translation import gettext as _

logger = logging.getLogger("rapport.serve")


def port_problem(host: str, port: int) -> str | None:
    """Why (host, port) cannot be bound right now, or None. Binds the way gunicorn will
    (SO_REUSEADDR), so a port in TIME_WAIT is not reported as busy."""
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return _("the address %(host)s cannot be resolved (%(error)s)") % {
            "host": host,
            "error": exc.strerror,
        }
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return _("port %(port)d on %(host)s is already in use") % {
                    "port": port,
                    "host": host,
                }
            if exc.errno == errno.EACCES:
                return _("this user may not listen on port %(port)d") % {"port": port}
            return str(exc.strerror or exc)
    return None


def preflight(host: str, port: int, *, alias: str = DEFAULT_DB_ALIAS) -> None:
    """Raise CommandError naming the first reason the server must not start."""
    from rapport.core.checks import unapplied_migrations

    try:
        connections[alias].ensure_connection()
    except Exception as exc:  # noqa: BLE001 - any driver error means "unreachable"
        raise CommandError(
            _("The database cannot be reached: %(error)s\nCheck DATABASE_URL.")
            % {"error": str(exc).strip()}
        ) from exc
    pending = unapplied_migrations(alias)
    if pending:
        raise CommandError(
            _(
                "The database is not up to date: %(count)d migrations have not been applied.\n"
                "Run `rapport migrate` first."
            )
            % {"count": len(pending)}
        )
    problem = port_problem(host, port)
    if problem:
        raise CommandError(
            _(
                "Cannot start the server: %(problem)s.\nStop the other program or choose another "
                "port with --port."
            )
            % {"problem": problem}
        )


class WorkerSupervisor:
    """Keeps one `rapport worker` child running; restarts it with a growing pause."""

    def __init__(self) -> None:
        self.process: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="rapport-worker-watch", daemon=True)

    def start(self) -> None:
        self._spawn()
        self.thread.start()

    def _spawn(self) -> None:
        # Its own session: a Ctrl+C meant for the server must not stop the worker before
        # the server does (the supervisor would restart it); it watches our pid instead.
        command = [sys.executable, "-m", "rapport.cli", "worker", "--parent-pid", str(os.getpid())]
        self.process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command, env=os.environ.copy(), start_new_session=True
        )
        logger.info("task worker started (pid %s)", self.process.pid)

    def _watch(self) -> None:
        pause = 1.0
        while not self.stopping.wait(2.0):
            if self.process is not None and self.process.poll() is not None:
                logger.warning("task worker exited with %s; restarting", self.process.returncode)
                if self.stopping.wait(pause):
                    return
                pause = min(pause * 2, 60.0)
                self._spawn()

    def stop(self) -> None:
        self.stopping.set()
        process = self.process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def default_workers() -> int:
    return max(2, min(4, (os.cpu_count() or 1) + 1))


def default_threads() -> int:
    return 4


def run_gunicorn(*, host: str, port: int, workers: int, threads: int, on_ready, on_exit) -> None:
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            options = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": 60,
                "graceful_timeout": 20,
                "keepalive": 5,
                "accesslog": "-",
                "errorlog": "-",
                "proc_name": "rapport",
                "control_socket_disable": True,
                "when_ready": lambda server: on_ready(),
                "on_exit": lambda server: on_exit(),
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            from rapport.wsgi import application

            return application

    Server().run()


class Command(BaseCommand):
    help = _("Run the production web server and, unless --no-worker, the task worker.")
    requires_system_checks = []  # preflight() says what matters in plainer words

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help=_("Address to listen on."))
        parser.add_argument("--port", type=int, default=8000, help=_("Port to listen on."))
        parser.add_argument(
            "--workers", type=int, default=default_workers(), help=_("Web worker processes.")
        )
        parser.add_argument(
            "--threads", type=int, default=default_threads(), help=_("Threads per web worker.")
        )
        parser.add_argument(
            "--no-worker", action="store_true", help=_("Do not run the task worker.")
        )

    def handle(self, *args, **options) -> None:
        host, port = options["host"], options["port"]
        if not 0 < port < 65536:
            raise CommandError(_("The port must be between 1 and 65535."))
        preflight(host, port)
        manifest = os.path.join(settings.STATIC_ROOT, "staticfiles.json")
        if not os.path.exists(manifest) and not settings.DEBUG:
            self.stderr.write(
                _("Warning: static files have not been collected; run `rapport collectstatic`.")
            )
        connections.close_all()  # nothing open may be inherited by forked workers
        supervisor = None if options["no_worker"] else WorkerSupervisor()
        url_host = f"[{host}]" if ":" in host and not host.startswith("[") else host

        def on_ready() -> None:
            if supervisor is not None:
                supervisor.start()
            self.stdout.write(
                _("Rapport is running at http://%(host)s:%(port)d/ (Ctrl+C to stop).")
                % {"host": url_host, "port": port}
            )
            self.stdout.flush()

        master = os.getpid()

        def on_exit() -> None:
            # Forked web workers unwind through this frame too; only the master stops
            # the task worker.
            if supervisor is not None and os.getpid() == master:
                supervisor.stop()

        started = time.monotonic()
        try:
            run_gunicorn(
                host=host,
                port=port,
                workers=options["workers"],
                threads=options["threads"],
                on_ready=on_ready,
                on_exit=on_exit,
            )
        finally:
            if os.getpid() == master:
                on_exit()
                logger.info("server stopped after %.0f s", time.monotonic() - started)
