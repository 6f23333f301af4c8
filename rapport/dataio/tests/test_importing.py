"""The import services and run: wizard steps, strategies, matching within the
importer's scope, duplicates inside one file, suppression, company links, resume
after a crash, counts that always add up, the report and mapping templates."""

from __future__ import annotations

import csv
import io
import tracemalloc

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.contacts.models import Company, Person
from rapport.core.models import AuditEvent
from rapport.dataio import import_runner, importing
from rapport.dataio.models import ExternalKey, ImportJob
from rapport.dataio.tests.importhelpers import (
    assert_counts_add_up,
    csv_bytes,
    import_rows,
    outcomes,
    run,
    upload,
)
from rapport.dataio.tests.test_readers import VCARDS
from rapport.testing.factories import CompanyFactory

pytestmark = pytest.mark.django_db

HEAD = ["First name", "Last name", "Email", "Phone", "Company", "Position", "ID"]


def test_upload_detects_the_file_and_suggests_a_mapping(alice):
    job = upload(
        alice,
        csv_bytes(
            [HEAD, ["Ann", "Lee", "ann@example.com", "", "", "", "1"]],
            encoding="cp1251",
            delimiter=";",
        ),
    )
    assert (job.status, job.format, job.encoding, job.delimiter) == ("draft", "csv", "utf-8", ";")
    assert job.headers == HEAD
    assert [m["target"] for m in job.mapping] == [
        "first_name",
        "last_name",
        "email",
        "phone",
        "company",
        "job_title",
        "external_id",
    ]
    assert job.match_on == ["email", "external_id"]
    assert job.file.name and job.size > 0


def test_bad_upload_is_a_file_error_and_nothing_is_kept(alice):
    with pytest.raises(ValidationError) as exc:
        upload(alice, b"")
    assert "file" in exc.value.message_dict
    assert not ImportJob.objects.exists()


def test_viewer_cannot_import_and_the_denial_is_audited(dave):
    with pytest.raises(PermissionDenied):
        upload(dave, csv_bytes([HEAD]))
    assert AuditEvent.objects.filter(actor=dave, action="denied", object_type="person").exists()


def test_only_the_jobs_user_configures_previews_and_starts_it(alice, bob):
    job = upload(alice, csv_bytes([HEAD, ["Ann", "", "", "", "", "", ""]]))
    for call in (
        lambda: importing.import_configure(actor=bob, job=job, strategy="update"),
        lambda: importing.import_preview(actor=bob, job=job),
        lambda: importing.import_start(actor=bob, job=job),
    ):
        with pytest.raises(PermissionDenied):
            call()
    assert list(importing.imports_for(bob)) == []
    assert list(importing.imports_for(alice)) == [job]


def test_configure_validates_every_setting(alice):
    job = upload(alice, csv_bytes([HEAD, ["Ann", "", "", "", "", "", ""]]))
    for kwargs, field in [
        ({"strategy": "merge"}, "strategy"),
        ({"match_on": ["email", "shoe"]}, "match_on.1"),
        ({"mapping": [{"column": 0, "target": "nope"}]}, "mapping.0.target"),
        ({"mapping": [{"column": 40, "target": "email"}]}, "mapping.0.column"),
        ({"encoding": "klingon"}, "encoding"),
        (
            {
                "mapping": [
                    {"column": 0, "target": "first_name"},
                    {"column": 1, "target": "birthday"},
                ]
            },
            "mapping.1.target",
        ),
    ]:
        with pytest.raises(ValidationError) as exc:
            importing.import_configure(actor=alice, job=job, **kwargs)
        assert field in exc.value.message_dict
    job = importing.import_configure(
        actor=alice, job=job, strategy="update", match_on="phone,email"
    )
    assert (job.strategy, job.match_on) == ("update", ["phone", "email"])


