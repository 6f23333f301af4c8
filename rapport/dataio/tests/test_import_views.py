"""The import wizard pages: upload → columns → preview → run → report, undo, scoping."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rapport.contacts.models import Person
from rapport.dataio.models import ImportJob, ImportRow, MappingTemplate

pytestmark = pytest.mark.django_db

PEOPLE_CSV = (
    "First name,Last name,E-mail,Notes\n"
    "Olena,Kovalenko,olena@example.com,first\n"
    "Taras,Shevchenko,not-an-email,second\n"
    "Lesia,Ukrainka,lesia@example.com,=HYPERLINK()\n"
)


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def csv_file(text: str = PEOPLE_CSV, name: str = "people.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode("utf-8"), content_type="text/csv")


def upload(web: Client, text: str = PEOPLE_CSV, entity: str = "person") -> ImportJob:
    response = web.post("/data/imports/new/", {"entity": entity, "file": csv_file(text)})
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ImportJob.objects.latest("id")
    assert response["Location"] == f"/data/imports/{job.pk}/mapping/"
    return job


def mapping_post(job: ImportJob, targets: list[str], **extra) -> dict:
    data = {f"col_{i}": target for i, target in enumerate(targets)}
    data.update(extra)
    return data


def run(web: Client, job: ImportJob, capture, *, strategy="skip", match_on=("email",)):
    with capture(execute=True):
        response = web.post(
            f"/data/imports/{job.pk}/start/", {"strategy": strategy, "match_on": list(match_on)}
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == f"/data/imports/{job.pk}/"
    job.refresh_from_db()
    return job


def imported(web, capture, text=PEOPLE_CSV, targets=("first_name", "last_name", "email", "notes")):
    job = upload(web, text)
    response = web.post(f"/data/imports/{job.pk}/mapping/", mapping_post(job, list(targets)))
    assert response.status_code == 302, response.content.decode()[:3000]
    return run(web, job, capture)


# --- the entry points ----------------------------------------------------------------------


def test_list_pages_offer_import_only_to_those_who_may_add(alice, dave):
    link = "/data/imports/new/?entity=person"
    assert link in browser(alice).get("/people/").content.decode()
    assert "/data/imports/new/?entity=company" in browser(alice).get("/companies/").content.decode()
    assert link not in browser(dave).get("/people/").content.decode()


def test_viewer_cannot_import(dave):
    web = browser(dave)
    assert web.get("/data/imports/new/?entity=person").status_code == 403
    response = web.post("/data/imports/new/", {"entity": "person", "file": csv_file()})
    assert response.status_code == 403
    assert not ImportJob.objects.exists()
    assert "/data/imports/new/" not in web.get("/data/imports/").content.decode()


def test_upload_without_a_file_or_with_garbage_names_the_field(alice):
    web = browser(alice)
    response = web.post("/data/imports/new/", {"entity": "person"})
    assert response.status_code == 200
    assert re.search(r"field-invalid[^>]*>\s*<label[^>]*for=\"id_file\"", response.content.decode())
    empty = SimpleUploadedFile("empty.csv", b"", content_type="text/csv")
    response = web.post("/data/imports/new/", {"entity": "person", "file": empty})
    assert response.status_code == 200 and "field-error" in response.content.decode()
    assert not ImportJob.objects.exists()


# --- the wizard ----------------------------------------------------------------------------


def test_wizard_suggests_marks_invalid_cells_runs_and_reports(
    alice, django_capture_on_commit_callbacks
):
    web = browser(alice)
    job = upload(web)
    page = web.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert "Olena" in page and "Kovalenko" in page  # sample values under each column
    first = re.search(r'<select name="col_0"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.search(r'<option value="first_name" selected', first)  # suggested
    email = re.search(r'<select name="col_2"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.search(r'<option value="email" selected', email)

    targets = ["first_name", "last_name", "email", "notes"]
    response = web.post(f"/data/imports/{job.pk}/mapping/", mapping_post(job, targets))
    assert response["Location"] == f"/data/imports/{job.pk}/preview/"
    job.refresh_from_db()
    assert [m["target"] for m in job.mapping] == targets

    preview = web.get(f"/data/imports/{job.pk}/preview/").content.decode()
    invalid = re.findall(r"<tr data-row=\"(\d+)\" data-invalid", preview)
    assert invalid == ["2"]  # only Taras's row, with its bad email marked and explained
    assert preview.count("data-invalid-cell") == 1
    assert 'name="strategy"' in preview and 'name="match_on"' in preview

    job = run(web, job, django_capture_on_commit_callbacks)
    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.rejected_count) == (2, 1)
    assert set(Person.objects.values_list("last_name", flat=True)) == {"Kovalenko", "Ukrainka"}

    detail = web.get(f"/data/imports/{job.pk}/").content.decode()
    assert '<progress class="h-2 w-full accent-accent-600" max="100" value="100"' in detail
    assert 'hx-trigger="every 1s"' not in detail  # finished: no more polling
    counts = dict(re.findall(r'data-count="(\w+)">.*?stat-value">([\d,]+)<', detail, re.S))
    assert counts == {"created": "2", "updated": "0", "skipped": "0", "rejected": "1", "total": "3"}
    olena = Person.objects.get(last_name="Kovalenko")
    assert f'href="/people/{olena.pk}/"' in detail  # each created row links to its record
    assert "not-an-email" in detail  # the rejected row keeps its original values

    rejected = web.get(f"/data/imports/{job.pk}/?outcome=rejected").content.decode()
    assert re.findall(r'data-outcome="(\w+)"', rejected) == ["rejected"]


def test_invalid_mapping_names_the_column_and_changes_nothing(alice):
    web = browser(alice)
    job = upload(web)
    before = list(job.mapping)
    data = mapping_post(job, ["first_name", "first_name", "email", "notes"])
    response = web.post(f"/data/imports/{job.pk}/mapping/", data)
    assert response.status_code == 200
    page = response.content.decode()
    row = re.search(r'<tr data-column="1">(.*?)</tr>', page, re.S).group(1)
    assert "field-invalid" in row and "field-error" in row
    job.refresh_from_db()
    assert job.mapping == before
    unknown = web.post(f"/data/imports/{job.pk}/mapping/", mapping_post(job, ["nonsense"]))
    assert unknown.status_code == 200 and "field-error" in unknown.content.decode()


def test_reading_options_and_templates(alice, bob):
    web = browser(alice)
    job = upload(web, "Name;Email\nOlena;olena@example.com\n")
    assert job.delimiter == ";" and job.headers == ["Name", "Email"]
    response = web.post(
        f"/data/imports/{job.pk}/mapping/",
        {"action": "read", "delimiter": ",", "encoding": "utf-8"},
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.delimiter == "," and job.headers == ["Name;Email"]
    web.post(f"/data/imports/{job.pk}/mapping/", {"action": "read", "delimiter": ";"})
    job.refresh_from_db()
    assert job.headers == ["Name", "Email"]

    data = mapping_post(
        job, ["full_name", "email"], action="save_template", template_name="Shop", shared="on"
    )
    assert web.post(f"/data/imports/{job.pk}/mapping/", data).status_code == 302
    template = MappingTemplate.objects.get(name="Shop")
    assert template.shared and [m["target"] for m in template.mapping] == ["full_name", "email"]

    other = upload(browser(bob), "Email;Name\ntaras@example.com;Taras\n")
    bob_web = browser(bob)
    page = bob_web.get(f"/data/imports/{other.pk}/mapping/").content.decode()
    assert "Shop" in page  # shared templates are offered to everyone
    bob_web.post(f"/data/imports/{other.pk}/mapping/", mapping_post(other, ["", ""]))
    applied = bob_web.post(
        f"/data/imports/{other.pk}/mapping/", {"action": "apply", "template": template.pk}
    )
    assert applied.status_code == 302
    other.refresh_from_db()
    assert [m["target"] for m in other.mapping] == ["email", "full_name"]  # by header


def test_sheet_and_encoding_can_be_chosen(alice):
    import io

    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["Whatever"])
    workbook.active.append(["ignore me"])
    people = workbook.create_sheet("People")
    people.append(["Surname", "Email"])
    people.append(["Kovalenko", "olena@example.com"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    web = browser(alice)
    xlsx = SimpleUploadedFile("book.xlsx", buffer.getvalue())
    response = web.post("/data/imports/new/", {"entity": "person", "file": xlsx})
    job = ImportJob.objects.get()
    assert response["Location"] == f"/data/imports/{job.pk}/mapping/"
    page = web.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    sheets = re.search(r'<select name="sheet"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.findall(r'<option value="([^"]+)"', sheets) == ["Notes", "People"]
    assert 'name="encoding"' not in page  # not a CSV
    web.post(f"/data/imports/{job.pk}/mapping/", {"action": "read", "sheet": "People"})
    job.refresh_from_db()
    assert job.sheet == "People" and job.headers == ["Surname", "Email"]
    assert "Kovalenko" in web.get(f"/data/imports/{job.pk}/mapping/").content.decode()

    text = "Ім'я;Прізвище;Місто\nОлена;Коваленко;Київ\nТарас;Шевченко;Львів\n"
    cyrillic = SimpleUploadedFile("uk.csv", text.encode("cp1251"), content_type="text/csv")
    web.post("/data/imports/new/", {"entity": "person", "file": cyrillic})
    job = ImportJob.objects.latest("id")
    assert job.headers == ["Ім'я", "Прізвище", "Місто"]
    page = web.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert "Коваленко" in page
    encoding = re.search(r'<select name="encoding"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert re.search(rf'<option value="{job.encoding}" selected', encoding)
    web.post(f"/data/imports/{job.pk}/mapping/", {"action": "read", "encoding": "koi8-u"})
    job.refresh_from_db()
    assert job.encoding == "koi8-u" and job.headers[1] != "Прізвище"


def test_vcards_are_mapped_fully_and_imported(alice, django_capture_on_commit_callbacks):
    cards = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Kovalenko;Olena;;;\r\nFN:Olena Kovalenko\r\n"
        "EMAIL;TYPE=work:olena@example.com\r\nTEL;TYPE=cell:+380441234567\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Shevchenko;Taras;;;\r\nFN:Taras Shevchenko\r\n"
        "EMAIL:taras@example.com\r\nEND:VCARD\r\n"
    )
    web = browser(alice)
    vcf = SimpleUploadedFile("contacts.vcf", cards.encode("utf-8"), content_type="text/vcard")
    web.post("/data/imports/new/", {"entity": "person", "file": vcf})
    job = ImportJob.objects.get()
    assert job.format == "vcard" and job.source == "vcard"
    page = web.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert 'name="encoding"' in page and 'name="delimiter"' not in page
    assert "Shevchenko" in page
    data = {f"col_{m['column']}": m["target"] for m in job.mapping}  # keep every suggestion
    assert web.post(f"/data/imports/{job.pk}/mapping/", data).status_code == 302
    job = run(web, job, django_capture_on_commit_callbacks)
    assert job.created_count == 2
    olena = Person.objects.get(last_name="Kovalenko")
    assert olena.first_name == "Olena" and olena.emails.get().address == "olena@example.com"


# --- progress, report, undo ----------------------------------------------------------------


def test_running_job_shows_a_polling_progress_bar_that_stops_when_done(alice):
    job = ImportJob.objects.create(
        user=alice,
        entity="person",
        filename="big.csv",
        format="csv",
        headers=["Name"],
        status=ImportJob.Status.RUNNING,
        total_rows=200,
        processed_rows=80,
    )
    web = browser(alice)
    detail = web.get(f"/data/imports/{job.pk}/").content.decode()
    assert 'value="40"' in detail and "<progress" in detail
    assert f'hx-get="/data/imports/{job.pk}/progress/?poll=1"' in detail
    assert 'hx-trigger="every 1s"' in detail

    polled = web.get(f"/data/imports/{job.pk}/progress/?poll=1", HTTP_HX_REQUEST="true")
    assert polled.status_code == 200 and "HX-Refresh" not in polled
    assert 'hx-trigger="every 1s"' in polled.content.decode()

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE, processed_rows=200)
    polled = web.get(f"/data/imports/{job.pk}/progress/?poll=1", HTTP_HX_REQUEST="true")
    assert polled["HX-Refresh"] == "true"  # reload once: the report is ready
    assert "hx-trigger" not in polled.content.decode() and 'value="100"' in polled.content.decode()


def test_report_csv_has_every_row_with_its_outcome(alice, django_capture_on_commit_callbacks):
    web = browser(alice)
    job = imported(web, django_capture_on_commit_callbacks)
    response = web.get(f"/data/imports/{job.pk}/report.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 4  # header + one line per row of the file
    assert "Last name" in lines[0] and "E-mail" in lines[0]
    assert "created" in lines[1] and "rejected" in lines[2] and "created" in lines[3]
    assert "'=HYPERLINK()" in lines[3]  # a spreadsheet will not run it


def test_undo_from_the_report_page(alice, django_capture_on_commit_callbacks):
    web = browser(alice)
    job = imported(web, django_capture_on_commit_callbacks)
    assert Person.objects.count() == 2
    page = web.get(f"/data/imports/{job.pk}/").content.decode()
    assert f'action="/data/imports/{job.pk}/undo/"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = web.post(f"/data/imports/{job.pk}/undo/", follow=True)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UNDONE
    assert Person.objects.count() == 0  # in the trash
    page = response.content.decode()
    assert "data-undone" in page and f'action="/data/imports/{job.pk}/undo/"' not in page


def test_undo_lists_records_edited_since(alice, django_capture_on_commit_callbacks):
    from rapport.contacts.services import person_update

    web = browser(alice)
    job = imported(web, django_capture_on_commit_callbacks)
    lesia = Person.objects.get(last_name="Ukrainka")
    with django_capture_on_commit_callbacks(execute=True):
        person_update(actor=alice, person=lesia, data={"notes": "edited by hand"})
        response = web.post(f"/data/imports/{job.pk}/undo/", follow=True)
    assert list(Person.objects.values_list("last_name", flat=True)) == ["Ukrainka"]
    page = response.content.decode()
    conflicts = re.search(r"data-undo-conflicts>(.*?)</ul>", page, re.S).group(1)
    assert f'href="/people/{lesia.pk}/"' in conflicts and "Row 3" in conflicts
    assert "message-warning" in page


def test_started_jobs_leave_the_setup_pages(alice, django_capture_on_commit_callbacks):
    web = browser(alice)
    job = imported(web, django_capture_on_commit_callbacks)
    for step in ("mapping", "preview"):
        response = web.get(f"/data/imports/{job.pk}/{step}/")
        assert response.status_code == 302 and response["Location"] == f"/data/imports/{job.pk}/"
    response = web.post(f"/data/imports/{job.pk}/start/", {"strategy": "skip"})
    assert response.status_code == 302
    assert ImportRow.objects.filter(job=job).count() == 3  # not run twice


# --- scoping and CSRF ----------------------------------------------------------------------


def test_other_peoples_imports_are_404(alice, bob, admin, django_capture_on_commit_callbacks):
    job = imported(browser(alice), django_capture_on_commit_callbacks)
    web = browser(bob)
    for suffix in ("", "mapping/", "preview/", "progress/", "report.csv"):
        assert web.get(f"/data/imports/{job.pk}/{suffix}").status_code == 404, suffix
    for suffix in ("start/", "undo/", "mapping/"):
        assert web.post(f"/data/imports/{job.pk}/{suffix}", {}).status_code == 404, suffix
    assert "people.csv" not in web.get("/data/imports/").content.decode()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE

    assert browser(admin).get(f"/data/imports/{job.pk}/").status_code == 200
    assert "people.csv" in browser(admin).get("/data/imports/").content.decode()
    assert "people.csv" in browser(alice).get("/data/imports/").content.decode()


def test_csrf_is_enforced_on_every_import_form(alice):
    job = upload(browser(alice))
    web = Client(enforce_csrf_checks=True)
    web.force_login(alice)
    for url, data in (
        ("/data/imports/new/", {"entity": "person", "file": csv_file()}),
        (f"/data/imports/{job.pk}/mapping/", mapping_post(job, ["first_name"])),
        (f"/data/imports/{job.pk}/start/", {"strategy": "skip"}),
        (f"/data/imports/{job.pk}/undo/", {}),
    ):
        assert web.post(url, data).status_code == 403, url
    assert ImportJob.objects.count() == 1
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DRAFT
    page = web.get(f"/data/imports/{job.pk}/mapping/").content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 2


def test_report_page_query_count_does_not_grow_with_rows(alice, django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = browser(alice)
    counts = []
    for size in (3, 12):
        lines = [f"P{size}x{i},Person,p{size}x{i}@example.com,note" for i in range(size)]
        text = "First name,Last name,E-mail,Notes\n" + "\n".join(lines) + "\n"
        job = imported(web, django_capture_on_commit_callbacks, text=text)
        assert job.created_count == size
        with CaptureQueriesContext(connection) as ctx:
            page = web.get(f"/data/imports/{job.pk}/").content.decode()
        assert page.count('data-outcome="created"') == size
        assert f"P{size}x0 Person</a>" in page  # linked by the record's name
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]
