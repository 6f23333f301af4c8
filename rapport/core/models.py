"""The shared kernel's tables: the base every entity extends, audit, tags, saved views,
custom fields, idempotency records and the scheduler lease."""

from __future__ import annotations

import contextlib
import datetime
import decimal
import uuid
from collections.abc import Iterator

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rapport.core.querysets import AllManager, LiveManager


class TrackedModel(models.Model):
    """Base of every user-owned record: who and when, owner and team, version, trash.

    `version` grows by one on every save through a service, so a stale edit can be
    refused; `deleted_at` puts the record in the trash, where the default manager
    no longer sees it.
    """

    ENTITY_KEY: str | None = None

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("updated by"),
    )
    # No single-column index on owner or team: every record model declares list indexes
    # that lead with them (its scopes read those), and a second index on the same first
    # column is only more work on every write (decision 0041; a test holds each model to it).
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("owner"),
    )
    team = models.ForeignKey(
        "accounts.Team",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("team"),
    )
    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
    )
    # Set when this record was merged into another: it stays as a tombstone (out of the
    # trash, never purged) so its old links and API ids lead to the survivor.
    merged_into = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = LiveManager()
    all_objects = AllManager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    @classmethod
    def entity_key(cls) -> str:
        return cls.ENTITY_KEY or cls._meta.model_name

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None


class AuditEvent(models.Model):
    """One append-only row per change, login, denial, export or token use.

    Values are JSON so erasure can redact them and merge can re-point them; the
    viewer hides personal-data fields from readers without that permission.
    """

    class Action(models.TextChoices):
        CREATE = "create", _("created")
        UPDATE = "update", _("changed")
        DELETE = "delete", _("moved to trash")
        RESTORE = "restore", _("restored")
        PURGE = "purge", _("purged")
        LOGIN = "login", _("signed in")
        LOGIN_FAILED = "login_failed", _("failed sign-in")
        LOGOUT = "logout", _("signed out")
        DENIED = "denied", _("permission denied")
        ROLE_CHANGE = "role_change", _("role changed")
        TOKEN_USE = "token_use", _("API token used")
        TOKEN_CREATE = "token_create", _("API token created")
        TOKEN_REVOKE = "token_revoke", _("API token revoked")
        EXPORT = "export", _("exported")
        IMPORT = "import", _("imported")
        IMPORT_UNDO = "import_undo", _("import undone")
        MERGE = "merge", _("merged")
        MERGE_UNDO = "merge_undo", _("merge undone")
        ERASE = "erase", _("erased")
        SUBJECT_EXPORT = "subject_export", _("personal data exported")

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_constraint=False,
        db_index=False,  # audit_actor_idx (actor, -at) leads with it (decision 0041)
        verbose_name=_("actor"),
    )
    actor_label = models.CharField(_("actor"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=50, blank=True)
    object_id = models.BigIntegerField(_("object id"), null=True, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    extra = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    via = models.CharField(max_length=10, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"


class Tag(models.Model):
    """A label shared by every entity; names are unique regardless of case."""

    name = models.CharField(_("name"), max_length=60)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(Lower("name"), name="tag_name_ci_unique")]

    def __str__(self) -> str:
        return self.name


class SavedView(models.Model):
    """A named list configuration (filters, ordering, columns), private or shared."""

    entity = models.CharField(max_length=50)
    name = models.CharField(_("name"), max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shared = models.BooleanField(_("shared with everyone"), default=False)
    params = models.JSONField(default=dict)
    columns = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["entity", "user"], name="savedview_entity_user_idx")]

    def __str__(self) -> str:
        return self.name


class CustomFieldDefinition(models.Model):
    """An admin-defined field on an entity; values live in the entity's `custom_fields` JSON."""

    class Kind(models.TextChoices):
        TEXT = "text", _("text")
        NUMBER = "number", _("number")
        DATE = "date", _("date")
        CHOICE = "choice", _("choice")
        MULTI_CHOICE = "multi_choice", _("multiple choice")
        BOOLEAN = "boolean", _("yes/no")
        URL = "url", _("URL")

    entity = models.CharField(_("entity"), max_length=50)
    slug = models.SlugField(_("key"), max_length=50)
    label = models.CharField(_("label"), max_length=100)
    kind = models.CharField(_("type"), max_length=20, choices=Kind.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["entity", "position", "id"]
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "slug"], name="customfield_entity_slug_unique"
            )
        ]

    def __str__(self) -> str:
        return self.label


class IdempotencyRecord(models.Model):
    """A stored API response for a POST carrying an Idempotency-Key (kept 24 hours)."""

    scope = models.CharField(max_length=64)  # token id or user id
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=300)
    key = models.CharField(max_length=255)
    body_hash = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(null=True)
    response = models.BinaryField(null=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "method", "path", "key"], name="idempotency_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.key}"


