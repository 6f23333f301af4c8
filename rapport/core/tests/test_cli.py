"""The `rapport` command: users, tokens, check, migrate, reindex and serve's preflight."""

import io
import socket

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from rapport import cli
from rapport.accounts.models import ApiToken, RoleAssignment, User, hash_token
from rapport.core import checks, search
from rapport.core.management.commands import serve
from rapport.core.models import AuditEvent
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_test_connection(monkeypatch):
    """`cli.main` runs commands the way a terminal does, and Django closes every
    connection after a command run that way; keep the test transaction's open."""
    from django.db import connections

    monkeypatch.setattr(connections, "close_all", lambda: None)


STRONG = "violet-harbour-lantern-42"


def test_user_create_with_teams_roles_and_admin(capsys):
    code = cli.main(
        [
            "user",
            "create",
            "mira",
            "--password",
            STRONG,
            "--email",
            "mira@example.com",
            "--team",
            "Lviv",
            "--team",
            "Remote",
            "--role",
            "manager",
        ]
    )
    assert code == 0
    user = User.objects.get(username="mira")
    assert user.check_password(STRONG)
    assert sorted(user.teams.values_list("name", flat=True)) == ["Lviv", "Remote"]
    assignment = RoleAssignment.objects.get(user=user)
    assert (assignment.role.name, assignment.team.name) == ("manager", "Lviv")
    assert "mira" in capsys.readouterr().out

    assert cli.main(["user", "create", "root", "--password", STRONG, "--admin"]) == 0
    root = User.objects.get(username="root")
    assert not root.is_superuser
    assert RoleAssignment.objects.get(user=root, team__isnull=True).role.name == "admin"


def test_user_create_reads_the_password_from_stdin(monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(STRONG + "\n"))
    assert cli.main(["user", "create", "stdin-user", "--password", "-"]) == 0
    assert User.objects.get(username="stdin-user").check_password(STRONG)


def test_existing_user_is_an_error(capsys, alice):
    assert cli.main(["user", "create", "ALICE", "--password", STRONG]) == 1
    assert "already exists" in capsys.readouterr().err
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_validation_errors_are_printed_per_field(capsys):
    assert cli.main(["user", "create", "weak", "--password", "123"]) == 1
    err = capsys.readouterr().err
    assert "password: This password is too short" in err
    assert "password: This password is too common" in err
    assert cli.main(["user", "create", "x", "--password", STRONG, "--role", "wizard"]) == 1
    assert "role: There is no role named 'wizard'" in capsys.readouterr().err
    assert not User.objects.filter(username__in=["weak", "x"]).exists()


def test_token_create_prints_only_the_token(capsys, alice):
    assert cli.main(["token", "create", "alice", "--name", "ci"]) == 0
    out = capsys.readouterr().out
    raw = out.strip()
    assert out == raw + "\n" and raw.startswith("rpt_")
    token = ApiToken.objects.get(digest=hash_token(raw))
    assert (token.user, token.name) == (alice, "ci")
    assert AuditEvent.objects.filter(action="token_create", object_id=alice.pk).exists()


def test_token_for_unknown_user_fails(capsys):
    assert cli.main(["token", "create", "nobody"]) == 1
    assert "no user named 'nobody'" in capsys.readouterr().err


def test_check_passes_on_a_healthy_database(capsys):
    assert cli.main(["check"]) == 0
    captured = capsys.readouterr()
    assert "search index" in captured.out
    assert "rapport." not in captured.out + captured.err  # other apps may warn


def test_check_explains_a_default_secret_key(settings, capsys):
    settings.SECRET_KEY = "django-insecure-changeme"
    assert cli.main(["check"]) == 1
    err = capsys.readouterr().err
    assert "rapport.E003" in err and "RAPPORT_SECRET_KEY" in err


def test_check_reports_unapplied_migrations(monkeypatch):
    monkeypatch.setattr(
        checks, "unapplied_migrations", lambda alias="default": [("core", "9999_future")]
    )
    with pytest.raises(CommandError, match=r"rapport\.E002.*core\.9999_future"):
        call_command("check")


def test_check_warns_when_the_search_index_is_stale(alice):
    from rapport.core import search

    person = PersonFactory(actor=alice)
    search.remove("person", [person.pk])  # a live record the index misses
    with pytest.raises(CommandError, match="rapport.W007"), checks.runtime_checks():
        call_command("check", fail_level="WARNING")
    call_command("reindex", verbosity=0)
    assert not [p for p in checks.search_problems() if p.id == "rapport.W007"]


def test_check_reports_missing_search_tables():
    engine = search.backend()
    with connection.cursor() as cursor:
        for statement in engine.drop_statements():
            cursor.execute(statement)
    problems = checks.search_problems()
    assert [p.id for p in problems] == ["rapport.E005"]
    call_command("migrate", verbosity=0)  # `rapport migrate` puts the tables back
    assert engine.tables_present()
    assert checks.search_problems() == []


def test_runtime_checks_do_not_run_outside_rapport_check(monkeypatch):
    monkeypatch.setattr(checks, "database_problems", lambda alias: ["boom"])
    assert checks.check_database(databases=["default"]) == []
    with checks.runtime_checks():
        assert checks.check_database(databases=["default"]) == ["boom"]


def test_serve_refuses_unapplied_migrations(monkeypatch):
    monkeypatch.setattr(checks, "unapplied_migrations", lambda alias="default": [("a", "b")])
    with pytest.raises(CommandError, match="Run `rapport migrate` first"):
        call_command("serve", "--port", "1")


def test_serve_says_plainly_that_the_port_is_busy():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"port {port} on 127.0.0.1 is already in use"):
            call_command("serve", "--port", str(port), "--no-worker")
    assert serve.port_problem("127.0.0.1", port) is None


def test_cli_prints_usage_and_rejects_unknown_settings(capsys, monkeypatch):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    for name in ("serve", "worker", "demo", "migrate", "check", "user", "token", "reindex"):
        assert f"  {name}" in out
    monkeypatch.setenv("RAPPORT_SETTINGS", "staging")
    assert cli.main(["check"]) == 2
    assert "RAPPORT_SETTINGS" in capsys.readouterr().err


def test_reindex_command_rebuilds(alice, capsys):
    person = PersonFactory(actor=alice, first_name="Zenobia", last_name="Quill")
    search.remove("person", [person.pk])  # an index that lost the record
    assert search.search(alice, "zenobia") == []
    assert cli.main(["reindex"]) == 0
    assert "rebuilt" in capsys.readouterr().out
    assert [hit.id for hit in search.search(alice, "zenobia")] == [person.pk]


def test_check_reports_a_missing_database_cache_table(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "rapport_missing_cache",
        }
    }
    assert [p.id for p in checks.cache_problems()] == ["rapport.E010"]
    call_command("createcachetable", verbosity=0)
    assert checks.cache_problems() == []


def test_migrate_refreshes_planner_statistics(alice):
    """New indexes have no statistics until ANALYZE; SQLite then misjudges them."""
    from rapport.contacts.models import Person
    from rapport.core.management.commands.migrate import refresh_statistics
    from rapport.testing.factories import PersonFactory

    for i in range(3):
        PersonFactory(actor=alice, emails=[{"address": f"stat{i}@example.com"}])
    refresh_statistics("default")
    table = Person._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        else:
            cursor.execute("SELECT COUNT(*) FROM pg_stats WHERE tablename = %s", [table])
        assert cursor.fetchone()[0] > 0
