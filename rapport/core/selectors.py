"""Reads the app shell makes on the user's behalf: capped counts, recent records, search."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from typing import Any

from django.db import connections, router
from django.urls import NoReverseMatch

from rapport.core import permissions
from rapport.core.navigation import url_or_none
from rapport.core.registry import Entity, registry

COUNT_CAP = 1000


@dataclass
class CappedCount:
    """A count that stops at `cap`: "1,000+" instead of counting millions of rows, or
    "about 214,000" where the database's planner can estimate the rest."""

    value: int
    capped: bool
    estimate: int | None = None


def capped_count(qs, cap: int = COUNT_CAP, *, estimate: bool = False) -> CappedCount:
    """Exact up to `cap`; beyond it, with `estimate`, the planner's row estimate (never a
    full COUNT(*) over millions of rows on a page view)."""
    n = qs.order_by()[: cap + 1].count()
    guess = planner_estimate(qs, floor=cap + 1) if n > cap and estimate else None
    return CappedCount(min(n, cap), n > cap, guess)


def planner_estimate(qs, *, floor: int = 0) -> int | None:
    """PostgreSQL's estimate of the rows `qs` returns (EXPLAIN plans without running the
    query); None on engines without one (SQLite keeps no row estimates per filter)."""
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return None
    sql, params = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}", params)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    rows = int(plan[0]["Plan"]["Plan Rows"])
    return max(rows, floor)


def visible_entities(user, action: str = "view") -> list[type[Entity]]:
    return [e for e in registry if permissions.can(user, e.key, action)]


def entity_summaries(user, *, recent: int = 5) -> list[dict[str, Any]]:
    """Per entity the user may view: a capped count and the most recently updated rows."""
    result = []
    for entity in visible_entities(user):
        qs = entity.model.objects.restrict(user, "view")
        rows = list(entity.list_queryset(qs).order_by("-updated_at", "-id")[:recent])
        result.append(
            {
                "entity": entity,
                "count": capped_count(qs),
                "recent": [(row, _url(entity, row)) for row in rows],
                "list_url": url_or_none(f"{entity.url_base}:list"),
                "create_url": (
                    url_or_none(f"{entity.url_base}:create")
                    if permissions.can(user, entity.key, "add")
                    else None
                ),
            }
        )
    return result


def _url(entity, obj) -> str | None:
    try:
        return entity.get_absolute_url(obj)
    except NoReverseMatch:
        return None


@dataclass
class Hit:
    entity: str
    id: int
    title: str
    subtitle: str
    url: str


def search_hits(user, text: str, *, limit: int = 20) -> list[Any]:
    """Global search, scoped to what the user may view (core.search when it is ready)."""
    from rapport.core import search

    text = (text or "").strip()
    if not text:
        return []
    engine = getattr(search, "search", None)
    if engine is not None:
        return list(engine(user, text, limit=limit))
    hits: list[Hit] = []
    for entity in visible_entities(user):
        qs = search.filter_queryset(entity.model.objects.restrict(user, "view"), text, user)
        for obj in entity.list_queryset(qs).order_by("sort_key", "id")[:limit]:
            doc = entity.search_document(obj)
            hits.append(Hit(entity.key, obj.pk, doc["title"], doc["subtitle"], _url(entity, obj)))
    return hits[:limit]


def group_hits(hits) -> list[tuple[type[Entity] | None, list]]:
    """Hits grouped by entity, in registry order."""
    groups: dict[str, list] = {}
    for hit in hits:
        key = getattr(hit.entity, "key", hit.entity)
        groups.setdefault(key, []).append(hit)
    return [(registry.get(key), items) for key, items in groups.items()]


def trash_sections(user, *, limit: int = 100) -> list[dict[str, Any]]:
    """Per entity, the newest trashed records the user may delete (and so restore)."""
    sections = []
    for entity in visible_entities(user, "delete"):
        qs = entity.model.all_objects.trashed().restrict(user, "delete")
        rows = list(qs.select_related("deleted_by").order_by("-deleted_at", "-id")[:limit])
        if url_or_none(f"{entity.url_base}:list") is None:
            continue
        sections.append(
            {
                "entity": entity,
                "rows": [(row, url_or_none(f"{entity.url_base}:restore", row.pk)) for row in rows],
                "count": capped_count(qs),
            }
        )
    return sections


