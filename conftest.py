"""Personas and factories every test can ask for.

alice and bob: team A reps; carol: team B rep; dave: team A viewer; erin: manager of
team A; admin: the built-in admin role on every team.
"""

from __future__ import annotations

import pytest

from rapport.testing.factories import make_personas


@pytest.fixture
def personas(db):
    return make_personas()


@pytest.fixture
def alice(personas):
    return personas.alice


@pytest.fixture
def bob(personas):
    return personas.bob


@pytest.fixture
def carol(personas):
    return personas.carol


@pytest.fixture
def dave(personas):
    return personas.dave


@pytest.fixture
def erin(personas):
    return personas.erin


@pytest.fixture
def admin(personas):
    return personas.admin


@pytest.fixture
def team_a(personas):
    return personas.team_a


@pytest.fixture
def team_b(personas):
    return personas.team_b


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Run a service call and then its on-commit work (the index update), as a real
    commit would; the test transaction itself never commits."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run
