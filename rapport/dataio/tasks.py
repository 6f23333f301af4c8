"""The data-in-and-out tasks, gathered so the worker's scheduler finds them.

The scheduler imports each app's `tasks` module; the tasks themselves live next to
the services they call (imports, exports, the duplicate scan), and importing those
modules registers their periodic jobs (the pruning of old export files). The nightly
duplicate scans keep the Duplicates page current without anyone pressing "Scan now".
"""

import datetime

from django.tasks import task

from rapport.core.scheduler import jobs
from rapport.dataio.dedup.scan import scan_duplicates
from rapport.dataio.exporting import prune_exports, run_export_job
from rapport.dataio.importing import run_import

__all__ = [
    "prune_exports",
    "run_export_job",
    "run_import",
    "scan_duplicates",
    "scan_people_nightly",
    "scan_companies_nightly",
]


@task()
def scan_people_nightly() -> dict:
    return scan_duplicates.call("person")


@task()
def scan_companies_nightly() -> dict:
    return scan_duplicates.call("company")


jobs.register("scan_people_duplicates", datetime.timedelta(days=1), scan_people_nightly)
jobs.register("scan_companies_duplicates", datetime.timedelta(days=1), scan_companies_nightly)
