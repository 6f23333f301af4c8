"""The doors of the permission matrix: how a page or API answer is read (status → outcome,
ids in HTML, CSV and JSON lists, all pages followed) and how a probe's writes are undone
between personas. Shared by the matrix and the consistency property."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable

from django.utils import timezone

OK, FORBIDDEN, HIDDEN, SKIPPED = "ok", "forbidden", "hidden", "skipped"

# --- observing one door ------------------------------------------------------------------

UI_STATUS = {200: OK, 302: OK, 403: FORBIDDEN, 404: HIDDEN}
API_STATUS = {200: OK, 201: OK, 204: OK, 403: FORBIDDEN, 404: HIDDEN}


def outcome(response, table: dict[int, str]) -> str:
    location = response.get("Location", "") or ""
    if response.status_code == 302 and "/accounts/login/" in location:
        return f"login-redirect {location}"
    return table.get(response.status_code, f"status {response.status_code}")


def ui_url(entity, suffix: str = "") -> str:
    return f"/{entity.url_base}/{suffix}"


def api_url(entity, suffix: str = "") -> str:
    return f"/api/v1/{entity.url_base}{suffix}"


def ids_in_html(entity, html: str) -> set[int]:
    return {int(pk) for pk in re.findall(rf'href="/{re.escape(entity.url_base)}/(\d+)/"', html)}


def ids_in_csv(content: bytes) -> set[int]:
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows and rows[0][0] == "ID", rows[:1]
    return {int(row[0]) for row in rows[1:] if row}


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def ui_list_ids(client, entity) -> set[int]:
    """Every record the list pages show, following the "Next" cursor to the end."""
    seen: set[int] = set()
    params: dict[str, str] = {}
    for _ in range(100):
        response = client.get(ui_url(entity), params)
        assert response.status_code == 200, response.status_code
        seen |= ids_in_html(entity, response.content.decode())
        cursor = getattr(response.context["page"], "next_cursor", None)
        if not cursor:
            return seen
        params = {"cursor": cursor}
    raise AssertionError("the list never ended")


def api_list_ids(api, entity) -> set[int]:
    seen: set[int] = set()
    params: dict[str, str | int] = {"limit": 200}
    for _ in range(100):
        response = api.get(api_url(entity), params)
        assert response.status_code == 200, response.content
        data = response.json()
        seen |= {item["id"] for item in data["items"]}
        if not data["next_cursor"]:
            return seen
        params = {"limit": 200, "cursor": data["next_cursor"]}
    raise AssertionError("the API list never ended")


def search_terms(entity, obj) -> list[str]:
    """Words of the record's search title: searching them must find it (if visible)."""
    title = entity.search_document(entity.detail_queryset(type(obj).objects.filter(pk=obj.pk))[0])
    return [title["title"]]


def ui_search_finds(client, entity, obj) -> dict[str, bool]:
    found = {}
    for door, path in (("search page", "/search/"), ("palette", "/search/palette/")):
        hits: set[int] = set()
        for term in search_terms(entity, obj):
            response = client.get(path, {"q": term})
            assert response.status_code == 200, (door, response.status_code)
            hits |= ids_in_html(entity, response.content.decode())
        found[door] = obj.pk in hits
    return found


def ui_export_ids(client, entity) -> set[int] | None:
    """Ids in the CSV the list's Export menu downloads; None when the export is refused."""
    response = client.get(f"/data/exports/{entity.key}/", {"format": "csv"})
    if response.status_code == 403:
        return None
    assert response.status_code == 200, response.status_code
    return ids_in_csv(body_of(response))


def api_export_ids(api, entity) -> set[int] | None:
    response = api.post("/exports", {"entity": entity.key, "format": "csv"})
    if response.status_code == 403:
        return None
    assert response.status_code == 201, response.content
    file = api.get(response.json()["file_url"])
    assert file.status_code == 200
    return ids_in_csv(body_of(file))


# --- resetting what a probe changed -------------------------------------------------------


def put_back(objs: Iterable) -> None:
    """Return records to the state the world created them in (a probe may have trashed,
    reassigned or restored them); a direct update, not a user action."""
    for obj in objs:
        type(obj).all_objects.filter(pk=obj.pk).update(
            deleted_at=obj.deleted_at, owner_id=obj.owner_id, team_id=obj.team_id
        )


def trash_directly(objs: Iterable) -> None:
    now = timezone.now()
    for obj in objs:
        type(obj).all_objects.filter(pk=obj.pk).update(deleted_at=now)


def stored(obj):
    return type(obj).all_objects.get(pk=obj.pk)
