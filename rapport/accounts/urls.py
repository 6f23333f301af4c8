"""My profile at /me/ and the administration area at /admin/ (namespace "accounts")."""

from django.urls import path

from rapport.accounts import admin_views, views

app_name = "accounts"

urlpatterns = [
    path("me/", views.profile, name="profile"),
    path("me/tokens/", views.token_create, name="token_create"),
    path("me/tokens/<int:token_id>/revoke/", views.token_revoke, name="token_revoke"),
    path("admin/", admin_views.admin_home, name="admin_home"),
    path("admin/users/", admin_views.users, name="users"),
    path("admin/users/<int:user_id>/", admin_views.user_detail, name="user"),
    path("admin/users/<int:user_id>/active/", admin_views.user_set_active, name="user_set_active"),
    path("admin/users/<int:user_id>/roles/", admin_views.user_role_grant, name="user_role_grant"),
    path(
        "admin/users/<int:user_id>/fields/", admin_views.user_field_grant, name="user_field_grant"
    ),
    path(
        "admin/users/<int:user_id>/fields/<int:grant_id>/revoke/",
        admin_views.user_field_revoke,
        name="user_field_revoke",
    ),
    path("admin/teams/", admin_views.teams, name="teams"),
    path("admin/teams/<int:team_id>/", admin_views.team_detail, name="team"),
    path("admin/teams/<int:team_id>/roles/", admin_views.team_role_grant, name="team_role_grant"),
    path("admin/teams/<int:team_id>/members/", admin_views.team_member_add, name="team_member_add"),
    path(
        "admin/teams/<int:team_id>/members/<int:user_id>/remove/",
        admin_views.team_member_remove,
        name="team_member_remove",
    ),
    path(
        "admin/assignments/<int:assignment_id>/revoke/",
        admin_views.assignment_revoke,
        name="assignment_revoke",
    ),
    path("admin/custom-fields/", admin_views.custom_fields, name="custom_fields"),
    path("admin/custom-fields/<int:field_id>/", admin_views.custom_field_edit, name="custom_field"),
    path(
        "admin/custom-fields/<int:field_id>/delete/",
        admin_views.custom_field_delete,
        name="custom_field_delete",
    ),
    path("admin/audit/", admin_views.audit_log, name="audit"),
]
