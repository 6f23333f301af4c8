"""Static files: WhiteNoise's compressed, hashed storage, with each URL looked up once.

Every page asks for the same handful of assets (`_head.html` alone names five), and a
hashed URL costs a manifest lookup, a split, an unquote and a join each time. The
manifest cannot change while a process runs (`collectstatic` is followed by a
restart), so a name's URL is kept once found. A name missing from the manifest still
raises every time; nothing is kept for it.
"""

from __future__ import annotations

from django.conf import settings
from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force or settings.DEBUG:
            return super().url(name, force)
        found = self._urls.get(name)
        if found is None:
            found = self._urls[name] = super().url(name)
        return found
