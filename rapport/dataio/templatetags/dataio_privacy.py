"""`{% privacy_rights object as rights %}`: which data-protection actions the record page
offers the current user (the views check again; this only hides what would be refused)."""

from __future__ import annotations

from django import template

from rapport.contacts.models import Person
from rapport.dataio.privacy import may_erase, may_export_subject

register = template.Library()


@register.simple_tag(takes_context=True)
def privacy_rights(context, obj) -> dict[str, bool]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if not isinstance(obj, Person) or user is None or obj.merged_into is not None:
        return {"export": False, "erase": False}
    return {"export": may_export_subject(user, obj), "erase": may_erase(user, obj)}