class SchedulerLease(models.Model):
    """Only the holder of a live lease runs the periodic scheduler."""

    name = models.CharField(max_length=50, primary_key=True)
    holder = models.CharField(max_length=100)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder}"


class PeriodicRun(models.Model):
    """When each periodic job last ran, so a restart does not run them all again."""

    name = models.CharField(max_length=100, primary_key=True)
    last_run_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name


_TEXT = (str, type(None))
_INTEGER = (int, type(None))
# Values that cannot change in place: one equal to the value read is the value read.
_IMMUTABLE = frozenset(
    {
        str,
        int,
        bool,
        float,
        type(None),
        decimal.Decimal,
        datetime.date,
        datetime.datetime,
        datetime.time,
        datetime.timedelta,
        uuid.UUID,
        bytes,
    }
)
_CHANGED = object()  # stands in `state()` for a value that may change in place (always written)
# Values each kind of column sends to the driver unchanged (what `get_db_prep_save` would
# return for them on every engine).
PLAIN_TYPES = {
    "CharField": _TEXT,
    "TextField": _TEXT,
    "EmailField": _TEXT,
    "SlugField": _TEXT,
    "IntegerField": _INTEGER,
    "BigIntegerField": _INTEGER,
    "SmallIntegerField": _INTEGER,
    "PositiveIntegerField": _INTEGER,
    "PositiveSmallIntegerField": _INTEGER,
    "PositiveBigIntegerField": _INTEGER,
    "ForeignKey": _INTEGER,
    "BooleanField": (bool, type(None)),
}


