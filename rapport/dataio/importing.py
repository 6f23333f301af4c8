"""Imports: upload, configure, preview and start (the wizard's steps), the background
task, the per-row report and saved mapping templates.

Every write is a `@service`; the run itself (`import_run`, in `import_runner`) and the
undo (`import_undo`) live in their own modules and are re-exported here, so callers
import one module. Only the job's user configures, previews, starts and undoes it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.tasks import task
from django.utils.translation import gettext as _

from rapport.core import permissions
from rapport.core.services import deny, require_add, service
from rapport.dataio import mapping as mapping_mod
from rapport.dataio import readers
from rapport.dataio.cells import neutralize
from rapport.dataio.models import ImportJob, ImportRow, MappingTemplate

__all__ = [
    "Preview",
    "PreviewRow",
    "import_configure",
    "import_preview",
    "import_run",
    "import_start",
    "import_undo",
    "import_upload",
    "imports_for",
    "mapping_template_save",
    "mapping_templates",
    "run_import",
    "write_report_csv",
]

DEFAULT_MATCH_ON = {"person": ["email", "external_id"], "company": ["name_company", "external_id"]}


@dataclass
class PreviewRow:
    number: int
    cells: list[str]
    errors: dict[int, str] = field(default_factory=dict)


@dataclass
class Preview:
    headers: list[str]
    rows: list[PreviewRow]


@contextlib.contextmanager
def local_path(job: ImportJob) -> Iterator[str]:
    """A path to the job's file on this machine (a temporary copy when the storage is
    remote, as with S3 in the scale-out setup)."""
    try:
        path = job.file.path if job.file else None
    except NotImplementedError:
        path = None
    if path and os.path.exists(path):
        yield path
        return
    if not job.file or not job.file.storage.exists(job.file.name):
        raise ValidationError({"file": [_("The uploaded file is no longer available.")]})
    suffix = os.path.splitext(job.filename)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as tmp:
        with job.file.open("rb") as source:
            shutil.copyfileobj(source, tmp)
        tmp.flush()
        yield tmp.name


def _sniff(job: ImportJob, *, encoding: str, delimiter: str, sheet: str) -> readers.Sniffed:
    with local_path(job) as path:
        return readers.sniff(
            path, job.filename, encoding=encoding, delimiter=delimiter, sheet=sheet
        )


def _apply_sniffed(job: ImportJob, sniffed: readers.Sniffed) -> None:
    job.format = sniffed.format
    job.encoding = sniffed.encoding
    job.delimiter = sniffed.delimiter
    job.sheet = sniffed.sheet
    job.source = sniffed.source
    job.headers = list(sniffed.headers)


def _initial_mapping(actor, entity: str, headers: list[str], source: str) -> list[dict]:
    """A saved template whose columns are all in this file wins over suggestions."""
    wanted = {h.strip().lower() for h in headers}
    for template in mapping_templates(actor, entity).order_by("-created_at", "-id"):
        used = [m for m in template.mapping if m.get("target")]
        if used and all(str(m.get("header", "")).strip().lower() in wanted for m in used):
            return _allowed(actor, mapping_from_template(template, headers))
    return _allowed(actor, mapping_mod.suggest(entity, headers, source))


def _allowed(actor, mapping: list[dict]) -> list[dict]:
    """Personal-data columns stay unmapped for importers without that permission."""
    if permissions.has_field_permission(actor, permissions.PERSONAL_DATA):
        return mapping
    return [
        {**m, "target": ""} if m["target"] in mapping_mod.PERSONAL_TARGETS else m for m in mapping
    ]


def mapping_from_template(template: MappingTemplate, headers: list[str]) -> list[dict]:
    """A saved mapping applied to a file by header name (first column of a name wins)."""
    by_header = {
        str(m.get("header", "")).strip().lower(): m.get("target", "") for m in template.mapping
    }
    result, taken = [], set()
    for index, header in enumerate(headers):
        key = header.strip().lower()
        target = by_header.get(key, "") if key not in taken else ""
        taken.add(key)
        result.append({"column": index, "header": header, "target": target})
    return result


def _check_entity(entity: str) -> None:
    if entity not in mapping_mod.ENTITIES:
        raise ValidationError({"entity": [_("Records of this type cannot be imported.")]})


def _require_owner(actor, job: ImportJob) -> None:
    if job.user_id != getattr(actor, "pk", None):
        raise deny("import", actor=actor, object_type="import", object_id=job.pk)


def _require_draft(job: ImportJob) -> None:
    if job.status != ImportJob.Status.DRAFT:
        raise ValidationError({"status": [_("This import has already been started.")]})


@service
def import_upload(*, actor, entity: str, upload) -> ImportJob:
    """Store an uploaded file as a draft import with what detection and the mapping
    suggestions (or a matching saved template) make of it."""
    _check_entity(entity)
    require_add(actor, entity)
    if upload is None or not getattr(upload, "name", ""):
        raise ValidationError({"file": [_("Choose a file to import.")]})
    size = getattr(upload, "size", None) or 0
    if size > readers.max_bytes():
        raise ValidationError(
            {
                "file": [
                    _("The file is too big (at most %(size)s MB).")
                    % {"size": readers.max_bytes() // (1024 * 1024)}
                ]
            }
        )
    filename = os.path.basename(upload.name)[:255] or "import"
    job = ImportJob(user=actor, entity=entity, filename=filename, size=size)
    job.file.save(filename, upload, save=False)
    try:
        sniffed = _sniff(job, encoding="", delimiter="", sheet="")
    except ValidationError:
        job.file.delete(save=False)
        raise
    job.size = job.file.size
    _apply_sniffed(job, sniffed)
    job.mapping = _initial_mapping(actor, entity, job.headers, job.source)
    job.match_on = list(DEFAULT_MATCH_ON[entity])
    job.save()
    return job


@service
def import_configure(
    *,
    actor,
    job: ImportJob,
    encoding: str | None = None,
    delimiter: str | None = None,
    sheet: str | None = None,
    mapping: list[dict] | None = None,
    strategy: str | None = None,
    match_on: list[str] | None = None,
) -> ImportJob:
    """Change how a draft import reads its file and what it does with it. `None` keeps
    a setting; an empty encoding or delimiter detects it again."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _require_owner(actor, job)
    _require_draft(job)
    if encoding is not None or delimiter is not None or sheet is not None:
        sniffed = _sniff(
            job,
            encoding=job.encoding if encoding is None else encoding,
            delimiter=job.delimiter if delimiter is None else delimiter,
            sheet=job.sheet if sheet is None else sheet,
        )
        headers_changed = sniffed.headers != job.headers
        _apply_sniffed(job, sniffed)
        if headers_changed and mapping is None:
            job.mapping = _initial_mapping(actor, job.entity, job.headers, job.source)
    if mapping is not None:
        cleaned = mapping_mod.validate_mapping(job.entity, mapping)
        errors = {
            f"mapping.{i}.column": [_("The file has no column %(n)s.") % {"n": m["column"] + 1}]
            for i, m in enumerate(cleaned)
            if m["column"] >= max(len(job.headers), 1) and m["target"]
        }
        if not permissions.has_field_permission(actor, permissions.PERSONAL_DATA):
            errors.update(
                {
                    f"mapping.{i}.target": [_("You may not import personal data.")]
                    for i, m in enumerate(cleaned)
                    if m["target"] in mapping_mod.PERSONAL_TARGETS
                }
            )
        if errors:
            raise ValidationError(errors)
        for item in cleaned:
            if not item["header"] and item["column"] < len(job.headers):
                item["header"] = job.headers[item["column"]]
        job.mapping = cleaned
    if strategy is not None:
        if strategy not in ImportJob.Strategy.values:
            raise ValidationError({"strategy": [_("Choose skip, update or create.")]})
        job.strategy = strategy
    if match_on is not None:
        job.match_on = _clean_match_on(job.entity, match_on)
    job.save()
    return job


