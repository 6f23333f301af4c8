"""The data-in-and-out tasks, gathered so the worker's scheduler finds them.

The scheduler imports each app's `tasks` module; the tasks themselves live next to
the services they call (imports, exports, the duplicate scan), and importing those
modules registers their periodic jobs (the pruning of old export files).
"""

from rapport.dataio.dedup.scan import scan_duplicates
from rapport.dataio.exporting import prune_exports, run_export_job
from rapport.dataio.importing import run_import

__all__ = ["prune_exports", "run_export_job", "run_import", "scan_duplicates"]
