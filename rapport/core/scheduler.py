"""A small periodic scheduler: one at a time, through a lease held in the database.

Apps register jobs (name, interval, task) in their `tasks` module; every worker runs
a `Scheduler`, but only the holder of the live lease enqueues anything, so N workers
never run a job N times. Last-run times are rows (`PeriodicRun`), so a restart does
not re-run everything; tasks are enqueued with `transaction.on_commit`, so a job is
queued exactly when its last-run row is written.

The same lease table carries worker heartbeats (`worker:<id>`), which is how the
reaper tells a dead worker's RUNNING task from a long one.
"""

from __future__ import annotations

import datetime
import importlib
import logging
import threading
import uuid
from dataclasses import dataclass

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from rapport.core.models import PeriodicRun, SchedulerLease

logger = logging.getLogger("rapport.scheduler")

LEASE_NAME = "scheduler"
LEASE_TTL = datetime.timedelta(seconds=60)
TICK_SECONDS = 10.0


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval: datetime.timedelta
    task: object  # a django.tasks Task


class JobRegistry:
    """Periodic jobs by name; registering the same name again replaces it (reloads)."""

    def __init__(self) -> None:
        self._jobs: dict[str, PeriodicJob] = {}

    def register(self, name: str, interval: datetime.timedelta, task) -> PeriodicJob:
        job = PeriodicJob(name, interval, task)
        self._jobs[name] = job
        return job

    def unregister(self, name: str) -> None:
        self._jobs.pop(name, None)

    def get(self, name: str) -> PeriodicJob | None:
        return self._jobs.get(name)

    def __iter__(self):
        return iter(list(self._jobs.values()))


jobs = JobRegistry()


def autodiscover() -> None:
    """Import every installed app's `tasks` module so their jobs register."""
    for config in apps.get_app_configs():
        if config.name.startswith("rapport."):
            try:
                importlib.import_module(f"{config.name}.tasks")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.tasks":
                    raise


def acquire_lease(name: str, holder: str, ttl: datetime.timedelta, *, now=None) -> bool:
    """Take or renew a lease; True when `holder` has it until now + ttl.

    The conditional UPDATE is atomic on both engines (a concurrent taker re-checks the
    condition after the row lock), and a missing row is created under its primary key,
    so exactly one of two racing holders wins.
    """
    now = now or timezone.now()
    expires = now + ttl
    taken = (
        SchedulerLease.objects.filter(name=name)
        .filter(Q(holder=holder) | Q(expires_at__lte=now))
        .update(holder=holder, expires_at=expires)
    )
    if taken:
        return True
    try:
        with transaction.atomic():
            SchedulerLease.objects.create(name=name, holder=holder, expires_at=expires)
    except IntegrityError:
        return False
    return True


def release_lease(name: str, holder: str) -> None:
    SchedulerLease.objects.filter(name=name, holder=holder).delete()


def lease_alive(name: str, *, now=None) -> bool | None:
    """True/False for a live/expired lease; None when there is no such lease at all."""
    lease = SchedulerLease.objects.filter(name=name).first()
    if lease is None:
        return None
    return lease.expires_at > (now or timezone.now())


class Scheduler:
    """Enqueues due periodic jobs while holding the scheduler lease."""

    def __init__(
        self,
        holder: str | None = None,
        *,
        registry: JobRegistry | None = None,
        ttl: datetime.timedelta = LEASE_TTL,
    ):
        self.holder = holder or f"scheduler-{uuid.uuid4().hex[:12]}"
        self.registry = registry or jobs
        self.ttl = ttl

    def tick(self, *, now=None) -> list[str]:
        """One pass: renew the lease, enqueue what is due; returns the jobs enqueued
        (empty when another scheduler holds the lease)."""
        now = now or timezone.now()
        if not acquire_lease(LEASE_NAME, self.holder, self.ttl, now=now):
            return []
        enqueued: list[str] = []
        for job in self.registry:
            with transaction.atomic():
                run = PeriodicRun.objects.select_for_update().filter(name=job.name).first()
                if run is not None and run.last_run_at + job.interval > now:
                    continue
                PeriodicRun.objects.update_or_create(name=job.name, defaults={"last_run_at": now})
                transaction.on_commit(job.task.enqueue)
            enqueued.append(job.name)
            logger.info("enqueued periodic job %s", job.name)
        return enqueued

    def release(self) -> None:
        release_lease(LEASE_NAME, self.holder)

    def run(self, stop: threading.Event, *, interval: float = TICK_SECONDS) -> None:
        """Tick until `stop` is set; errors are logged and the loop goes on."""
        from django.db import close_old_connections

        try:
            while not stop.is_set():
                close_old_connections()
                try:
                    self.tick()
                except Exception:
                    logger.exception("scheduler tick failed")
                stop.wait(interval)
        finally:
            try:
                self.release()
            finally:
                close_old_connections()
