"""Querysets and managers every Rapport entity uses."""

from __future__ import annotations

from django.db import models

from rapport.core import permissions


class RestrictQuerySet(models.QuerySet):
    """Adds `restrict(user, action)`: the only way a user-facing read reaches rows."""

    def restrict(self, user, action: str = "view"):
        q = permissions.scope_q(user, self.model.entity_key(), action)
        if q is None:
            return self.none()
        return self.filter(q)

    def live(self):
        return self.filter(deleted_at__isnull=True)

    def trashed(self):
        """Records in the trash (merge tombstones are not: they cannot be restored)."""
        return self.filter(deleted_at__isnull=False, merged_into__isnull=True)


class LiveManager(models.Manager.from_queryset(RestrictQuerySet)):
    """The default manager: trashed records do not exist for ordinary reads."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class AllManager(models.Manager.from_queryset(RestrictQuerySet)):
    """Includes the trash; used by the trash page, restore and purge."""
