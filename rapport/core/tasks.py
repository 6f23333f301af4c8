"""Background tasks of the kernel, and their periodic schedule.

Tasks are thin and idempotent: each one computes what is left to do from the
database, so a retry after a crash (the reaper re-queues tasks whose worker died)
or a second scheduler tick does no harm.
"""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from rapport.core import audit, search
from rapport.core.models import IdempotencyRecord
from rapport.core.registry import registry
from rapport.core.scheduler import jobs

logger = logging.getLogger("rapport.tasks")

PURGE_BATCH = 200
IDEMPOTENCY_TTL = datetime.timedelta(hours=24)
TASK_RESULT_TTL = datetime.timedelta(days=7)


def trash_purge_expired(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Hard-delete records that have been in the trash longer than the retention period.

    Each purge leaves a `purge` audit row (the record's history outlives it) and drops
    its search entry. Works in small transactions so a huge trash never holds a long
    write lock; returns how many records of each entity went.
    """
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.RAPPORT_TRASH_RETENTION_DAYS)
    purged: dict[str, int] = {}
    for entity in registry:
        model = entity.model
        total = 0
        while True:
            with transaction.atomic():
                batch = list(
                    model.all_objects.select_for_update()
                    .trashed()
                    .filter(deleted_at__lt=cutoff)
                    .order_by("pk")[:PURGE_BATCH]
                )
                if not batch:
                    break
                ids = [obj.pk for obj in batch]
                audit.record_many(
                    audit.build(
                        audit.Action.PURGE,
                        obj=obj,
                        extra={"deleted_at": obj.deleted_at, "retention_days": cutoff_days()},
                    )
                    for obj in batch
                )
                model.all_objects.filter(pk__in=ids).delete()
                search.remove(entity.key, ids)
            total += len(ids)
        if total:
            logger.info("purged %d %s from the trash", total, entity.key)
        purged[entity.key] = total
    return purged


def cutoff_days() -> int:
    return int(settings.RAPPORT_TRASH_RETENTION_DAYS)


def idempotency_prune_expired(*, now: datetime.datetime | None = None) -> int:
    """Forget stored API responses older than 24 hours (the replay window)."""
    now = now or timezone.now()
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=now - IDEMPOTENCY_TTL).delete()
    return deleted


def task_results_prune_finished(*, now: datetime.datetime | None = None) -> int:
    """Drop finished task results of the database backend after a week."""
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    deleted, _ = (
        DBTaskResult.objects.finished().filter(finished_at__lt=now - TASK_RESULT_TTL).delete()
    )
    return deleted


@task()
def purge_trash() -> dict[str, int]:
    return trash_purge_expired()


@task()
def prune_idempotency_records() -> int:
    return idempotency_prune_expired()


@task()
def prune_task_results() -> int:
    return task_results_prune_finished()


jobs.register("purge_trash", datetime.timedelta(hours=6), purge_trash)
jobs.register("prune_idempotency_records", datetime.timedelta(hours=1), prune_idempotency_records)
jobs.register("prune_task_results", datetime.timedelta(days=1), prune_task_results)
