"""Row scope and field permissions: the one place that answers "may this user do that?".

A role grants, per entity key (or "*" for every entity), each action with a scope
(own, team, all). A user holds role assignments, each either on one team or on all
teams. Every grant the user holds is turned into a Q object and the grants are
OR-ed, so the most permissive one wins. `restrict()` on every model's queryset
applies exactly this, and `allows()` answers the same question for one object in
Python without a query.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

ACTIONS = ("view", "add", "change", "delete", "export", "assign")
SCOPES = ("own", "team", "all")
SCOPE_RANK = {"own": 1, "team": 2, "all": 3}
PERSONAL_DATA = "personal_data"
FIELD_PERMISSIONS = (PERSONAL_DATA,)


@dataclass(frozen=True)
class Grant:
    """One (scope, team set) allowance for an entity and action."""

    scope: str
    team_ids: frozenset[int]  # teams the "team" scope covers


@dataclass
class Authority:
    """Everything a user's roles allow, computed once per user object."""

    user_id: int | None
    member_team_ids: frozenset[int]
    grants: dict[tuple[str, str], list[Grant]]
    field_permissions: frozenset[str]
    can_grant_roles: bool
    grant_team_ids: frozenset[int]  # teams where the user may grant roles (None team = all)
    grants_everywhere: bool

    def grants_for(self, entity: str, action: str) -> list[Grant]:
        return self.grants.get((entity, action), []) + self.grants.get(("*", action), [])


def authority(user) -> Authority:
    """The user's combined grants, cached on the user object for the request."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return Authority(None, frozenset(), {}, frozenset(), False, frozenset(), False)
    cached = getattr(user, "_rapport_authority", None)
    if cached is not None:
        return cached
    from django.db.models import CharField, IntegerField, Value

    from rapport.accounts.models import Membership, RoleAssignment, UserFieldGrant

    # Team memberships and field grants in one round trip (a UNION ALL of both lists).
    teams_and_fields = (
        Membership.objects.filter(user=user)
        .annotate(permission=Value("", output_field=CharField()))
        .values_list("team_id", "permission")
        .union(
            UserFieldGrant.objects.filter(user=user)
            .annotate(team=Value(None, output_field=IntegerField()))
            .values_list("team", "permission"),
            all=True,
        )
    )
    member_team_set: set[int] = set()
    field_perms: set[str] = set()
    for team_id, permission in teams_and_fields:
        if team_id is not None:
            member_team_set.add(team_id)
        if permission:
            field_perms.add(permission)
    member_teams = frozenset(member_team_set)
    grants: dict[tuple[str, str], list[Grant]] = {}
    can_grant = False
    grant_teams: set[int] = set()
    everywhere = False
    assignments = RoleAssignment.objects.filter(user=user).select_related("role")
    for assignment in assignments:
        role = assignment.role
        teams = frozenset({assignment.team_id}) if assignment.team_id else member_teams
        for entity, actions in (role.permissions or {}).items():
            for action, scope in actions.items():
                if action in ACTIONS and scope in SCOPES:
                    grants.setdefault((entity, action), []).append(Grant(scope, teams))
        field_perms.update(role.field_permissions or [])
        if role.can_grant_roles:
            can_grant = True
            if assignment.team_id:
                grant_teams.add(assignment.team_id)
            else:
                everywhere = True
    result = Authority(
        user.pk,
        member_teams,
        grants,
        frozenset(field_perms),
        can_grant,
        frozenset(grant_teams),
        everywhere,
    )
    user._rapport_authority = result
    return result


def forget(user) -> None:
    """Drop the cached authority after roles, teams or grants change."""
    if user is not None and hasattr(user, "_rapport_authority"):
        del user._rapport_authority


def scope_q(user, entity: str, action: str) -> Q | None:
    """A filter selecting the rows `user` may `action`; None means no rows at all."""
    auth = authority(user)
    parts: list[Q] = []
    team_ids: set[int] = set()
    own = False
    for grant in auth.grants_for(entity, action):
        if grant.scope == "all":
            return Q()
        if grant.scope == "team":
            team_ids.update(grant.team_ids)
        else:
            own = True
    if own and auth.user_id is not None:
        parts.append(Q(owner_id=auth.user_id))
    if team_ids:
        parts.append(Q(team_id__in=sorted(team_ids)))
    if not parts:
        return None
    combined = parts[0]
    for part in parts[1:]:
        combined |= part
    return combined


def best_scope(user, entity: str, action: str) -> str | None:
    """The widest scope the user holds for an action, or None."""
    best = None
    for grant in authority(user).grants_for(entity, action):
        if best is None or SCOPE_RANK[grant.scope] > SCOPE_RANK[best]:
            best = grant.scope
    return best


def can(user, entity: str, action: str) -> bool:
    """Whether the user holds the action on the entity at any scope (e.g. may add at all)."""
    return best_scope(user, entity, action) is not None


def allows(user, entity: str, action: str, obj) -> bool:
    """Python twin of scope_q for one loaded object; tests prove they agree."""
    auth = authority(user)
    for grant in auth.grants_for(entity, action):
        if grant.scope == "all":
            return True
        if grant.scope == "team" and obj.team_id is not None and obj.team_id in grant.team_ids:
            return True
        if grant.scope == "own" and auth.user_id is not None and obj.owner_id == auth.user_id:
            return True
    return False


def has_field_permission(user, permission: str) -> bool:
    return permission in authority(user).field_permissions
