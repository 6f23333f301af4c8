"""Data in and out: /data/imports/, /data/exports/, /data/duplicates/, /data/merges/,
/data/privacy/ (each feature's patterns live in its views module)."""

from django.urls import include, path

from rapport.dataio.views import duplicates, exports, imports, merges, privacy

app_name = "dataio"

urlpatterns = [
    path("imports/", include(imports.urlpatterns)),
    path("exports/", include(exports.urlpatterns)),
    path("duplicates/", include(duplicates.urlpatterns)),
    path("merges/", include(merges.urlpatterns)),
    path("privacy/", include(privacy.urlpatterns)),
]