def _clean_match_on(entity: str, match_on) -> list[str]:
    if isinstance(match_on, str):
        match_on = [m for m in match_on.split(",") if m.strip()]
    keys = []
    for index, key in enumerate(match_on or []):
        key = str(key).strip()
        if key not in mapping_mod.MATCH_KEYS or (entity == "company" and key == "email"):
            raise ValidationError(
                {f"match_on.{index}": [_("“%(key)s” cannot be matched on.") % {"key": key}]}
            )
        if key not in keys:
            keys.append(key)
    return keys


def import_preview(*, actor, job: ImportJob, limit: int = 20) -> Preview:
    """The first rows as the run will read them, every invalid cell explained."""
    _require_owner(actor, job)
    context = mapping_mod.BuildContext(job.entity, job.mapping, actor=actor)
    rows = []
    with local_path(job) as path:
        sniffed = readers.sniff(
            path, job.filename, encoding=job.encoding, delimiter=job.delimiter, sheet=job.sheet
        )
        for number, cells in readers.iter_rows(path, sniffed):
            record = mapping_mod.build_record(
                job.entity, job.mapping, cells, actor=actor, context=context
            )
            rows.append(PreviewRow(number, cells, record.errors))
            if len(rows) >= max(1, int(limit)):
                break
    return Preview(list(job.headers), rows)


