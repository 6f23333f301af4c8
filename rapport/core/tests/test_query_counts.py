"""What the API's per-request machinery costs: the rate limit touches the shared cache
once per batch of requests, yet refuses exactly at the limit in one process."""

from __future__ import annotations

import pytest

from rapport.core.api.testing import ApiClient, clear_throttle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    clear_throttle()
    yield
    clear_throttle()


def test_rate_limit_writes_the_cache_once_per_batch_and_refuses_at_the_limit(alice, monkeypatch):
    from rapport.api_urls import api

    throttle = api.throttle[0] if isinstance(api.throttle, list) else api.throttle
    monkeypatch.setattr(throttle, "num_requests", 100)  # batches of 2
    monkeypatch.setattr(throttle, "duration", 86_400)
    writes = []
    original = throttle.cache.set
    monkeypatch.setattr(
        throttle.cache, "set", lambda *a, **k: writes.append(a[1]) or original(*a, **k)
    )
    client = ApiClient(alice)
    statuses = [client.get("/people").status_code for _ in range(101)]
    assert statuses[:100] == [200] * 100
    assert statuses[100] == 429
    assert len(writes) <= 52  # first request, every second one, and the refusal
    assert writes[-1] == 100  # the refused request is not counted
