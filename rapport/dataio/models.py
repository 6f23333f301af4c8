"""Imports with their per-row report, mapping templates, exports, duplicate clusters,
merges (with what they moved, for undo) and the erasure suppression list."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One uploaded file on its way into the CRM: configuration, progress and counts.

    The per-row outcome lives in `ImportRow`; the counts here are kept in step with it
    batch by batch, so created + updated + skipped + rejected = processed rows.
    """

    class Status(models.TextChoices):
        DRAFT = "draft", _("being set up")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")
        UNDONE = "undone", _("undone")

    class Strategy(models.TextChoices):
        SKIP = "skip", _("skip the row")
        UPDATE = "update", _("update the existing record")
        CREATE = "create", _("create anyway")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(_("record type"), max_length=50)
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=300)
    filename = models.CharField(_("file"), max_length=255)
    size = models.BigIntegerField(default=0)
    format = models.CharField(max_length=10)  # csv | xlsx | vcard
    encoding = models.CharField(_("encoding"), max_length=40, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=4, blank=True)
    sheet = models.CharField(_("sheet"), max_length=100, blank=True)
    source = models.CharField(max_length=20, blank=True)  # google | outlook | linkedin | …
    headers = models.JSONField(default=list, blank=True)
    mapping = models.JSONField(default=list, blank=True)
    strategy = models.CharField(
        _("when a record already exists"),
        max_length=10,
        choices=Strategy.choices,
        default=Strategy.SKIP,
    )
    match_on = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    total_rows = models.PositiveIntegerField(null=True, blank=True)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    undo_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        indexes = [models.Index(fields=["user", "-created_at"], name="importjob_user_idx")]

    def __str__(self) -> str:
        return self.filename


class ImportRow(models.Model):
    """What happened to one row of an import, with its original values.

    `before` holds the record as it was when the import updated it and
    `version_after` its version right after, so undo can restore it unless someone
    edited it since.
    """

    class Outcome(models.TextChoices):
        CREATED = "created", _("created")
        UPDATED = "updated", _("updated")
        SKIPPED = "skipped", _("skipped")
        REJECTED = "rejected", _("rejected")

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField()  # data row number in the file, from 1
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    values = models.JSONField(default=list, blank=True)
    object_id = models.BigIntegerField(null=True, blank=True)
    before = models.JSONField(null=True, blank=True)
    version_after = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["job", "number"]
        constraints = [
            models.UniqueConstraint(fields=["job", "number"], name="importrow_job_number_unique")
        ]
        indexes = [models.Index(fields=["job", "outcome", "number"], name="importrow_outcome_idx")]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.number} {self.outcome}"


class MappingTemplate(models.Model):
    """A saved column mapping, reused for files with the same headers."""

    entity = models.CharField(max_length=50)
    name = models.CharField(_("name"), max_length=100)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    shared = models.BooleanField(_("shared with everyone"), default=False)
    mapping = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "user", "name"], name="mappingtemplate_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


class ExternalKey(models.Model):
    """An id a record has in another system (a spreadsheet's "ID" column), for matching."""

    entity = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    key = models.CharField(max_length=200)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        indexes = [
            models.Index(fields=["entity", "key"], name="externalkey_key_idx"),
            models.Index(fields=["entity", "object_id"], name="externalkey_object_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entity}:{self.key}"


class ExportJob(models.Model):
    """A large export running as a task; the file is offered for download when ready."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("ready")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=50)
    format = models.CharField(max_length=10)  # csv | xlsx | vcard | json
    params = models.JSONField(default=dict, blank=True)
    columns = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    file = models.FileField(upload_to="exports/%Y/%m/", max_length=300, blank=True)
    filename = models.CharField(max_length=255, blank=True)
    row_count = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="exportjob_user_idx")]

    def __str__(self) -> str:
        return self.filename or f"export {self.pk}"


class DuplicateScan(models.Model):
    """One run of the background duplicate scan over an entity."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    entity = models.CharField(max_length=50)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    records = models.PositiveIntegerField(default=0)
    comparisons = models.PositiveBigIntegerField(default=0)
    pairs = models.PositiveIntegerField(default=0)
    clusters = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.entity} scan {self.pk}"


class DuplicateCluster(models.Model):
    """Records the latest scan believes are one and the same, best score first."""

    scan = models.ForeignKey(DuplicateScan, on_delete=models.CASCADE, related_name="+")
    entity = models.CharField(max_length=50)
    score = models.FloatField()
    member_ids = models.JSONField(default=list)
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["-score", "id"]
        indexes = [models.Index(fields=["entity", "-score", "id"], name="dupcluster_score_idx")]

    def __str__(self) -> str:
        return f"{self.entity} {self.member_ids} {self.score:.2f}"


class DuplicatePair(models.Model):
    """Two records of a cluster with their score and the reasons ("same phone" …)."""

    cluster = models.ForeignKey(DuplicateCluster, on_delete=models.CASCADE, related_name="pairs")
    entity = models.CharField(max_length=50)
    left_id = models.BigIntegerField()  # always the smaller id
    right_id = models.BigIntegerField()
    score = models.FloatField()
    reasons = models.JSONField(default=list)

    class Meta:
        ordering = ["-score", "id"]
        indexes = [
            models.Index(fields=["entity", "left_id"], name="duppair_left_idx"),
            models.Index(fields=["entity", "right_id"], name="duppair_right_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.left_id}~{self.right_id}"


class DuplicateDismissal(models.Model):
    """A pair someone marked "not duplicates": never proposed again."""

    entity = models.CharField(max_length=50)
    left_id = models.BigIntegerField()  # always the smaller id
    right_id = models.BigIntegerField()
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "left_id", "right_id"], name="dupdismissal_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.left_id}≠{self.right_id}"


class Merge(models.Model):
    """One merge of `merged_id` into `survivor_id`, with everything needed to undo it.

    `moved` lists, per relation, the ids of the rows re-pointed to the survivor;
    `survivor_before` is the survivor's snapshot before the chosen values were applied.
    """

    entity = models.CharField(max_length=50)
    survivor_id = models.BigIntegerField()
    merged_id = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    choices = models.JSONField(default=dict, blank=True)
    survivor_before = models.JSONField(default=dict, blank=True)
    merged_before = models.JSONField(default=dict, blank=True)
    moved = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["entity", "merged_id"], name="merge_merged_idx"),
            models.Index(fields=["entity", "survivor_id"], name="merge_survivor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.merged_id}→{self.survivor_id}"


class Suppression(models.Model):
    """A hashed email or phone of an erased person: imports and web forms that would
    re-create them are refused and reported instead."""

    class Kind(models.TextChoices):
        EMAIL = "email", _("email")
        PHONE = "phone", _("phone")

    kind = models.CharField(max_length=10, choices=Kind.choices)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "digest"], name="suppression_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.digest[:12]}"
