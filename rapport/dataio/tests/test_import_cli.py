"""`rapport import FILE --type people|companies`: runs synchronously through the
services, prints progress and the counts, writes the report, refuses bad arguments."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.core.management import CommandError, call_command

from rapport.contacts.models import Company, Person
from rapport.dataio import importing
from rapport.dataio.models import ImportJob
from rapport.dataio.tests.importhelpers import csv_bytes
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def people_file(tmp_path, rows=None, name="people.csv", **kwargs):
    rows = rows or [
        ["Ім'я", "Прізвище", "Email"],
        ["Тарас", "Шевченко", "taras@example.com"],
        ["Bad", "", "nope"],
    ]
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows, **kwargs))
    return str(path)


def run_cli(*args) -> str:
    out = io.StringIO()
    call_command("import", *args, stdout=out)
    return out.getvalue()


def test_import_prints_progress_and_counts_and_writes_the_report(tmp_path, alice):
    report = tmp_path / "report.csv"
    output = run_cli(
        people_file(tmp_path, encoding="cp1251"),
        "--type",
        "people",
        "--user",
        "alice",
        "--report",
        str(report),
    )
    assert "2 of 2 rows" in output
    assert "2 rows — 1 created, 0 updated, 0 skipped, 1 rejected." in output
    assert Person.objects.get().last_name == "Шевченко"
    rows = list(csv.reader(io.StringIO(report.read_text(encoding="utf-8-sig"))))
    assert rows[0][:4] == ["Row", "Outcome", "Reason", "Record id"]
    assert [r[1] for r in rows[1:]] == ["created", "rejected"]
    job = ImportJob.objects.get()
    assert (job.user, job.status) == (alice, "done")


def test_strategy_match_and_overrides_reach_the_run(tmp_path, alice):
    PersonFactory(
        actor=alice,
        first_name="Ann",
        last_name="Kowalska",  # not Faker's: a drawn "Lee" would leave nothing to update
        phones=[{"number": "+380671234567"}],
        emails=[{"address": "ann@example.com"}],
    )
    path = people_file(tmp_path, [["Name", "Phone"], ["Ann Lee", "+380671234567"]], delimiter="|")
    output = run_cli(
        path,
        "--type",
        "people",
        "--user",
        "alice",
        "--strategy",
        "update",
        "--match",
        "phone",
        "--delimiter",
        "|",
        "--encoding",
        "utf-8",
    )
    assert "1 updated" in output
    assert Person.objects.get().last_name == "Lee"


def test_companies_and_a_saved_mapping_template(tmp_path, alice):
    importing.mapping_template_save(
        actor=alice,
        entity="company",
        name="crm",
        mapping=[
            {"column": 0, "header": "Kod", "target": "external_id"},
            {"column": 1, "header": "Nazwa", "target": "name"},
        ],
    )
    path = people_file(tmp_path, [["Nazwa", "Kod"], ["Acme", "A1"]], name="firms.csv")
    output = run_cli(path, "--type", "companies", "--user", "alice", "--mapping", "crm")
    assert "1 created" in output
    assert Company.objects.get().name == "Acme"


def test_the_only_administrator_is_the_default_user(tmp_path, admin):
    run_cli(people_file(tmp_path), "--type", "people")
    assert ImportJob.objects.get().user == admin


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["/nonexistent.csv", "--type", "people", "--user", "alice"], "no file"),
        (["{file}", "--type", "people", "--user", "nobody"], "no active user"),
        (["{file}", "--type", "people", "--user", "alice", "--match", "shoe"], "match_on.0"),
        (["{file}", "--type", "people", "--user", "alice", "--mapping", "nope"], "--mapping"),
        (["{file}", "--type", "people", "--user", "dave"], "may not import"),
        (
            ["{file}", "--type", "people", "--user", "alice", "--report", "/no/such/dir/r.csv"],
            "--report",
        ),
    ],
)
def test_bad_arguments_exit_with_a_clear_message(tmp_path, personas, args, message):
    path = people_file(tmp_path)
    with pytest.raises(CommandError) as exc:
        run_cli(*[a.replace("{file}", path) for a in args])
    assert message in str(exc.value)
    assert not Person.objects.exists()


def test_xlsx_sheet_is_chosen_and_an_unknown_one_refused(tmp_path, alice):
    workbook = openpyxl.Workbook()
    workbook.active.append(["Notes"])
    workbook.create_sheet("People").append(["Email"])
    workbook["People"].append(["ann@example.com"])
    path = tmp_path / "book.xlsx"
    workbook.save(path)
    with pytest.raises(CommandError) as exc:
        run_cli(str(path), "--type", "people", "--user", "alice", "--sheet", "Nope")
    assert "sheet" in str(exc.value)
    assert "1 created" in run_cli(
        str(path), "--type", "people", "--user", "alice", "--sheet", "People"
    )
    assert Person.objects.get().primary_email == "ann@example.com"


def test_unknown_type_is_refused(tmp_path, personas):
    with pytest.raises(CommandError):
        run_cli(people_file(tmp_path), "--type", "deals", "--user", "alice")


def test_rapport_lists_the_import_command():
    from rapport import cli

    assert "import" in cli.usage()
