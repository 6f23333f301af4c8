"""Writes on users, teams, roles, field grants and API tokens."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from django.contrib.auth.password_validation import validate_password
from django.db import connections, models, router
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from rapport.accounts.models import (
    TOKEN_PREFIX,
    ApiToken,
    Membership,
    Role,
    RoleAssignment,
    Team,
    User,
    UserFieldGrant,
    hash_token,
)
from rapport.core import audit, permissions
from rapport.core.exceptions import PermissionDenied, ValidationError
from rapport.core.services import deny, service


def is_administrator(user) -> bool:
    """May manage users, teams, roles and settings across the whole system."""
    return permissions.authority(user).grants_everywhere


def team_get_or_create(*, name: str) -> Team:
    team, _ = Team.objects.get_or_create(name=name.strip())
    return team


@service
def user_create(
    *,
    username: str,
    password: str,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
    teams: list[str] = (),
    roles: list[str] = (),
    admin: bool = False,
    actor=None,
    validate: bool = True,
) -> User:
    """Create a user with memberships and role assignments (roles on the first team named,
    or on all teams when none is named)."""
    username = username.strip()
    if not username:
        raise ValidationError({"username": ["A username is required."]})
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationError({"username": [f"A user named {username!r} already exists."]})
    user = User(username=username, email=email, first_name=first_name, last_name=last_name)
    if validate:
        validate_password(password, user)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    team_objs = [team_get_or_create(name=name) for name in teams]
    for team in team_objs:
        Membership.objects.get_or_create(user=user, team=team)
    if team_objs:
        user.primary_team = team_objs[0]
        user.save(update_fields=["primary_team"])
    role_names = list(roles) + (["admin"] if admin else [])
    for role_name in role_names:
        role = Role.objects.filter(name=role_name).first()
        if role is None:
            raise ValidationError({"role": [f"There is no role named {role_name!r}."]})
        scope_team = None if role_name == "admin" or not team_objs else team_objs[0]
        RoleAssignment.objects.get_or_create(
            user=user, role=role, team=scope_team, defaults={"granted_by": actor}
        )
    audit.record(
        audit.Action.CREATE,
        actor=actor,
        object_type="user",
        object_id=user.pk,
        object_repr=user.username,
        changes={"teams": [None, teams], "roles": [None, role_names]},
    )
    return user


def _role_within(actor, role: Role, team: Team | None) -> bool:
    """Whether every permission in `role` is within what the actor holds on that team."""
    auth = permissions.authority(actor)
    for entity, actions in role.permissions.items():
        for action, scope in actions.items():
            allowed = False
            for grant in (
                auth.grants_for(entity, action)
                if entity != "*"
                else auth.grants.get(("*", action), [])
            ):
                if permissions.SCOPE_RANK[grant.scope] < permissions.SCOPE_RANK[scope]:
                    continue
                if (
                    grant.scope == "all"
                    or team is None
                    or team.pk in grant.team_ids
                    or grant.scope == "own"
                ):
                    allowed = True
                    break
            if not allowed:
                return False
    if set(role.field_permissions) - auth.field_permissions:
        return False
    return True


def may_grant(actor, *, user: User, role: Role, team: Team | None) -> bool:
    auth = permissions.authority(actor)
    if not auth.can_grant_roles or actor.pk == user.pk:
        return False
    if auth.grants_everywhere:
        return True
    if team is None or team.pk not in auth.grant_team_ids:
        return False
    if not Membership.objects.filter(user=user, team=team).exists():
        return False
    return _role_within(actor, role, team)


@service
def role_grant(*, actor, user: User, role: Role, team: Team | None) -> RoleAssignment:
    """Give `user` a role on a team (or on all teams); managers only inside their teams,
    only roles within their own rights, never to themselves."""
    if not may_grant(actor, user=user, role=role, team=team):
        raise deny(
            "grant",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            extra={"action": "grant", "role": role.name},
        )
    assignment, created = RoleAssignment.objects.get_or_create(
        user=user, role=role, team=team, defaults={"granted_by": actor}
    )
    if created:
        audit.record(
            audit.Action.ROLE_CHANGE,
            actor=actor,
            object_type="user",
            object_id=user.pk,
            object_repr=user.username,
            changes={"role": [None, role.name]},
            extra={"team": team.name if team else "*"},
        )
    permissions.forget(user)
    return assignment


@service
def role_revoke(*, actor, assignment: RoleAssignment) -> None:
    if not may_grant(actor, user=assignment.user, role=assignment.role, team=assignment.team):
        raise deny(
            "revoke",
            actor=actor,
            object_type="user",
            object_id=assignment.user_id,
            extra={"action": "revoke", "role": assignment.role.name},
        )
    audit.record(
        audit.Action.ROLE_CHANGE,
        actor=actor,
        object_type="user",
        object_id=assignment.user_id,
        object_repr=assignment.user.username,
        changes={"role": [assignment.role.name, None]},
        extra={"team": assignment.team.name if assignment.team else "*"},
    )
    assignment.delete()
    permissions.forget(assignment.user)


@service
def field_grant(*, actor, user: User, permission: str) -> UserFieldGrant:
    if permission not in permissions.FIELD_PERMISSIONS:
        raise ValidationError({"permission": [f"Unknown field permission {permission!r}."]})
    if not is_administrator(actor):
        raise deny(
            "grant",
            actor=actor,
            object_type="user",
            object_id=user.pk,
            extra={"action": "field_grant", "permission": permission},
        )
    grant, _ = UserFieldGrant.objects.get_or_create(
        user=user, permission=permission, defaults={"granted_by": actor}
    )
    audit.record(
        audit.Action.ROLE_CHANGE,
        actor=actor,
        object_type="user",
        object_id=user.pk,
        object_repr=user.username,
        changes={"field_permission": [None, permission]},
    )
    permissions.forget(user)
    return grant


def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """A new token; the raw value is returned once and never stored."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=(name or "API token")[:100], digest=hash_token(raw), prefix=raw[:8]
    )
    audit.record(
        audit.Action.TOKEN_CREATE,
        actor=user,
        object_type="user",
        object_id=user.pk,
        object_repr=user.username,
        extra={"token": token.name, "prefix": token.prefix},
    )
    return token, raw


