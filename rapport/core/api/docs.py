"""Interactive API docs served offline: Swagger UI from the files inside the
django-ninja wheel, loaded as external scripts so the strict CSP (`script-src 'self'`)
holds; the page's settings travel in a JSON data block, never in inline code."""

from __future__ import annotations

import mimetypes
from pathlib import Path

import ninja
from django.http import FileResponse, HttpResponse
from django.middleware.csrf import get_token
from django.urls import reverse
from django.utils.html import format_html, json_script
from ninja.openapi.docs import DocsBase

from rapport.core.api.problems import problem_response

ASSET_DIR = Path(ninja.__file__).resolve().parent / "static" / "ninja"
ASSETS = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui.css.map",
        "swagger-ui-bundle.js",
        "swagger-ui-bundle.js.map",
        "swagger-ui-init.js",
        "favicon.png",
        "favicon.svg",
    }
)
ASSET_URL_NAME = "api-docs-asset"


def asset_url(name: str) -> str:
    return reverse(ASSET_URL_NAME, args=[name])


class OfflineSwagger(DocsBase):
    def render_page(self, request, api, **kwargs) -> HttpResponse:
        settings = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
            "validatorUrl": None,  # the default badge would call validator.swagger.io
        }
        csrf = get_token(request) if request.user.is_authenticated else ""
        html = format_html(
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<title>{title}</title>"
            '<link rel="stylesheet" href="{css}">'
            '<link rel="icon" href="{icon}" type="image/svg+xml"></head>'
            '<body data-csrf-token="{csrf}" data-api-csrf="{api_csrf}">{settings}'
            '<div id="swagger-ui"></div>'
            '<script src="{bundle}"></script><script src="{init}"></script>'
            "</body></html>",
            title=api.title,
            css=asset_url("swagger-ui.css"),
            icon=asset_url("favicon.svg"),
            csrf=csrf,
            api_csrf="true" if csrf else "",
            settings=json_script(settings, "swagger-settings"),
            bundle=asset_url("swagger-ui-bundle.js"),
            init=asset_url("swagger-ui-init.js"),
        )
        return HttpResponse(html, content_type="text/html; charset=utf-8")


def docs_asset(request, name: str):
    """One file of the bundled Swagger UI (allow-listed; cached by browsers for a week)."""
    if name not in ASSETS or request.method not in {"GET", "HEAD"}:
        return problem_response(404)
    path = ASSET_DIR / name
    content_type = mimetypes.guess_type(name)[0] or "application/json"
    if name.endswith(".js"):
        content_type = "text/javascript"
    response = FileResponse(path.open("rb"), content_type=content_type)
    response["Cache-Control"] = "public, max-age=604800"
    return response
