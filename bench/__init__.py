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
