"""The Rapport NinjaAPI: auth, throttling, problem handlers, offline docs, one router per
entity of the kit, and an OpenAPI document that declares every error it can answer."""

from __future__ import annotations

import functools
import importlib
from typing import Any

from django.apps import apps
from django.utils.module_loading import module_has_submodule
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from rapport.core.api import openapi, routers
from rapport.core.api.auth import UserRateThrottle, auth_schemes
from rapport.core.api.crud import entity_router, specs
from rapport.core.api.docs import OfflineSwagger
from rapport.core.api.problems import install_handlers, is_problem, problem_response, response_for
from rapport.core.registry import registry

DESCRIPTION = (
    "Rapport's HTTP API. Authenticate with `Authorization: Bearer rpt_…` (a personal token "
    "from your profile) or a signed-in browser session with the CSRF header. Errors are "
    "`application/problem+json` (RFC 9457) with the fields at fault."
)


class RapportAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        openapi.finish(schema)
        return schema


def discover() -> None:
    """Import every Rapport app's `api` module, where entities declare their shapes."""
    for config in apps.get_app_configs():
        if config.name.startswith("rapport.") and module_has_submodule(config.module, "api"):
            importlib.import_module(f"{config.name}.api")


def build_api() -> RapportAPI:
    from rapport.core.api.audit import audit_router

    discover()
    api = RapportAPI(
        title="Rapport API",
        version="1",
        description=DESCRIPTION,
        urls_namespace="api-v1",
        auth=auth_schemes(),
        throttle=[UserRateThrottle()],
        docs=OfflineSwagger(),
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    install_handlers(api)
    for entity in registry:
        spec = specs.get(entity.key)
        if spec is not None:
            api.add_router(f"/{entity.url_base}", entity_router(spec, api))
    api.add_router("/audit", audit_router())
    for prefix, factory in routers.extra:
        api.add_router(prefix, factory())
    return api


def guard(view):
    """Outside operations too, answers under /api/ are problem+json (405, 404, 500)."""

    @functools.wraps(view)
    def guarded(request, *args, **kwargs):
        try:
            response = view(request, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - nothing under /api/ may answer with HTML
            return response_for(exc, request)
        if response.status_code == 405 and not is_problem(response):
            allow = response.get("Allow", "")
            return problem_response(
                405, _("Use one of: %(allow)s.") % {"allow": allow}, headers={"Allow": allow}
            )
        if response.status_code == 404 and not is_problem(response):
            return problem_response(404, _("There is nothing here."))
        return response

    return guarded


def guarded_urls(api: NinjaAPI) -> tuple[list[Any], str, str]:
    patterns, app_name, namespace = api.urls
    for pattern in patterns:
        pattern.callback = guard(pattern.callback)
    return patterns, app_name, namespace


@csrf_exempt
def not_found(request, *args, **kwargs):
    """Every other path under /api/."""
    return problem_response(404, _("There is nothing here; the API lives under /api/v1/."))
