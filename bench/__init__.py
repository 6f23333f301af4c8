"""Rapport benchmarks: dataset generator, loader, runner (see runner.py)."""

import gc


def freeze_heap() -> None:
    """Move every object alive now out of the garbage collector's reach (`gc.freeze`).

    A benchmark process holds its generated dataset (about 3 million tracked objects at
    L) next to the app it measures; an app process does not. Left in the collector, that
    dataset made each full collection during a measured operation cost 0.6-0.8 s: an
    import, an API write or a page paid for the benchmark's own data. Called once the
    dataset and Django are set up, before anything is timed."""
    gc.collect()
    gc.freeze()


def memory_mb(pid: int | str = "self") -> dict[str, float] | None:
    """A process's resident memory in MB from /proc (None once it is gone):

    - `rss`: VmRSS, everything resident, file pages mapped into the process included
      (`peak_rss`: VmHWM, its highest so far);
    - `own`: RssAnon, the process's own memory (Python's heap and the like);
    - `mapped`: RssFile, pages of files mapped into it (code, libraries, and SQLite's
      database file when it is read through a memory map: decision 0052). They are the
      operating system's file cache, which a read() fills just the same unmapped.
    """
    keys = {"VmRSS": "rss", "VmHWM": "peak_rss", "RssAnon": "own", "RssFile": "mapped"}
    found: dict[str, float] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as handle:
            for line in handle:
                key = line.split(":", 1)[0]
                if key in keys:
                    found[keys[key]] = round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return found
