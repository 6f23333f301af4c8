"""The task worker `rapport worker` runs: django-tasks-db's loop plus what it lacks.

django-tasks-db claims a task by marking it RUNNING and has no lease or retries: a
worker killed mid-task leaves the row RUNNING forever. Here every worker keeps a
heartbeat lease (`worker:<id>` in the scheduler's lease table) and a housekeeping
thread next to the worker loop renews it, reaps tasks whose worker's heartbeat
expired (back to READY with exponential backoff, FAILED after the last attempt), and
runs the periodic scheduler. Tasks are idempotent, so running one again is safe.
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import threading
import uuid

from django.conf import settings
from django.db import close_old_connections
from django.tasks import DEFAULT_TASK_BACKEND_ALIAS, TaskResultStatus
from django.utils import timezone

from rapport.core import scheduler

logger = logging.getLogger("rapport.worker")

HEARTBEAT_TTL = datetime.timedelta(seconds=60)
HOUSEKEEPING_SECONDS = 10.0


class WorkerLost(Exception):
    """Recorded as the error of a task whose worker stopped on every attempt."""


def max_attempts() -> int:
    return int(getattr(settings, "RAPPORT_TASK_MAX_ATTEMPTS", 5))


def hard_timeout() -> datetime.timedelta:
    """How long a RUNNING task of a worker without a heartbeat (a plain `db_worker`)
    may take before it counts as lost."""
    return datetime.timedelta(seconds=int(getattr(settings, "RAPPORT_TASK_TIMEOUT", 3600)))


def backoff(attempts: int) -> datetime.timedelta:
    """30 s, 1 min, 2 min, … capped at an hour."""
    base = int(getattr(settings, "RAPPORT_TASK_RETRY_BASE_SECONDS", 30))
    return datetime.timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def heartbeat_name(worker_id: str) -> str:
    return f"worker:{worker_id}"[:50]


def reap_lost_tasks(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Requeue (or finally fail) RUNNING tasks whose worker is gone; returns counts.

    A task is lost when its last worker's heartbeat lease has expired, or, for a worker
    that never kept one, when it has been running longer than the hard timeout. The
    status change is a conditional UPDATE, so two reapers never handle a task twice.
    """
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    counts = {"retried": 0, "failed": 0}
    for result in DBTaskResult.objects.running().only("id", "worker_ids", "started_at"):
        worker_id = result.worker_ids[-1] if result.worker_ids else ""
        alive = scheduler.lease_alive(heartbeat_name(worker_id), now=now) if worker_id else None
        started = result.started_at or now
        if alive or (alive is None and now - started < hard_timeout()):
            continue
        attempts = len(result.worker_ids)
        guard = DBTaskResult.objects.filter(
            pk=result.pk, status=TaskResultStatus.RUNNING, started_at=result.started_at
        )
        if attempts >= max_attempts():
            changed = guard.update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
                traceback=(
                    f"WorkerLost: the worker running this task stopped on each of "
                    f"{attempts} attempts; giving up."
                ),
            )
            counts["failed"] += changed
            if changed:
                logger.error("task %s failed: its worker was lost %d times", result.pk, attempts)
        else:
            changed = guard.update(status=TaskResultStatus.READY, run_after=now + backoff(attempts))
            counts["retried"] += changed
            if changed:
                logger.warning("task %s requeued after its worker was lost", result.pk)
    stale = now - datetime.timedelta(hours=1)
    from rapport.core.models import SchedulerLease

    SchedulerLease.objects.filter(name__startswith="worker:", expires_at__lt=stale).delete()
    return counts


class Housekeeping(threading.Thread):
    """Heartbeat, reaper and scheduler on one timer, beside the worker loop."""

    def __init__(
        self,
        worker_id: str,
        *,
        run_scheduler: bool = True,
        interval: float = HOUSEKEEPING_SECONDS,
        parent_pid: int | None = None,
    ):
        super().__init__(name="rapport-housekeeping", daemon=True)
        self.worker_id = worker_id
        self.interval = interval
        self.stop = threading.Event()
        self.parent_pid = parent_pid
        self.scheduler = scheduler.Scheduler(f"{worker_id}") if run_scheduler else None

    def beat(self) -> None:
        scheduler.acquire_lease(heartbeat_name(self.worker_id), self.worker_id, HEARTBEAT_TTL)

    def orphaned(self) -> bool:
        return self.parent_pid is not None and os.getppid() != self.parent_pid

    def once(self) -> None:
        if self.orphaned():
            logger.warning("the server that started this worker is gone; stopping")
            self.stop.set()
            os.kill(os.getpid(), signal.SIGTERM)  # the worker loop's graceful shutdown
            return
        self.beat()
        reap_lost_tasks()
        if self.scheduler is not None:
            self.scheduler.tick()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                close_old_connections()
                try:
                    self.once()
                except Exception:
                    logger.exception("worker housekeeping failed")
                self.stop.wait(self.interval)
        finally:
            try:
                if self.scheduler is not None:
                    self.scheduler.release()
                scheduler.release_lease(heartbeat_name(self.worker_id), self.worker_id)
            except Exception:
                logger.exception("could not release the worker's leases")
            close_old_connections()


def run_worker(
    *,
    queue_names: list[str] | None = None,
    interval: float = 1.0,
    batch: bool = False,
    run_scheduler: bool = True,
    worker_id: str | None = None,
    backend_name: str = DEFAULT_TASK_BACKEND_ALIAS,
    signals: bool = True,
    parent_pid: int | None = None,
) -> None:
    """Run tasks until stopped (or, with `batch`, until the queue is empty)."""
    from django_tasks_db.management.commands.db_worker import Worker

    scheduler.autodiscover()
    worker_id = worker_id or uuid.uuid4().hex[:32]
    worker = Worker(
        queue_names=queue_names or ["*"],
        interval=interval,
        batch=batch,
        backend_name=backend_name,
        startup_delay=not batch,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    housekeeping = Housekeeping(worker_id, run_scheduler=run_scheduler, parent_pid=parent_pid)
    housekeeping.beat()
    if batch:
        housekeeping.once()
    else:
        housekeeping.start()
    if signals:
        worker.configure_signals()
    try:
        worker.run()
    finally:
        housekeeping.stop.set()
        if housekeeping.is_alive():
            housekeeping.join(timeout=10)
        else:
            scheduler.release_lease(heartbeat_name(worker_id), worker_id)
            if housekeeping.scheduler is not None:
                housekeeping.scheduler.release()
        if signals:
            worker.reset_signals()
