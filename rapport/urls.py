from django.urls import include, path

urlpatterns = [
    path("", include("rapport.api_urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("rapport.accounts.urls")),
    path("", include("rapport.core.urls")),
    path("", include("rapport.contacts.urls")),
]