@service
def import_start(*, actor, job: ImportJob, enqueue: bool = True) -> ImportJob:
    """Queue a draft import; the task starts once this transaction commits (the CLI
    passes enqueue=False and runs it itself)."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _require_owner(actor, job)
    _require_draft(job)
    require_add(actor, job.entity)
    targets = {m["target"] for m in job.mapping if m.get("target")}
    if not targets:
        raise ValidationError({"mapping": [_("Choose what at least one column is.")]})
    if job.entity == "company" and "name" not in targets:
        raise ValidationError({"mapping": [_("Choose the column that holds the company name.")]})
    if job.entity == "person" and not targets & {"first_name", "last_name", "full_name", "email"}:
        raise ValidationError({"mapping": [_("Choose a column with a name or an email.")]})
    job.status = ImportJob.Status.QUEUED
    job.save(update_fields=["status"])
    job_id = job.pk
    if enqueue:
        transaction.on_commit(lambda: run_import.enqueue(job_id))
    return job


@task()
def run_import(job_id: int) -> str:
    """The background run; resumable, so a retry after a crash continues where it was."""
    return import_run(job_id).status


def imports_for(user) -> QuerySet[ImportJob]:
    """The user's own imports; every import for administrators. A team manager is not
    one: another team's import report holds that team's raw rows."""
    from rapport.accounts.selectors import is_administrator

    qs = ImportJob.objects.all()
    if not is_administrator(user):
        qs = qs.filter(user_id=getattr(user, "pk", None))
    return qs.select_related("user")


def write_report_csv(job: ImportJob, out) -> None:
    """Every row with its outcome, reason and record id, then the original values under
    the file's headers; text a spreadsheet would run as a formula is neutralised."""
    import csv

    writer = csv.writer(out)
    fixed = [_("Row"), _("Outcome"), _("Reason"), _("Record id")]
    writer.writerow([neutralize(h) for h in fixed + list(job.headers)])
    labels = dict(ImportRow.Outcome.choices)
    rows = ImportRow.objects.filter(job=job).order_by("number")
    for row in rows.values_list("number", "outcome", "reason", "object_id", "values").iterator(
        chunk_size=2000
    ):
        number, outcome, reason, object_id, cells = row
        writer.writerow(
            [number, str(labels.get(outcome, outcome)), neutralize(reason), object_id or ""]
            + [neutralize(str(c)) for c in cells or []]
        )


@service
def mapping_template_save(
    *, actor, entity: str, name: str, mapping: list[dict], shared: bool = False
) -> MappingTemplate:
    """Save (or replace) the actor's mapping under a name, for files with these headers."""
    _check_entity(entity)
    name = " ".join(str(name or "").split())[:100]
    if not name:
        raise ValidationError({"name": [_("Give the mapping a name.")]})
    cleaned = mapping_mod.validate_mapping(entity, mapping)
    template, _created = MappingTemplate.objects.update_or_create(
        entity=entity, user=actor, name=name, defaults={"mapping": cleaned, "shared": bool(shared)}
    )
    return template


def mapping_templates(user, entity: str) -> QuerySet[MappingTemplate]:
    """The user's own templates and those shared with everyone."""
    from django.db.models import Q

    return MappingTemplate.objects.filter(
        Q(user_id=getattr(user, "pk", None)) | Q(shared=True), entity=entity
    )


from rapport.dataio.import_runner import import_run  # noqa: E402
from rapport.dataio.import_undo import import_undo  # noqa: E402
