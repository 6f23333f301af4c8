"""The worker's scheduler finds the data-in-and-out jobs, and the nightly scan runs."""

from __future__ import annotations

import pytest

from rapport.core.scheduler import jobs
from rapport.dataio.models import DuplicateCluster, DuplicateScan
from rapport.testing.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_periodic_jobs_are_registered():
    import rapport.dataio.tasks  # noqa: F401  (what the scheduler imports)

    names = {job.name for job in jobs}
    assert {"prune_exports", "scan_people_duplicates", "scan_companies_duplicates"} <= names


def test_nightly_people_scan_finds_a_planted_pair(alice):
    from rapport.dataio.tasks import scan_people_nightly

    email = [{"address": "olek@example.com"}]
    PersonFactory(actor=alice, first_name="Олександр", last_name="Шевченко", emails=email)
    PersonFactory(actor=alice, first_name="Oleksandr", last_name="Shevchenko", emails=email)
    scan_people_nightly.call()
    scan = DuplicateScan.objects.get(entity="person")
    assert scan.status == DuplicateScan.Status.DONE
    cluster = DuplicateCluster.objects.get(entity="person")
    assert len(cluster.member_ids) == 2
