"""The benchmark dataset: S, M and L people with everything around them, seeded.

People (with planted duplicates and their truth) come from `bench.dedup.generate`; this
module adds what the rest of the suite needs: 10% as many companies, ~50 users in 5
teams owning the people with a skewed (Zipf-like) share each, creation dates spread
over three years (more recent ones more common), and a few "busy" people with a long
history for the record page. Deals (30%) and activities (2x) are declared here so the
loader fills them as soon as those modules exist; until then `planned` reports them.
Same size and seed, same data, on every machine.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass, field

from bench.dedup.generate import Dataset, generate

SIZES = {"S": 10_000, "M": 100_000, "L": 1_000_000}
TEAMS = ("North", "South", "East", "West", "Central")
USERS = 50
BUSY_EVERY = 1000  # one person in a thousand has a long history
BUSY_EVENTS = 60
END = datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC)
SPAN_DAYS = 3 * 365


@dataclass
class BenchData:
    size: int
    seed: int
    people: Dataset
    users: list[str]  # usernames; user i is in team i % 5
    owners: list[int] = field(default_factory=list)  # per person row: user index
    created: list[datetime.datetime] = field(default_factory=list)
    busy: list[int] = field(default_factory=list)  # person rows with a long history
    planned: dict[str, int] = field(default_factory=dict)

    def team_of(self, user_index: int) -> int:
        return user_index % len(TEAMS)


def size_of(label: str | int) -> int:
    if isinstance(label, int) or str(label).isdigit():
        return int(label)
    return SIZES[str(label).upper()]


def build(size: int, *, seed: int = 7) -> BenchData:
    people = generate(size, seed=seed)
    rng = random.Random(seed * 1_000_003 + size)
    extra = max(size // 10, 5) - len(people.companies)
    people.companies += [
        f"{rng.choice(people.companies).split()[0]} & Co {i}" for i in range(extra)
    ]
    users = [f"rep{n:02d}" for n in range(1, USERS + 1)]
    weights = [1 / (rank + 1) ** 0.9 for rank in range(USERS)]
    count = len(people.rows)
    owners = rng.choices(range(USERS), weights=weights, k=count)
    created = []
    for _ in range(count):
        age = (1 - rng.random() ** 0.7) * SPAN_DAYS  # newer dates more likely
        created.append(END - datetime.timedelta(days=age, seconds=rng.randrange(86_400)))
    busy = list(range(BUSY_EVERY // 2, count, BUSY_EVERY)) or [0]
    return BenchData(
        size=size,
        seed=seed,
        people=people,
        users=users,
        owners=owners,
        created=created,
        busy=busy,
        planned={
            "people": count,
            "companies": len(people.companies),
            "deals": int(count * 0.3),
            "activities": count * 2,
            "planted_duplicates": len(people.truth),
        },
    )