class RowStatements:
    """The single-row statements of one model (read by id, insert, update), as SQL text
    built once per model and database connection, with values prepared as the ORM prepares them
    (`pre_save`, `get_db_prep_save`) and read back through the ORM's own converters.

    A service that writes one record at a time (an API create or update) spent most of its
    time compiling the same few statements again for every request; these run the same
    SQL with the same values and leave the instance in the state `save()` would (primary
    key set, `_state.adding` False). Validation stays the caller's (`full_clean`), as with
    `save()`; no model signals are sent, and Rapport has no receivers for them (business
    writes happen in services, never in signals).
    """

    def __init__(self, model, connection) -> None:
        self.model = model
        self.connection = connection
        meta = model._meta
        self.pk = meta.pk
        self.fields = [f for f in meta.concrete_fields if not f.primary_key]
        self.plain = [
            PLAIN_TYPES.get(f.get_internal_type(), ())
            if type(f).pre_save is models.Field.pre_save
            else ()
            for f in self.fields
        ]
        quote = connection.ops.quote_name
        table = quote(meta.db_table)
        columns = ", ".join(quote(f.column) for f in self.fields)
        self.values_sql = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
        # Identifiers come from model metadata; every value is a query parameter.
        self.insert_sql = f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608  # nosec B608
        self.returning = (
            f" RETURNING {quote(self.pk.column)}"
            if connection.features.can_return_rows_from_bulk_insert
            else ""
        )
        self.table = table
        self.update_sql = self._update_sql(tuple(range(len(self.fields))))
        self.updates: dict[tuple[int, ...], str] = {}
        self.read_sql: dict[tuple[bool, bool], str] = {}
        self.converters: dict = {}
        self.attnames: list[str] = []

    def _read_sql(self, for_update: bool, live: bool) -> str:
        """The ORM's own SELECT of every column by id (FOR UPDATE where the database has
        it; `live`: not in the trash), compiled once; its converters turn driver values
        into field values."""
        sql = self.read_sql.get((for_update, live))
        if sql is None:
            queryset = self.model._base_manager.filter(pk=0)
            if live:
                queryset = queryset.filter(deleted_at__isnull=True)
            if for_update:
                queryset = queryset.select_for_update()
            compiler = queryset.query.get_compiler(connection=self.connection)
            sql, params = compiler.as_sql()
            if list(params) != [0]:
                raise RuntimeError("unexpected parameters in a row read")
            columns = [col for col, *_rest in compiler.select]
            self.converters = compiler.get_converters(columns)
            self.attnames = [col.target.attname for col in columns]
            self.read_sql[for_update, live] = sql
        return sql

    @classmethod
    def of(cls, model, using: str = "default") -> RowStatements:
        """The statements of `model` on this thread's connection to `using` (kept on the
        connection wrapper, which Django keeps per thread: no sharing between threads)."""
        from django.db import connections

        connection = connections[using]
        cache = connection.__dict__.setdefault("_rapport_row_statements", {})
        statements = cache.get(model)
        if statements is None:
            statements = cache[model] = cls(model, connection)
        return statements

    def _values(self, obj, add: bool, saved: list | None = None) -> list:
        """The driver's values of every column; `saved`, when given, receives the
        values `pre_save` gave (what the instance holds once saved)."""
        connection = self.connection
        values = []
        for field, plain in zip(self.fields, self.plain, strict=True):
            if plain:  # `pre_save` is the attribute; text, ints, bools go to the driver as is
                value = getattr(obj, field.attname)
                if saved is not None:
                    saved.append(value)
                if type(value) in plain:
                    values.append(value)
                    continue
            else:
                value = field.pre_save(obj, add)
                if saved is not None:
                    saved.append(value)
            values.append(field.get_db_prep_save(value, connection))
        return values

    def insert(self, objs: list, *, returning: bool = True) -> None:
        """INSERT unsaved instances in one statement; their primary keys are set (in the
        order of the VALUES rows, as Django's `bulk_create` reads them)."""
        if not objs:
            return
        params: list = []
        for obj in objs:
            params += self._values(obj, True)
        sql = self.insert_sql + ", ".join([self.values_sql] * len(objs))
        with self.connection.cursor() as cursor:
            if returning and self.returning:
                cursor.execute(sql + self.returning, params)
                ids = [row[0] for row in cursor.fetchall()]
                if len(ids) != len(objs):
                    raise RuntimeError("the insert returned a different number of ids")
                for obj, pk in zip(objs, ids, strict=True):
                    setattr(obj, self.pk.attname, pk)
            elif returning:  # an engine without RETURNING: one row per statement
                for obj in objs:
                    cursor.execute(self.insert_sql + self.values_sql, self._values(obj, True))
                    pk = self.connection.ops.last_insert_id(
                        cursor, self.model._meta.db_table, self.pk.column
                    )
                    setattr(obj, self.pk.attname, pk)
            else:
                cursor.execute(sql, params)
        if returning:  # an instance without its id is not one `save()` would leave behind
            for obj in objs:
                obj._state.adding = False
                obj._state.db = self.connection.alias

    def _update_sql(self, positions: tuple[int, ...]) -> str:
        quote = self.connection.ops.quote_name
        sets = ", ".join(f"{quote(self.fields[i].column)} = %s" for i in positions)
        # Identifiers come from model metadata; every value is a query parameter.
        return f"UPDATE {self.table} SET {sets} WHERE {quote(self.pk.column)} = %s"  # noqa: S608  # nosec B608

    def state(self, obj) -> list:
        """The column values of `obj` as it stands (read under a lock), for
        `update(obj, since=...)`; a value that can change in place (a dict, a list, a
        file) is not kept, and is always written."""
        values = []
        for field in self.fields:
            value = getattr(obj, field.attname)
            values.append(value if type(value) in _IMMUTABLE else _CHANGED)
        return values

    def update(self, obj, *, since: list | None = None) -> None:
        """UPDATE a saved instance. Without `since`, every column (what `save()`
        writes); with it (`state(obj)` taken when the row was read under a lock), only
        the columns whose value differs, so that the indexes of unchanged columns are
        left alone: SQLite rewrites the entry of every index whose column an UPDATE
        sets, equal or not. The row count is checked when known: inside
        `batched_statements` it is not yet (the callers lock the row first)."""
        saved: list | None = None if since is None else []
        params = self._values(obj, False, saved)
        sql = self.update_sql
        if since is not None:
            positions = tuple(
                i
                for i, (new, old) in enumerate(zip(saved, since, strict=True))
                if old is _CHANGED or not _same(new, old)
            )
            if not positions:
                return
            sql = self.updates.get(positions)
            if sql is None:
                if len(self.updates) >= 256:  # kinds of change a model sees: few
                    self.updates.clear()
                sql = self.updates[positions] = self._update_sql(positions)
            params = [params[i] for i in positions]
        params.append(self.pk.get_db_prep_value(obj.pk, self.connection))
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            if cursor.rowcount not in (1, -1):
                raise self.model.DoesNotExist(f"no row {obj.pk} to update")

    def read(self, pk: int, *, for_update: bool = False, live: bool = False):
        """The instance with this id (None when absent; `live`: not in the trash),
        locked for the transaction when `for_update` and the database locks rows."""
        connection = self.connection
        with connection.cursor() as cursor:
            cursor.execute(self._read_sql(for_update, live), [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for position, (converters, expression) in self.converters.items():
            value = values[position]
            for converter in converters:
                value = converter(value, expression, connection)
            values[position] = value
        return self.model.from_db(connection.alias, self.attnames, values)


def _same(value, old) -> bool:
    """Whether `value` is the value read (`old`): of the same type and equal."""
    return type(value) is type(old) and value == old


@contextlib.contextmanager
def batched_statements(using: str = "default") -> Iterator[None]:
    """Statements whose answers nobody reads inside the block travel together.

    On PostgreSQL the block runs in psycopg's pipeline mode: one round trip for the
    block, not one per statement. A statement whose result is read still works (it waits
    for the answers so far). Errors surface when the block ends, as Django's database
    errors, and the surrounding transaction rolls back as usual. On SQLite, which has no
    round trips, the block changes nothing.
    """
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    if not hasattr(raw, "pipeline"):  # psycopg 2
        yield
        return
    with connection.wrap_database_errors, raw.pipeline():
        yield
