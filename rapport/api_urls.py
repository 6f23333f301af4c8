"""The HTTP API's URLs: `api` is the NinjaAPI (served at /api/v1/), and every other path
under /api/ answers a problem+json 404. Included by rapport/urls.py with
`path("", include("rapport.api_urls"))`."""

from django.urls import path, re_path

from rapport.core.api.docs import ASSET_URL_NAME, docs_asset
from rapport.core.api.site import build_api, guarded_urls, not_found

api = build_api()

urlpatterns = [
    path("api/v1/docs/assets/<str:name>", docs_asset, name=ASSET_URL_NAME),
    path("api/v1/", guarded_urls(api)),
    re_path(r"^api(?:/|$)", not_found),
]
