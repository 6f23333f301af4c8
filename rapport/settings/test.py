"""Tests: TEST_DATABASE_URL picks PostgreSQL; SQLite uses a file so WAL and threads work."""

import os
import tempfile

from rapport.settings.base import *  # noqa: F403
from rapport.settings.base import database_config

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests only
_test_url = os.environ.get("TEST_DATABASE_URL")
if _test_url:
    DATABASES = {"default": database_config(_test_url)}
else:
    DATABASES = {
        "default": database_config(
            "sqlite:///" + os.path.join(tempfile.gettempdir(), "rapport-test.sqlite3")
        )
    }
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"rapport-test-{os.getpid()}.sqlite3")
    }
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
STATIC_ROOT = os.path.join(tempfile.gettempdir(), "rapport-test-static")
os.makedirs(STATIC_ROOT, exist_ok=True)
MEDIA_ROOT = os.path.join(tempfile.gettempdir(), f"rapport-test-media-{os.getpid()}")
