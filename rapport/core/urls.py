from django.urls import path

from rapport.core.views import preferences, shell, trash

app_name = "core"

urlpatterns = [
    path("", shell.dashboard, name="dashboard"),
    path("search/", shell.search_page, name="search"),
    path("trash/", trash.trash, name="trash"),
    path("search/palette/", shell.palette, name="palette"),
    path("preferences/language/", preferences.set_language, name="language"),
    path("preferences/theme/", preferences.set_theme, name="theme"),
]
