"""Periodic tasks, the scheduler lease, the reaper and the worker loop."""

import datetime
import uuid

import pytest
from django.core.management import call_command
from django.tasks import TaskResultStatus
from django.test import override_settings
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from rapport.contacts.models import Person
from rapport.core import scheduler, search, tasks, worker
from rapport.core import services as core_services
from rapport.core.models import AuditEvent, IdempotencyRecord, PeriodicRun, SchedulerLease
from rapport.core.searchbackends.base import Row
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db

DB_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_purge_removes_only_old_trash_and_audits_each(alice, settings):
    settings.RAPPORT_TRASH_RETENTION_DAYS = 30
    old, recent, live = (PersonFactory(actor=alice) for _ in range(3))
    for person in (old, recent):
        core_services.trash(actor=alice, obj=person)
    Person.all_objects.filter(pk=old.pk).update(
        deleted_at=timezone.now() - datetime.timedelta(days=31)
    )
    search.remove("person", [old.pk, recent.pk, live.pk])  # only the stale entry below
    search.backend().upsert([Row("person", old.pk, "Old", "", "old", "old", "old stale")])

    result = tasks.purge_trash.call()

    assert result["person"] == 1
    assert not Person.all_objects.filter(pk=old.pk).exists()
    assert Person.all_objects.filter(pk=recent.pk).exists()
    assert Person.objects.filter(pk=live.pk).exists()
    purge = AuditEvent.objects.get(action="purge")
    assert (purge.object_type, purge.object_id) == ("person", old.pk)
    assert search.backend().counts().get("person", 0) == 0
    assert tasks.purge_trash.call()["person"] == 0  # idempotent
    assert AuditEvent.objects.filter(action="purge").count() == 1


def test_prune_idempotency_keeps_a_day(alice):
    now = timezone.now()
    fresh = IdempotencyRecord.objects.create(
        scope="1", method="POST", path="/api/v1/people", key="a", body_hash="x"
    )
    stale = IdempotencyRecord.objects.create(
        scope="1",
        method="POST",
        path="/api/v1/people",
        key="b",
        body_hash="x",
        created_at=now - datetime.timedelta(hours=25),
    )
    assert tasks.prune_idempotency_records.call() == 1
    assert IdempotencyRecord.objects.filter(pk=fresh.pk).exists()
    assert not IdempotencyRecord.objects.filter(pk=stale.pk).exists()
    assert tasks.prune_idempotency_records.call() == 0


def test_two_schedulers_only_the_lease_holder_enqueues(django_capture_on_commit_callbacks):
    registry = scheduler.JobRegistry()
    registry.register("prune", datetime.timedelta(hours=1), tasks.prune_idempotency_records)
    first = scheduler.Scheduler("one", registry=registry)
    second = scheduler.Scheduler("two", registry=registry)
    now = timezone.now()

    with django_capture_on_commit_callbacks() as queued:
        assert first.tick(now=now) == ["prune"]
        assert second.tick(now=now) == []
    assert len(queued) == 1
    assert SchedulerLease.objects.get(name="scheduler").holder == "one"
    assert PeriodicRun.objects.get(name="prune").last_run_at == now

    # The holder ticks again: nothing is due yet.
    assert first.tick(now=now + datetime.timedelta(minutes=30)) == []
    # The holder dies; after the lease expires the other one takes over.
    later = now + datetime.timedelta(hours=2)
    assert second.tick(now=later) == ["prune"]
    assert SchedulerLease.objects.get(name="scheduler").holder == "two"
    assert first.tick(now=later) == []


def test_default_jobs_are_registered():
    scheduler.autodiscover()
    names = {job.name for job in scheduler.jobs}
    assert {"purge_trash", "prune_idempotency_records"} <= names


def _running(worker_id, *, started, attempts=1):
    return DBTaskResult.objects.create(
        status=TaskResultStatus.RUNNING,
        args_kwargs={"args": [], "kwargs": {}},
        task_path="rapport.core.tasks.prune_idempotency_records",
        backend_name="default",
        run_after=get_date_max(),
        started_at=started,
        worker_ids=[f"w{n}" for n in range(attempts - 1)] + [worker_id],
        exception_class_path="",
        traceback="",
    )


def test_reaper_requeues_tasks_of_dead_workers_with_backoff(settings):
    settings.RAPPORT_TASK_MAX_ATTEMPTS = 3
    now = timezone.now()
    expired = now - datetime.timedelta(minutes=5)
    SchedulerLease.objects.create(name="worker:dead", holder="dead", expires_at=expired)
    SchedulerLease.objects.create(
        name="worker:alive", holder="alive", expires_at=now + datetime.timedelta(minutes=1)
    )
    lost = _running("dead", started=now - datetime.timedelta(minutes=10), attempts=2)
    busy = _running("alive", started=now - datetime.timedelta(hours=5))
    hopeless = _running("dead", started=now - datetime.timedelta(minutes=10), attempts=3)
    unknown_recent = _running("plain", started=now - datetime.timedelta(minutes=1))

    counts = worker.reap_lost_tasks(now=now)

    assert counts == {"retried": 1, "failed": 1}
    lost.refresh_from_db()
    assert lost.status == TaskResultStatus.READY
    assert lost.run_after == now + worker.backoff(2)
    assert worker.backoff(2) > worker.backoff(1)
    busy.refresh_from_db()
    assert busy.status == TaskResultStatus.RUNNING
    hopeless.refresh_from_db()
    assert hopeless.status == TaskResultStatus.FAILED
    assert hopeless.exception_class_path.endswith("WorkerLost")
    unknown_recent.refresh_from_db()
    assert unknown_recent.status == TaskResultStatus.RUNNING
    # A worker without a heartbeat counts as lost after the hard timeout.
    worker.reap_lost_tasks(now=now + datetime.timedelta(hours=2))
    unknown_recent.refresh_from_db()
    assert unknown_recent.status == TaskResultStatus.READY


@pytest.mark.django_db(transaction=True)
def test_worker_runs_queued_tasks_and_the_reaped_ones():
    with override_settings(TASKS=DB_TASKS):
        IdempotencyRecord.objects.create(
            scope="1",
            method="POST",
            path="/x",
            key="old",
            body_hash="x",
            created_at=timezone.now() - datetime.timedelta(days=2),
        )
        queued = tasks.prune_idempotency_records.enqueue()
        dead = f"dead{uuid.uuid4().hex[:8]}"
        SchedulerLease.objects.create(
            name=f"worker:{dead}",
            holder=dead,
            expires_at=timezone.now() - datetime.timedelta(minutes=5),
        )
        orphan = _running(dead, started=timezone.now() - datetime.timedelta(minutes=10))
        DBTaskResult.objects.filter(pk=orphan.pk).update(backend_name="default")

        call_command("worker", "--batch", "--no-scheduler", verbosity=0)

        result = DBTaskResult.objects.get(pk=queued.id)
        assert result.status == TaskResultStatus.SUCCESSFUL
        assert result.return_value == 1
        orphan.refresh_from_db()
        assert orphan.status == TaskResultStatus.READY  # requeued, waiting for its backoff
        # The worker released its own heartbeat when it stopped.
        assert not SchedulerLease.objects.filter(name__startswith="worker:").exclude(holder=dead)