def test_configure_rereads_the_file_with_a_manual_delimiter(alice):
    job = upload(alice, csv_bytes([["Name;Email", "x"], ["Ann;a@example.com", "y"]]))
    job = importing.import_configure(actor=alice, job=job, delimiter=";")
    assert job.headers == ["Name", "Email,x"]
    assert job.mapping[0]["target"] == "full_name"


def test_preview_marks_every_invalid_cell(alice):
    job = upload(
        alice,
        csv_bytes(
            [
                HEAD,
                ["Ann", "Lee", "nope", "12", "", "", ""],
                ["Bob", "Ray", "bob@example.com", "", "", "", ""],
            ]
        ),
    )
    preview = importing.import_preview(actor=alice, job=job, limit=5)
    assert preview.headers == HEAD
    assert [r.number for r in preview.rows] == [1, 2]
    assert set(preview.rows[0].errors) == {2, 3}
    assert preview.rows[1].errors == {}


def test_start_needs_a_usable_mapping_and_runs_as_a_task_on_commit(
    alice, django_capture_on_commit_callbacks
):
    job = upload(alice, csv_bytes([HEAD, ["Ann", "Lee", "ann@example.com", "", "", "", ""]]))
    importing.import_configure(actor=alice, job=job, mapping=[{"column": 5, "target": "job_title"}])
    with pytest.raises(ValidationError) as exc:
        importing.import_start(actor=alice, job=job)
    assert "mapping" in exc.value.message_dict
    importing.import_configure(
        actor=alice, job=job, mapping=importing.mapping_mod.suggest("person", HEAD, "generic")
    )
    with django_capture_on_commit_callbacks(execute=True):
        importing.import_start(actor=alice, job=job)
    job.refresh_from_db()
    assert (job.status, job.created_count) == ("done", 1)
    with pytest.raises(ValidationError):
        importing.import_start(actor=alice, job=job)
    event = AuditEvent.objects.get(action="import", object_id=job.pk)
    assert event.extra["created"] == 1 and event.actor == alice


def test_rows_are_created_with_channels_tags_company_and_external_key(alice):
    job = import_rows(
        alice,
        [
            HEAD + ["Tags"],
            [
                "Ann",
                "Lee",
                "ann@example.com; ann@work.example",
                "+380671234567",
                "Acme",
                "CTO",
                "X1",
                "vip,golf",
            ],
            ["Bob", "Ray", "bob@example.com", "", "acme", "", "", ""],
        ],
    )
    assert outcomes(job) == [(1, "created"), (2, "created")]
    ann = Person.objects.get(first_name="Ann")
    assert [e.address for e in ann.emails.all()] == ["ann@example.com", "ann@work.example"]
    assert (ann.primary_phone, ann.job_title, ann.company.name) == ("+380671234567", "CTO", "Acme")
    assert sorted(t.name for t in ann.tags.all()) == ["golf", "vip"]
    assert Person.objects.get(first_name="Bob").company_id == ann.company_id
    assert Company.objects.count() == 1
    assert ExternalKey.objects.get(entity="person", key="X1").object_id == ann.pk
    assert job.rows.get(number=1).object_id == ann.pk


def test_existing_visible_company_is_reused(alice):
    acme = CompanyFactory(actor=alice, name="ACME Corp")
    import_rows(alice, [HEAD, ["Ann", "Lee", "", "", "acme corp", "", ""]])
    assert Person.objects.get(first_name="Ann").company_id == acme.pk
    assert Company.objects.count() == 1


def test_rejected_rows_never_stop_the_others(alice):
    job = import_rows(
        alice,
        [
            HEAD,
            ["", "", "", "", "Acme", "", ""],
            ["Ann", "", "not-an-email", "", "", "", ""],
            ["Bob", "", "", "", "", "", ""],
            ["A" * 101, "", "", "", "", "", ""],
        ],
    )
    assert outcomes(job) == [(1, "rejected"), (2, "rejected"), (3, "created"), (4, "rejected")]
    reasons = dict(job.rows.values_list("number", "reason"))
    assert "name or an email" in reasons[1]
    assert reasons[2].startswith("Email: ")
    assert reasons[4].startswith("First name: ")
    assert_counts_add_up(job, 4)