def token_revoke(*, actor, token: ApiToken) -> None:
    if token.user_id != actor.pk and not is_administrator(actor):
        raise PermissionDenied("revoke")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit.record(
            audit.Action.TOKEN_REVOKE,
            actor=actor,
            object_type="user",
            object_id=token.user_id,
            extra={"token": token.name, "prefix": token.prefix},
        )


def _from_row(model, fields, values):
    """A model instance from raw column values, converted the way the ORM would."""
    converted = []
    for field, value in zip(fields, values, strict=True):
        if value is not None:
            if isinstance(field, models.DateTimeField) and not isinstance(value, datetime):
                value = parse_datetime(value)
            if isinstance(value, datetime) and timezone.is_naive(value):
                value = timezone.make_aware(value, UTC)
            elif isinstance(field, models.BooleanField):
                value = bool(value)
        converted.append(value)
    return model.from_db(router.db_for_read(model), [f.attname for f in fields], converted)


_TOKEN_FIELDS = [
    ApiToken._meta.get_field(n) for n in ("id", "user", "name", "prefix", "last_used_at")
]


def _active_token(digest: str) -> ApiToken | None:
    """The unrevoked token with this digest and its user, in one fixed-shape statement
    (every API request asks it; decision 0034)."""
    user_fields = list(User._meta.concrete_fields)
    columns = [f'"t"."{f.column}"' for f in _TOKEN_FIELDS]
    columns += [f'"u"."{f.column}"' for f in user_fields]
    # Identifiers come from the models; the digest travels as a parameter.
    sql = (
        f"SELECT {', '.join(columns)} FROM {ApiToken._meta.db_table} t "  # noqa: S608  # nosec B608
        f"JOIN {User._meta.db_table} u ON u.id = t.user_id "
        "WHERE t.digest = %s AND t.revoked_at IS NULL"
    )
    with connections[router.db_for_read(ApiToken)].cursor() as cursor:
        cursor.execute(sql, [digest])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(_TOKEN_FIELDS)
    token = _from_row(ApiToken, _TOKEN_FIELDS, row[:width])
    token.user = _from_row(User, user_fields, row[width:])
    return token


def token_authenticate(raw: str) -> User | None:
    """The active user behind a raw token, updating last_used_at at most once a minute."""
    if not raw.startswith(TOKEN_PREFIX):
        return None
    token = _active_token(hash_token(raw))
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() >= 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        audit.record(
            audit.Action.TOKEN_USE,
            actor=token.user,
            object_type="user",
            object_id=token.user_id,
            extra={"token": token.name, "prefix": token.prefix},
        )
    token.user.api_token = token
    return token.user