def assign_choices():
    """Users and teams a bulk "assign" may pick (the service re-checks every row)."""
    from rapport.accounts.models import Team, User

    users = list(User.objects.filter(is_active=True).order_by("username")[:500])
    return users, list(Team.objects.order_by("name"))


# --- a record's timeline ------------------------------------------------------------------

_EVENT_FIELDS = [
    "id",
    "at",
    "actor_id",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "changes",
]


class HistoryActor:
    """Who made a change, as the timeline shows them: the columns `str(user)` reads,
    named by the user model's own methods."""

    __slots__ = ("first_name", "last_name", "pk", "username")

    def __init__(self, pk: int, username: str, first_name: str, last_name: str) -> None:
        self.pk, self.username = pk, username
        self.first_name, self.last_name = first_name, last_name

    def get_full_name(self) -> str:
        from rapport.accounts.models import User

        return User.get_full_name(self)

    def __str__(self) -> str:
        from rapport.accounts.models import User

        return User.__str__(self)


class HistoryEvent:
    """One audit row as a record's timeline reads it: the columns it shows, the changes
    this reader may see (`visible`) and the actor. Not a model instance: fifty of those
    cost more to build than the page's query."""

    __slots__ = (
        "actor",
        "actor_id",
        "actor_label",
        "action",
        "at",
        "changes",
        "object_id",
        "object_type",
        "pk",
        "visible",
    )

    def __init__(self, row, actor: HistoryActor | None, hidden: frozenset[str]) -> None:
        from rapport.core import audit, rawvalues

        pk, at, actor_id, actor_label, action, object_type, object_id, changes = row[:8]
        if at is not None and not isinstance(at, datetime.datetime):
            at = datetime.datetime.fromisoformat(str(at))
        if at is not None and at.tzinfo is None:
            at = at.replace(tzinfo=datetime.UTC)
        self.pk, self.at, self.action = pk, at, action
        self.actor_id, self.actor_label, self.actor = actor_id, actor_label, actor
        self.object_type, self.object_id = object_type, object_id
        self.changes = rawvalues.json_column(changes)
        self.visible = audit.visible_changes(self, None, hidden)

    @property
    def id(self) -> int:
        return self.pk


def record_history(obj, user, *, limit: int = 50) -> list[HistoryEvent]:
    """The newest audit rows of one record for its page, each with the changes `user` may
    see (`visible`) and its actor's name: what `audit.history` gives, in one fixed-shape
    statement (decision 0034) holding only the columns the timeline shows."""
    from rapport.accounts.models import User
    from rapport.core import audit
    from rapport.core.models import AuditEvent

    db = router.db_for_read(AuditEvent)
    connection = connections[db]
    quote = connection.ops.quote_name
    columns = ", ".join(f"e.{quote(AuditEvent._meta.get_field(n).column)}" for n in _EVENT_FIELDS)
    sql = (
        f"SELECT {columns}, u.username, u.first_name, u.last_name "  # noqa: S608  # nosec B608 # identifiers from the models, values as parameters
        f"FROM {quote(AuditEvent._meta.db_table)} e "
        f"LEFT JOIN {quote(User._meta.db_table)} u ON u.id = e.actor_id "
        "WHERE e.object_type = %s AND e.object_id = %s ORDER BY e.at DESC, e.id DESC LIMIT %s"
    )
    entity = obj.entity_key()
    with connection.cursor() as cursor:
        cursor.execute(sql, [entity, obj.pk, limit])
        rows = cursor.fetchall()
    hidden = audit.hidden_fields(entity, user)  # once for all the rows: they are one kind
    actors: dict[int, HistoryActor] = {}
    events = []
    for row in rows:
        actor_id, actor = row[2], None
        if actor_id is not None and row[8] is not None:
            actor = actors.get(actor_id)
            if actor is None:
                actor = actors[actor_id] = HistoryActor(actor_id, *row[8:11])
        events.append(HistoryEvent(row, actor, hidden))
    return events
