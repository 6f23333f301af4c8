"""The administration area: users, teams and role assignments, field grants, custom
fields and the audit log.

Views parse, call a service and render. The area answers 404 to anyone who may not manage
it (managers see only their teams), like any record one may not see.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from rapport.accounts import admin_services, forms, selectors, services
from rapport.core import customfield_services, keyset

# --- administration: home and users ------------------------------------------------------


@login_required
def admin_home(request):
    selectors.require_admin_area(request.user)
    context = {
        "is_admin": services.is_administrator(request.user),
        "teams": selectors.managed_teams(user=request.user),
    }
    return render(request, "accounts/admin/home.html", context)


@login_required
def users(request):
    selectors.require_admin(request.user)
    form = forms.UserCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                user = services.user_create(
                    actor=request.user,
                    username=data["username"],
                    password=data["password"],
                    email=data["email"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    teams=[data["team"].name] if data["team"] else [],
                    roles=[data["role"].name] if data["role"] else [],
                    admin=data["admin"],
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("User “%(name)s” created.") % {"name": user.username})
                return redirect("accounts:user", user_id=user.pk)
        status = 422
    context = {"users": selectors.users_for_admin(), "form": form}
    return render(request, "accounts/admin/users.html", context, status=status)


def _user_page(request, user, *, role_form=None, field_form=None, error=None, status=200):
    context = {
        "subject": user,
        "assignments": selectors.user_assignments(user=user),
        "field_grants": user.field_grants.order_by("permission"),
        "role_form": role_form or forms.GlobalRoleGrantForm(),
        "field_form": field_form or forms.FieldGrantForm(),
        "error": error,
    }
    return render(request, "accounts/admin/user.html", context, status=status)


@login_required
def user_detail(request, user_id: int):
    selectors.require_admin(request.user)
    return _user_page(request, selectors.user_for_admin(user_id=user_id))


@login_required
@require_POST
def user_set_active(request, user_id: int):
    selectors.require_admin(request.user)
    user = selectors.user_for_admin(user_id=user_id)
    try:
        admin_services.user_set_active(
            actor=request.user, user=user, active=request.POST.get("active") == "1"
        )
    except ValidationError as exc:
        return _user_page(request, user, error=" ".join(exc.messages), status=422)
    return redirect("accounts:user", user_id=user.pk)


@login_required
@require_POST
def user_role_grant(request, user_id: int):
    selectors.require_admin(request.user)
    user = selectors.user_for_admin(user_id=user_id)
    form = forms.GlobalRoleGrantForm(request.POST)
    if not form.is_valid():
        return _user_page(request, user, role_form=form, status=422)
    try:
        services.role_grant(actor=request.user, user=user, **form.cleaned_data)
    except PermissionDenied:
        return _user_page(request, user, role_form=form, error=_grant_refused(), status=403)
    return redirect("accounts:user", user_id=user.pk)


@login_required
@require_POST
def user_field_grant(request, user_id: int):
    selectors.require_admin(request.user)
    user = selectors.user_for_admin(user_id=user_id)
    form = forms.FieldGrantForm(request.POST)
    if not form.is_valid():
        return _user_page(request, user, field_form=form, status=422)
    services.field_grant(actor=request.user, user=user, **form.cleaned_data)
    return redirect("accounts:user", user_id=user.pk)


@login_required
@require_POST
def user_field_revoke(request, user_id: int, grant_id: int):
    selectors.require_admin(request.user)
    user = selectors.user_for_admin(user_id=user_id)
    grant = selectors.field_grant_of_user(user=user, grant_id=grant_id)
    admin_services.field_revoke(actor=request.user, grant=grant)
    return redirect("accounts:user", user_id=user.pk)


def _grant_refused() -> str:
    """Looked up per request, so it is in the reader's language."""
    return _(
        "You may not grant or revoke this role: managers act only inside their own teams, "
        "only with roles within their own rights, and never on themselves."
    )


# --- administration: teams and role assignments -----------------------------------------


@login_required
def teams(request):
    selectors.require_admin_area(request.user)
    is_admin = services.is_administrator(request.user)
    form = forms.TeamCreateForm(request.POST or None)
    status = 200
    if request.method == "POST":
        selectors.require_admin(request.user)
        if form.is_valid():
            try:
                team = admin_services.team_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                return redirect("accounts:team", team_id=team.pk)
        status = 422
    context = {
        "teams": selectors.managed_teams(user=request.user),
        "form": form,
        "is_admin": is_admin,
    }
    return render(request, "accounts/admin/teams.html", context, status=status)


