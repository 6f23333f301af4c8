"""Errors services raise; the UI and the API translate them the same way."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError  # noqa: F401  (re-exported)


class ConflictError(Exception):
    """A stale write: the record changed since the caller read it (HTTP 412 / a form error)."""

    def __init__(self, *, current_version: int, expected_version: int, current=None):
        self.current_version = current_version
        self.expected_version = expected_version
        self.current = current
        super().__init__(
            f"The record changed (version {current_version}, you edited {expected_version})."
        )


class FieldPermissionDenied(PermissionDenied):
    """The actor may not set this field (owner/team without assign, personal data)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(message)