def test_companies_are_imported_and_matched_by_name(alice):
    CompanyFactory(actor=alice, name="Acme")
    job = import_rows(
        alice,
        [
            ["Company name", "Website", "Employees", "Phone"],
            ["ACME", "acme.example", "12", ""],
            ["Beta LLC", "beta.example", "1200", "+380441234567"],
            ["", "nameless.example", "", ""],
        ],
        entity="company",
    )
    assert outcomes(job) == [(1, "skipped"), (2, "created"), (3, "rejected")]
    beta = Company.objects.get(name="Beta LLC")
    assert (beta.primary_domain, beta.size) == ("beta.example", "1000+")


def test_formula_guard_is_stripped_on_import(alice):
    import_rows(alice, [["First name", "Notes"], ["'=Ann", "'+danger"]])
    person = Person.objects.get()
    assert (person.first_name, person.notes) == ("=Ann", "+danger")


def test_xlsx_and_vcard_files_import(alice):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Imię", "Nazwisko", "E-mail"])
    workbook.active.append(["Łukasz", "Nowak", "lukasz@example.pl"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    job = run(alice, upload(alice, buffer.getvalue(), "ludzie.xlsx"))
    assert outcomes(job) == [(1, "created")]
    job = run(alice, upload(alice, VCARDS.encode(), "contacts.vcf"))
    assert outcomes(job) == [(1, "created"), (2, "created"), (3, "created")]
    assert "" in [m["target"] for m in job.mapping]  # the birthday: alice may not see it
    john = Person.objects.get(last_name="Doe")
    assert john.birthday is None
    assert (john.prefix, john.company.name, john.job_title) == ("Dr.", "Acme", "CEO")
    assert john.addresses[0]["city"] == "Kyiv"
    assert ExternalKey.objects.filter(key="abc-1", object_id=john.pk).exists()


def test_a_crash_mid_file_rolls_back_the_batch_and_a_rerun_resumes(alice, monkeypatch):
    monkeypatch.setattr(import_runner, "BATCH_SIZE", 3)
    real = import_runner.write_rows
    calls = {"n": 0}

    def crash_on_second(job, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        real(job, rows)

    monkeypatch.setattr(import_runner, "write_rows", crash_on_second)
    rows = [HEAD] + [[f"P{i}", "", f"p{i}@example.com", "", "", "", ""] for i in range(8)]
    job = upload(alice, csv_bytes(rows))
    importing.import_start(actor=alice, job=job)
    with pytest.raises(RuntimeError):
        importing.import_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.created_count) == ("failed", 3, 3)
    assert Person.objects.count() == 3
    assert "again" in job.error
    job = importing.import_run(job.pk)
    assert job.status == "done"
    assert Person.objects.count() == 8
    assert_counts_add_up(job, 8)


def test_report_lists_every_row_with_original_values_neutralised(alice):
    job = import_rows(
        alice, [HEAD, ["Ann", "", "bad", "", "", "", ""], ["=cmd()", "", "", "", "", "", "@x"]]
    )
    out = io.StringIO()
    importing.write_report_csv(job, out)
    report = list(csv.reader(io.StringIO(out.getvalue())))
    assert report[0] == ["Row", "Outcome", "Reason", "Record id", *HEAD]
    assert report[1][:2] == ["1", "rejected"] and report[1][4:7] == ["Ann", "", "bad"]
    created = Person.objects.get()
    assert report[2][:4] == ["2", "created", "", str(created.pk)]
    assert report[2][4] == "'=cmd()" and report[2][10] == "'@x"


def test_mapping_templates_are_saved_shared_and_reused(alice, bob):
    mapping = [
        {"column": 0, "header": "Nom", "target": "last_name"},
        {"column": 1, "header": "Courriel", "target": "email"},
    ]
    importing.mapping_template_save(
        actor=alice, entity="person", name="  French  ", mapping=mapping
    )
    assert [t.name for t in importing.mapping_templates(bob, "person")] == []
    importing.mapping_template_save(
        actor=alice, entity="person", name="French", mapping=mapping, shared=True
    )
    assert [t.name for t in importing.mapping_templates(bob, "person")] == ["French"]
    job = upload(bob, csv_bytes([["Extra", "Courriel", "Nom"], ["x", "a@b.io", "Lee"]]))
    assert [m["target"] for m in job.mapping] == ["", "email", "last_name"]
    with pytest.raises(ValidationError) as exc:
        importing.mapping_template_save(actor=alice, entity="person", name="", mapping=mapping)
    assert "name" in exc.value.message_dict


def test_upload_through_a_django_upload_object(alice):
    job = importing.import_upload(
        actor=alice,
        entity="company",
        upload=SimpleUploadedFile("c.csv", b"Name\nAcme\n", content_type="text/csv"),
    )
    assert job.mapping == [{"column": 0, "header": "Name", "target": "name"}]


ROW = st.sampled_from(
    [
        ["Ann", "Lee", "ann@example.com", "", "", "", ""],
        ["Bob", "", "bob@example.com", "+380671234567", "Acme", "", "B1"],
        ["", "", "", "", "", "", ""],
        ["", "", "broken", "", "", "", ""],
        ["Cid", "", "", "00", "", "", ""],
        ["Dee", "", "", "", "Beta", "CEO", "B1"],
        ["'=Eve", "", "eve@example.com;ann@example.com", "", "", "", ""],
    ]
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(ROW, min_size=1, max_size=9),
    strategy=st.sampled_from(["skip", "update", "create"]),
    match_on=st.sampled_from([["email"], ["phone", "external_id"], ["name_company"], []]),
)
def test_counts_always_add_up_to_the_rows_in_the_file(alice, rows, strategy, match_on):
    job = import_rows(alice, [HEAD, *rows], strategy=strategy, match_on=match_on)
    non_empty = sum(1 for r in rows if any(r))
    assert_counts_add_up(job, non_empty)
    assert job.status == "done"


def test_100k_rows_stream_with_flat_memory_and_counts_adding_up(alice, tmp_path):
    """100,000 rows (20,000 on PostgreSQL, where every statement is a round trip and the
    memory bound is the same): 2,000 people, each repeated (skipped as the same email,
    from the second batch on by the database match) and every 50th row broken."""
    rows = 100_000 if connection.vendor == "sqlite" else 20_000
    path = tmp_path / "big.csv"
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First name", "Last name", "Email", "Notes"])
        for i in range(rows):
            k = i % 2000
            email = f"p{k}@example.com" if i % 50 else "broken"
            writer.writerow([f"First{k}", f"Last{k}", email, "note " * 8])
    with open(path, "rb") as fh:
        job = importing.import_upload(actor=alice, entity="person", upload=File(fh, "big.csv"))
    importing.import_start(actor=alice, job=job, enqueue=False)
    tracemalloc.start()
    try:
        job = importing.import_run(job.pk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024
    rejected = rows // 50
    assert (job.created_count, job.skipped_count, job.rejected_count) == (
        1960,
        rows - 1960 - rejected,
        rejected,
    )
    assert_counts_add_up(job, rows)
    assert Person.objects.count() == 1960


def test_a_job_whose_file_is_gone_explains_it(alice):
    job = upload(alice, csv_bytes([HEAD, ["Ann", "", "", "", "", "", ""]]))
    job.file.delete(save=False)
    with pytest.raises(ValidationError) as exc:
        importing.import_preview(actor=alice, job=job)
    assert "no longer available" in exc.value.message_dict["file"][0]


def test_an_importer_with_personal_data_rights_imports_birthdays(admin):
    job = run(admin, upload(admin, VCARDS.encode(), "contacts.vcf"))
    assert job.created_count == 3
    assert Person.objects.get(last_name="Doe").birthday.isoformat() == "1980-05-06"