def _team_page(request, team, *, grant_form=None, member_form=None, error=None, status=200):
    context = selectors.team_detail(team=team)
    context.update(
        is_admin=services.is_administrator(request.user),
        grant_form=grant_form or forms.RoleGrantForm(members=selectors.team_members(team=team)),
        member_form=member_form or forms.MemberAddForm(team=team),
        error=error,
    )
    return render(request, "accounts/admin/team.html", context, status=status)


@login_required
def team_detail(request, team_id: int):
    team = selectors.team_for_manager(user=request.user, team_id=team_id)
    return _team_page(request, team)


@login_required
@require_POST
def team_role_grant(request, team_id: int):
    team = selectors.team_for_manager(user=request.user, team_id=team_id)
    form = forms.RoleGrantForm(request.POST, members=selectors.team_members(team=team))
    if not form.is_valid():
        return _team_page(request, team, grant_form=form, status=422)
    try:
        services.role_grant(actor=request.user, team=team, **form.cleaned_data)
    except PermissionDenied:
        return _team_page(request, team, grant_form=form, error=_grant_refused(), status=403)
    messages.success(request, _("Role granted."))
    return redirect("accounts:team", team_id=team.pk)


@login_required
@require_POST
def assignment_revoke(request, assignment_id: int):
    assignment = selectors.assignment_for_manager(user=request.user, assignment_id=assignment_id)
    back = request.POST.get("back") == "user"
    try:
        services.role_revoke(actor=request.user, assignment=assignment)
    except PermissionDenied:
        if back or assignment.team is None:
            return _user_page(request, assignment.user, error=_grant_refused(), status=403)
        return _team_page(request, assignment.team, error=_grant_refused(), status=403)
    messages.success(request, _("Role revoked."))
    if back or assignment.team is None:
        return redirect("accounts:user", user_id=assignment.user_id)
    return redirect("accounts:team", team_id=assignment.team_id)


@login_required
@require_POST
def team_member_add(request, team_id: int):
    selectors.require_admin(request.user)
    team = selectors.team_for_manager(user=request.user, team_id=team_id)
    form = forms.MemberAddForm(request.POST, team=team)
    if not form.is_valid():
        return _team_page(request, team, member_form=form, status=422)
    admin_services.membership_add(actor=request.user, team=team, **form.cleaned_data)
    return redirect("accounts:team", team_id=team.pk)


@login_required
@require_POST
def team_member_remove(request, team_id: int, user_id: int):
    selectors.require_admin(request.user)
    team = selectors.team_for_manager(user=request.user, team_id=team_id)
    user = selectors.user_for_admin(user_id=user_id)
    admin_services.membership_remove(actor=request.user, team=team, user=user)
    return redirect("accounts:team", team_id=team.pk)


# --- administration: custom fields -------------------------------------------------------


@login_required
def custom_fields(request):
    selectors.require_admin(request.user)
    form = forms.CustomFieldForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                customfield_services.customfield_create(actor=request.user, data=form.cleaned_data)
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Custom field created."))
                return redirect("accounts:custom_fields")
        status = 422
    context = {"fields": selectors.custom_fields(), "form": form}
    return render(request, "accounts/admin/custom_fields.html", context, status=status)


@login_required
def custom_field_edit(request, field_id: int):
    selectors.require_admin(request.user)
    definition = selectors.custom_field(field_id=field_id)
    initial = forms.CustomFieldForm.initial_for(definition)
    form = forms.CustomFieldForm(request.POST or None, initial=initial, editing=True)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                customfield_services.customfield_update(
                    actor=request.user, definition=definition, data=form.cleaned_data
                )
            except ValidationError as exc:
                form.add_service_errors(exc)
            else:
                messages.success(request, _("Custom field saved."))
                return redirect("accounts:custom_fields")
        status = 422
    context = {"definition": definition, "form": form}
    return render(request, "accounts/admin/custom_field_edit.html", context, status=status)


@login_required
@require_POST
def custom_field_delete(request, field_id: int):
    selectors.require_admin(request.user)
    definition = selectors.custom_field(field_id=field_id)
    customfield_services.customfield_delete(actor=request.user, definition=definition)
    messages.success(request, _("Custom field deleted."))
    return redirect("accounts:custom_fields")


# --- administration: audit ---------------------------------------------------------------


@login_required
def audit_log(request):
    selectors.require_admin(request.user)
    form = forms.AuditFilterForm(request.GET or None)
    page, status = None, 200
    if form.is_bound and not form.is_valid():
        status = 400
    else:
        filters = form.filters() if form.is_bound else {}
        try:
            page = selectors.audit_events(
                reader=request.user, filters=filters, cursor=request.GET.get("cursor")
            )
        except keyset.CursorError:
            form.add_error(None, _("This page link has expired; start again from the first page."))
            status = 400
    context = {"form": form, "page": page}
    return render(request, "accounts/admin/audit.html", context, status=status)
