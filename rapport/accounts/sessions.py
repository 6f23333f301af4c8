"""Database sessions whose per-request read is SQL compiled once (decision 0038).

Django's database backend builds `Session.objects.get(session_key=…, expire_date__gt=now)`
through the ORM on every request. This reads the same row by its key with a statement
compiled once (`prepared.fetch`) and applies the expiry in Python: a session past its
expiry date is no session, exactly as before.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.utils import timezone

from rapport.core import prepared


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        model = self.model
        key = self.session_key
        found = (
            prepared.fetch(
                model, "session", lambda mark: model.objects.filter(session_key=mark), key
            )
            if key
            else []
        )
        if not found or found[0].expire_date <= timezone.now():
            self._session_key = None
            return None
        return found[0]
