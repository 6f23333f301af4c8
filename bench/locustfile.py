"""Locust users for the concurrent-load benchmark (bench/load_bench.py starts it).

Every user sends GET requests, back to back, to the JSON list endpoint with a bearer
token; each request picks one of the paths in the file named by LOAD_PATHS (a JSON
list: varied filters and orderings). Any answer other than 200 with a JSON page of
items counts as a failure.
"""

from __future__ import annotations

import json
import os
import random

from locust import constant, events, task
from locust.contrib.fasthttp import FastHttpUser

TOKEN = os.environ.get("LOAD_TOKEN", "")
PATHS: list[str] = []


@events.init.add_listener
def _read_paths(environment, **_kwargs) -> None:
    with open(os.environ["LOAD_PATHS"], encoding="utf-8") as handle:
        PATHS[:] = json.load(handle)


class ListReader(FastHttpUser):
    wait_time = constant(0)
    # One connection per user, kept alive as a browser or API client would.
    connection_timeout = 30.0
    network_timeout = 30.0

    def on_start(self) -> None:
        self.headers = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
        self.random = random.Random(hash(id(self)))

    @task
    def list_page(self) -> None:
        path = self.random.choice(PATHS)
        with self.client.get(
            path, headers=self.headers, name="GET /api/v1/people", catch_response=True
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {response.text[:200]}")
            elif b'"items"' not in (response.content or b"")[:20]:
                response.failure("not a page of items")
            else:
                response.success()
