from django.urls import include, path

from rapport.core.views import health

urlpatterns = [
    path("", include("rapport.api_urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("rapport.accounts.urls")),
    path("healthz", health.healthz, name="healthz"),
    path("", include("rapport.core.urls")),
    path("", include("rapport.contacts.urls")),
    path("data/", include("rapport.dataio.urls")),
]
