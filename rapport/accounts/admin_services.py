"""Writes behind "my profile" and the administration area that services.py does not cover:
preferences, activating users, teams and memberships, revoking field grants.

Each validates, writes and records its audit row in one transaction, like every service.
"""

from __future__ import annotations

import zoneinfo
from functools import cache

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _

from rapport.accounts.models import Membership, Team, User, UserFieldGrant
from rapport.accounts.services import is_administrator
from rapport.core import audit, permissions
from rapport.core.exceptions import ValidationError
from rapport.core.services import deny, service

PROFILE_FIELDS = ("language", "time_zone", "theme", "phone_region")


@cache
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def phone_regions() -> list[str]:
    return sorted(phonenumbers.SUPPORTED_REGIONS)


def _require_admin(actor, what: str, **target) -> None:
    if not is_administrator(actor):
        raise deny(what, actor=actor, extra={"action": what}, **target)


def _user_target(user: User) -> dict:
    return {"object_type": "user", "object_id": user.pk, "object_repr": user.username}


@service
def profile_update(
    *, user: User, language: str, time_zone: str, theme: str, phone_region: str
) -> User:
    """Save a user's own preferences; every value is checked against what Rapport supports."""
    errors: dict[str, list[str]] = {}
    language = (language or "").strip()
    if language and language not in dict(settings.LANGUAGES):
        errors["language"] = [_("Choose one of the offered languages.")]
    time_zone = (time_zone or "").strip()
    if time_zone and time_zone not in time_zone_names():
        errors["time_zone"] = [_("Choose a time zone such as Europe/Kyiv.")]
    theme = (theme or User.Theme.SYSTEM).strip()
    if theme not in User.Theme.values:
        errors["theme"] = [_("Choose light, dark or system.")]
    phone_region = (phone_region or "").strip().upper()
    if phone_region and phone_region not in phonenumbers.SUPPORTED_REGIONS:
        errors["phone_region"] = [_("Enter a two-letter country code such as UA or PL.")]
    if errors:
        raise ValidationError(errors)
    before = {name: getattr(user, name) for name in PROFILE_FIELDS}
    user.language, user.time_zone, user.theme, user.phone_region = (
        language,
        time_zone,
        theme,
        phone_region,
    )
    changes = audit.diff(before, {name: getattr(user, name) for name in PROFILE_FIELDS})
    if changes:
        user.save(update_fields=list(PROFILE_FIELDS))
        audit.record(audit.Action.UPDATE, actor=user, changes=changes, **_user_target(user))
    return user


@service
def user_set_active(*, actor: User, user: User, active: bool) -> User:
    """Deactivate (sign-in refused, sessions end at their next request) or reactivate."""
    _require_admin(actor, "deactivate", **_user_target(user))
    if user.pk == actor.pk and not active:
        raise ValidationError({"user": [_("You cannot deactivate yourself.")]})
    if user.is_active != active:
        user.is_active = active
        user.save(update_fields=["is_active"])
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            changes={"is_active": [not active, active]},
            **_user_target(user),
        )
    return user


@service
def team_create(*, actor: User, name: str) -> Team:
    _require_admin(actor, "team_create", object_type="team")
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": [_("A team needs a name.")]})
    if len(name) > 100:
        raise ValidationError({"name": [_("Use at most 100 characters.")]})
    if Team.objects.filter(name__iexact=name).exists():
        raise ValidationError({"name": [_("A team with this name already exists.")]})
    team = Team.objects.create(name=name)
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        object_type="team",
        object_id=team.pk,
        object_repr=team.name,
        changes={"name": [None, team.name]},
    )
    return team


@service
def membership_add(*, actor: User, team: Team, user: User) -> Membership:
    """Put a user in a team (and make it the primary team when they had none)."""
    _require_admin(actor, "membership", object_type="team", object_id=team.pk)
    membership, created = Membership.objects.get_or_create(user=user, team=team)
    if created:
        if user.primary_team_id is None:
            user.primary_team = team
            user.save(update_fields=["primary_team"])
        audit.record(
            audit.Action.UPDATE,
            actor=actor,
            object_type="team",
            object_id=team.pk,
            object_repr=team.name,
            changes={"members": [None, user.username]},
        )
        permissions.forget(user)
    return membership


@service
def membership_remove(*, actor: User, team: Team, user: User) -> None:
    """Take a user out of a team; role assignments on that team go with the membership."""
    _require_admin(actor, "membership", object_type="team", object_id=team.pk)
    deleted, _counts = Membership.objects.filter(user=user, team=team).delete()
    if not deleted:
        return
    user.role_assignments.filter(team=team).delete()
    if user.primary_team_id == team.pk:
        user.primary_team = user.teams.order_by("name").first()
        user.save(update_fields=["primary_team"])
    audit.record(
        audit.Action.UPDATE,
        actor=actor,
        object_type="team",
        object_id=team.pk,
        object_repr=team.name,
        changes={"members": [user.username, None]},
    )
    permissions.forget(user)


@service
def field_revoke(*, actor: User, grant: UserFieldGrant) -> None:
    _require_admin(actor, "field_revoke", **_user_target(grant.user))
    audit.record(
        audit.Action.ROLE_CHANGE,
        actor=actor,
        changes={"field_permission": [grant.permission, None]},
        **_user_target(grant.user),
    )
    grant.delete()
    permissions.forget(grant.user)
