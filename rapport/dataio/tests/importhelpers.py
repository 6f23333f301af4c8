"""Helpers the import tests share: files written in any encoding, uploads, runs."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile

from rapport.dataio import importing
from rapport.dataio.models import ImportJob


def csv_bytes(rows: list[list[str]], *, encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode(encoding)


def upload(actor, content: bytes, name: str = "people.csv", entity: str = "person") -> ImportJob:
    return importing.import_upload(
        actor=actor, entity=entity, upload=SimpleUploadedFile(name, content)
    )


def run(actor, job: ImportJob, **configure) -> ImportJob:
    """Configure, start and run an import synchronously (as the task would)."""
    if configure:
        job = importing.import_configure(actor=actor, job=job, **configure)
    importing.import_start(actor=actor, job=job)
    return importing.import_run(job.pk)


def import_rows(actor, rows: list[list[str]], *, entity: str = "person", **configure) -> ImportJob:
    return run(actor, upload(actor, csv_bytes(rows), entity=entity), **configure)


def outcomes(job: ImportJob) -> list[tuple[int, str]]:
    return list(job.rows.order_by("number").values_list("number", "outcome"))


def assert_counts_add_up(job: ImportJob, rows_in_file: int) -> None:
    job.refresh_from_db()
    total = job.created_count + job.updated_count + job.skipped_count + job.rejected_count
    assert total == rows_in_file == job.processed_rows == job.total_rows
    assert job.rows.count() == rows_in_file
