"""Oversized and malformed uploads: import files above the limit, of the wrong type, a
zip-bomb and an entity-bomb XLSX, a malformed vCard, binary junk posing as CSV, a photo
that is not an image — each a clear error naming the file, never a 500, nothing stored
(no import job, no file left in storage)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from rapport.core.api.testing import fields_of, is_problem
from rapport.dataio.models import ImportJob
from rapport.dataio.tests.importhelpers import csv_bytes

from .attacks import SURFACES, api, browser

pytestmark = pytest.mark.django_db


def _xlsx(rows) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    for row in rows:
        book.active.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(data: bytes, change) -> bytes:
    """The same workbook with its first sheet's XML passed through `change`."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = change(content)
            target.writestr(item.filename, content, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A real workbook whose sheet unpacks to 64 MB of padding (about 65 KB packed)."""
    padding = b" " * (64 * 1024 * 1024)
    return _rewrite_sheet(
        _xlsx([["First name"], ["Ann"]]),
        lambda xml: xml.replace(b"<sheetData>", b"<sheetData>" + padding, 1),
    )


def entity_bomb() -> bytes:
    """Billion laughs inside the sheet XML."""
    lol = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'.encode()
            for i in range(1, 10)
        )
        + b"]>"
    )
    return _rewrite_sheet(
        _xlsx([["First name"], ["Ann"]]),
        lambda xml: lol + xml.split(b"?>", 1)[-1].replace(b"Ann", b"&lol9;"),
    )


BAD_FILES = {
    "binary junk as csv": ("people.csv", bytes(range(256)) * 64),
    "png named csv": ("people.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64),
    "elf named csv": ("people.csv", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200),
    "old excel": ("people.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512),
    "text named xlsx": ("people.xlsx", b"First name\nAnn\n"),
    "truncated xlsx": ("people.xlsx", _xlsx([["First name"], ["Ann"]])[:300]),
    "empty file": ("people.csv", b""),
    "zip bomb xlsx": ("people.xlsx", zip_bomb()),
    "entity bomb xlsx": ("people.xlsx", entity_bomb()),
    "vcard without cards": ("people.vcf", b"\x00\x01BEGIN:VCARX\r\nFN:\xff\xfe\r\n"),
    "unknown encoding name": ("people.csv", "Имя\nАня\n".encode("utf-16-le")[1:]),
}


def _stored_files() -> set[str]:
    root = os.path.join(settings.MEDIA_ROOT, "imports")
    found = set()
    for folder, _dirs, files in os.walk(root):
        found.update(os.path.join(folder, name) for name in files)
    return found


def _upload(surface, user, name: str, content: bytes):
    upload = SimpleUploadedFile(name, content)
    if surface == "html":
        return browser(user).post(
            reverse("dataio:import_new"), {"entity": "person", "file": upload}
        )
    client = api(user)
    return client.client.post("/api/v1/imports", {"entity": "person", "file": upload})


def _refused(surface, response, field="file") -> str:
    if surface == "html":
        assert response.status_code == 200, response.status_code
        errors = response.context["form"].errors
        assert field in errors, errors
        return " ".join(errors[field])
    assert is_problem(response, 422) or is_problem(response, 413), response.content[:300]
    assert field in fields_of(response)
    return response.json()["errors"][0]["message"]


@pytest.mark.parametrize("surface", SURFACES)
def test_oversized_upload_and_malformed_files_are_refused_and_not_stored(surface, alice):
    for case, (name, content) in sorted(BAD_FILES.items()):
        before = _stored_files()
        message = _refused(surface, _upload(surface, alice, name, content))
        assert message and "Traceback" not in message, case
        assert not ImportJob.objects.exists(), case
        assert _stored_files() == before, case


@pytest.mark.parametrize("surface", SURFACES)
def test_oversized_upload_above_the_import_limit_is_refused(surface, alice, settings):
    settings.RAPPORT_IMPORT_MAX_BYTES = 4096
    before = _stored_files()
    content = csv_bytes([["First name", "Notes"]] + [["Ann", "x" * 100]] * 60)
    assert len(content) > settings.RAPPORT_IMPORT_MAX_BYTES
    message = _refused(surface, _upload(surface, alice, "people.csv", content))
    assert "too big" in message
    assert not ImportJob.objects.exists() and _stored_files() == before


@pytest.mark.parametrize("surface", SURFACES)
def test_oversized_upload_request_body_is_refused_before_parsing(surface, alice, settings):
    """A huge form or JSON body (not a file) is refused as a whole: 400/413, no 500."""
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    if surface == "html":
        response = browser(alice).post("/people/new/", {"notes": "x" * 20_000})
        assert response.status_code in (400, 413)
    else:
        response = api(alice).post("/people", {"notes": "x" * 20_000, "first_name": "Big"})
        assert response.status_code in (400, 413, 422)
        assert response["Content-Type"].startswith("application/problem+json")


def test_oversized_upload_malformed_vcard_rows_are_reported_not_crashed(alice):
    """A vCard with broken cards imports what it can and reports the rest per row."""
    from rapport.dataio.tests.importhelpers import run, upload

    content = (
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Good\r\nN:Good;Ann;;;\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nN:;;;;\r\nEMAIL:not-an-email\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:\xff\xfe\x00\r\nPHOTO;ENCODING=b:!!!notbase64\r\n"
        b"BEGIN:VCARD\r\nFN:Nested\r\nEND:VCARD\r\n"
    )
    job = run(alice, upload(alice, content, name="book.vcf"))
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE, job.error
    total = job.created_count + job.updated_count + job.skipped_count + job.rejected_count
    assert total == job.rows.count() >= 1
    assert job.created_count >= 1


NOT_IMAGES = {
    "text as jpg": ("me.jpg", b"hello, I am not a picture"),
    "html as png": ("me.png", b"<html><script>alert(1)</script></html>"),
    "svg with script": (
        "me.svg",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
    ),
    "truncated png": ("me.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"),
}


@pytest.mark.parametrize("case", sorted(NOT_IMAGES))
def test_oversized_upload_photo_that_is_not_an_image_is_refused(case, alice):
    from rapport.contacts.models import Person

    name, content = NOT_IMAGES[case]
    client = browser(alice)
    response = client.post(
        "/people/new/",
        {"first_name": "Photo", "last_name": "Probe", "photo": SimpleUploadedFile(name, content)},
    )
    assert response.status_code == 200
    assert "photo" in response.context["form"].errors
    assert not Person.objects.filter(first_name="Photo").exists()


def _png(width: int, height: int, pixels: bytes | None = None) -> bytes:
    """A PNG by hand: a header that may claim any size, and optional pixel data."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = pixels if pixels is not None else b"\x00" * (1 + 3 * width) * min(height, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_oversized_upload_photo_above_the_size_limit_is_refused(alice, settings):
    """A real picture, but bigger than the photo limit: refused, not stored."""
    from rapport.contacts.models import Person

    settings.RAPPORT_PHOTO_MAX_BYTES = 2048
    noise = os.urandom(3 * 64 * 64)
    rows = b"".join(b"\x00" + noise[i * 192 : (i + 1) * 192] for i in range(64))
    picture = _png(64, 64, rows)
    assert len(picture) > settings.RAPPORT_PHOTO_MAX_BYTES
    response = browser(alice).post(
        "/people/new/",
        {"first_name": "Big", "last_name": "Photo", "photo": SimpleUploadedFile("me.png", picture)},
    )
    assert response.status_code == 200
    assert "photo" in response.context["form"].errors
    assert not Person.objects.filter(first_name="Big").exists()


def test_oversized_upload_photo_decompression_bomb_is_refused(alice):
    """A tiny file whose header claims 40000 x 40000 pixels (Pillow's bomb check)."""
    from rapport.contacts.models import Person

    response = browser(alice).post(
        "/people/new/",
        {
            "first_name": "Bomb",
            "last_name": "Photo",
            "photo": SimpleUploadedFile("me.png", _png(40000, 40000)),
        },
    )
    assert response.status_code == 200
    assert "photo" in response.context["form"].errors
    assert not Person.objects.filter(first_name="Bomb").exists()


def test_oversized_upload_photo_of_an_exotic_format_is_refused(alice):
    """Only the web's picture formats: a valid TIFF or ICO (Pillow reads them) is not a
    photo we store and serve."""
    from PIL import Image

    from rapport.contacts.models import Person

    for name, fmt in (("me.tiff", "TIFF"), ("me.ico", "ICO"), ("me.bmp", "BMP")):
        buffer = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buffer, fmt)
        response = browser(alice).post(
            "/people/new/",
            {
                "first_name": "Odd",
                "last_name": name,
                "photo": SimpleUploadedFile(name, buffer.getvalue()),
            },
        )
        assert response.status_code == 200, name
        assert "photo" in response.context["form"].errors, name
    assert not Person.objects.filter(first_name="Odd").exists()
    ok = io.BytesIO()
    Image.new("RGB", (8, 8)).save(ok, "PNG")
    response = browser(alice).post(
        "/people/new/",
        {
            "first_name": "Fine",
            "last_name": "Photo",
            "photo": SimpleUploadedFile("me.png", ok.getvalue()),
        },
    )
    assert response.status_code == 302
    person = Person.objects.get(first_name="Fine")
    served = browser(alice).get(f"/people/{person.pk}/photo/")
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert served["X-Content-Type-Options"] == "nosniff"
