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
    rows = _authority_rows(user.pk)
    member_team_set: set[int] = set()
    field_perms: set[str] = set()
    assignments = []
    for kind, team_id, permission, role_permissions, role_fields, role_grants in rows:
        if kind == "m":
            member_team_set.add(team_id)
        elif kind == "f":
            field_perms.add(permission)
        else:
            assignments.append((team_id, role_permissions, role_fields, role_grants))
    member_teams = frozenset(member_team_set)
    grants: dict[tuple[str, str], list[Grant]] = {}
    can_grant = False
    grant_teams: set[int] = set()
    everywhere = False
    for team_id, role_permissions, role_fields, role_grants in assignments:
        teams = frozenset({team_id}) if team_id else member_teams
        for entity, actions in (role_permissions or {}).items():
            for action, scope in actions.items():
                if action in ACTIONS and scope in SCOPES:
                    grants.setdefault((entity, action), []).append(Grant(scope, teams))
        field_perms.update(role_fields or [])
        if role_grants:
            can_grant = True
            if team_id:
                grant_teams.add(team_id)
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


def _authority_rows(user_id: int) -> list[tuple]:
    """(kind, team id, field permission, role permissions, role field permissions, role may
    grant) for each team membership ("m"), field grant ("f") and role assignment ("r") of
    the user: one round trip, written as SQL because every request asks it and the ORM
    took longer to build the union than the database took to answer it."""
    from django.db import connection

    from rapport.accounts.models import Membership, Role, RoleAssignment, UserFieldGrant

    quote = connection.ops.quote_name
    member, field = Membership._meta.db_table, UserFieldGrant._meta.db_table
    assignment, role = RoleAssignment._meta.db_table, Role._meta.db_table
    sql = (  # the role branch first: PostgreSQL types the columns from it
        "SELECT 'r', a.team_id, NULL, r.permissions, r.field_permissions, r.can_grant_roles "  # noqa: S608  # nosec B608 # identifiers from code, values as parameters
        f"FROM {quote(assignment)} a JOIN {quote(role)} r ON r.id = a.role_id "
        "WHERE a.user_id = %s "
        f"UNION ALL SELECT 'm', team_id, NULL, NULL, NULL, NULL FROM {quote(member)} "
        "WHERE user_id = %s "
        f"UNION ALL SELECT 'f', NULL, permission, NULL, NULL, NULL FROM {quote(field)} "
        "WHERE user_id = %s"
    )
    decode = Role._meta.get_field("permissions").from_db_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, user_id, user_id])
        return [
            (
                kind,
                team,
                permission,
                decode(perms, None, connection) if kind == "r" else None,
                decode(fields, None, connection) if kind == "r" else None,
                bool(grants) if kind == "r" else False,
            )
            for kind, team, permission, perms, fields, grants in cursor.fetchall()
        ]


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
