"""Bad input is never a 500: random JSON against the people and company endpoints."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.contacts.schemas import CompanyWrite, PersonWrite
from rapport.core.api.testing import ApiClient, clear_throttle
from rapport.testing.factories import make_personas

pytestmark = pytest.mark.django_db

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["", "1990-02-30", "+380441234567", "x@y.z", "female", "1e400", "\x00"])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def bodies(schema):
    keys = st.sampled_from([*schema.model_fields, "id", "version", "bogus"])
    return st.dictionaries(keys, values, max_size=5)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    person=bodies(PersonWrite),
    company=bodies(CompanyWrite),
    query=st.dictionaries(
        st.sampled_from(
            [
                "q",
                "owner",
                "tag",
                "limit",
                "ordering",
                "cursor",
                "created_after",
                "company",
                "phone",
                "team",
                "zzz",
            ]
        ),
        st.text(max_size=12),
        max_size=3,
    ),
)
def test_random_input_never_500(person, company, query):
    clear_throttle()
    personas = _personas()
    client = ApiClient(personas.erin)
    client.client.raise_request_exception = False
    created = client.post("/people", person)
    assert created.status_code in {201, 403, 422}, created.content
    assert created.status_code != 500
    target = _target(personas)
    patched = client.patch(f"/people/{target}", person)
    assert patched.status_code in {200, 403, 422}, patched.content
    made = client.post("/companies", company)
    assert made.status_code in {201, 403, 422}, made.content
    listed = client.get("/people", query)
    assert listed.status_code in {200, 400}, listed.content


_cache: dict = {}


def _personas():
    from rapport.accounts.models import User

    if not User.objects.filter(username="erin").exists():
        _cache.clear()
        _cache["personas"] = make_personas()
    return _cache["personas"]


def _target(personas):
    from rapport.contacts import services
    from rapport.contacts.models import Person

    person = Person.objects.filter(first_name="Target").first()
    if person is None:
        person = services.person_create(actor=personas.erin, data={"first_name": "Target"})
    return person.pk
