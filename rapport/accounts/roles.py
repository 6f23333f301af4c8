"""The built-in roles, defined once; a data migration and `ensure_builtin_roles` load them."""

from __future__ import annotations

from rapport.core.permissions import ACTIONS, PERSONAL_DATA

BUILTIN_ROLES: dict[str, dict] = {
    "admin": {
        "label": "Administrator",
        "permissions": {"*": dict.fromkeys(ACTIONS, "all")},
        "field_permissions": [PERSONAL_DATA],
        "can_grant_roles": True,
    },
    "manager": {
        "label": "Manager",
        "permissions": {"*": dict.fromkeys(ACTIONS, "team")},
        "field_permissions": [PERSONAL_DATA],
        "can_grant_roles": True,
    },
    "rep": {
        "label": "Sales rep",
        "permissions": {"*": {"view": "team", "add": "own", "change": "own", "delete": "own"}},
        "field_permissions": [],
        "can_grant_roles": False,
    },
    "viewer": {
        "label": "Viewer",
        "permissions": {"*": {"view": "team"}},
        "field_permissions": [],
        "can_grant_roles": False,
    },
}


def ensure_builtin_roles(role_model) -> None:
    """Create or refresh the built-in roles (idempotent)."""
    for name, spec in BUILTIN_ROLES.items():
        role_model.objects.update_or_create(
            name=name,
            defaults={
                "label": spec["label"],
                "permissions": spec["permissions"],
                "field_permissions": spec["field_permissions"],
                "can_grant_roles": spec["can_grant_roles"],
                "builtin": True,
            },
        )
