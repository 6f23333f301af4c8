"""Hypothesis profiles for the whole suite, chosen with HYPOTHESIS_PROFILE.

pytest loads this file before collecting anything (tests/ is a testpath), so the
profile is in force for property tests anywhere in the tree. `make test-deep` sets
HYPOTHESIS_PROFILE=deep; CI uses Hypothesis's built-in "ci" profile (CI=true).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "deep",
    max_examples=2_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
