"""Reads behind "my profile" and the administration area, scoped to what the reader may manage.

Administrators (rapport.accounts.services.is_administrator) manage everything; a manager
manages only the teams where she may grant roles. Anything else answers 404 in the views.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from rapport.accounts.models import (
    ApiToken,
    Membership,
    Role,
    RoleAssignment,
    Team,
    User,
    UserFieldGrant,
)
from rapport.accounts.services import is_administrator
from rapport.core import audit, keyset, permissions
from rapport.core.models import AuditEvent, CustomFieldDefinition

AUDIT_ORDERINGS = {"at": ["at", "id"]}
AUDIT_PAGE_SIZE = 50


def tokens_for_user(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


def token_of_user(*, user: User, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(user=user, pk=token_id).first()
    if token is None:
        raise Http404
    return token


def managed_teams(*, user: User) -> QuerySet[Team]:
    """Teams whose members and roles the user may manage."""
    if is_administrator(user):
        return Team.objects.all()
    auth = permissions.authority(user)
    if not auth.can_grant_roles:
        return Team.objects.none()
    return Team.objects.filter(pk__in=sorted(auth.grant_team_ids))


def may_administer(user) -> bool:
    """Whether any part of the administration area is open to the user (asked on every
    page for the account menu, so answered from the user's grants without a query: a
    role assignment's team exists as long as the assignment does)."""
    if is_administrator(user):
        return True
    auth = permissions.authority(user)
    return auth.can_grant_roles and bool(auth.grant_team_ids)


def require_admin(user) -> None:
    if not is_administrator(user):
        raise Http404


def require_admin_area(user) -> None:
    if not may_administer(user):
        raise Http404


def team_for_manager(*, user: User, team_id: int) -> Team:
    team = managed_teams(user=user).filter(pk=team_id).first()
    if team is None:
        raise Http404
    return team


def team_detail(*, team: Team) -> dict[str, Any]:
    """Members with their assignments on this team, for the team page (three queries)."""
    assignments = RoleAssignment.objects.filter(team=team).select_related("role")
    members = list(
        User.objects.filter(memberships__team=team)
        .order_by("username")
        .prefetch_related(Prefetch("role_assignments", queryset=assignments, to_attr="team_roles"))
    )
    return {"team": team, "members": members}


def users_for_admin() -> QuerySet[User]:
    return User.objects.order_by("username").prefetch_related("teams")


def user_for_admin(*, user_id: int) -> User:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise Http404
    return user


def user_assignments(*, user: User) -> QuerySet[RoleAssignment]:
    return user.role_assignments.select_related("role", "team").order_by("role__name", "team__name")


def field_grant_of_user(*, user: User, grant_id: int) -> UserFieldGrant:
    grant = UserFieldGrant.objects.filter(user=user, pk=grant_id).select_related("user").first()
    if grant is None:
        raise Http404
    return grant


def assignment_for_manager(*, user: User, assignment_id: int) -> RoleAssignment:
    qs = RoleAssignment.objects.select_related("user", "role", "team")
    if not is_administrator(user):
        qs = qs.filter(team__in=managed_teams(user=user))
    assignment = qs.filter(pk=assignment_id).first()
    if assignment is None:
        raise Http404
    return assignment


def roles() -> QuerySet[Role]:
    return Role.objects.order_by("name")


def team_members(*, team: Team) -> QuerySet[User]:
    return User.objects.filter(pk__in=Membership.objects.filter(team=team).values("user_id"))


def custom_fields() -> QuerySet[CustomFieldDefinition]:
    return CustomFieldDefinition.objects.order_by("entity", "position", "id")


def custom_field(*, field_id: int) -> CustomFieldDefinition:
    definition = CustomFieldDefinition.objects.filter(pk=field_id).first()
    if definition is None:
        raise Http404
    return definition


def audit_events(*, reader: User, filters: Mapping[str, Any], cursor: str | None) -> keyset.Page:
    """One keyset page of audit rows, newest first, with values the reader may see.

    `filters` holds cleaned values: actor (User), action, object_type, object_id,
    since/until (aware datetimes, until exclusive). Raises keyset.CursorError.
    """
    qs = AuditEvent.objects.select_related("actor")
    if filters.get("actor") is not None:
        qs = qs.filter(actor=filters["actor"])
    if filters.get("action"):
        qs = qs.filter(action=filters["action"])
    if filters.get("object_type"):
        qs = qs.filter(object_type=filters["object_type"])
    if filters.get("object_id") is not None:
        qs = qs.filter(object_id=filters["object_id"])
    if filters.get("since"):
        qs = qs.filter(at__gte=filters["since"])
    if filters.get("until"):
        qs = qs.filter(at__lt=filters["until"])
    ordering = keyset.parse_ordering(None, AUDIT_ORDERINGS, "-at")
    bound = {k: _bind(v) for k, v in filters.items() if v not in (None, "")}
    page = keyset.paginate(
        qs, ordering=ordering, filters=bound, cursor=cursor, limit=AUDIT_PAGE_SIZE
    )
    for event in page.items:
        event.visible = audit.visible_changes(event, reader)
    return page


def _bind(value: Any) -> str:
    if isinstance(value, User):
        return str(value.pk)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return str(value)
