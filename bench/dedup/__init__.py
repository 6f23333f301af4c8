"""Duplicate detection benchmark: seeded people with planted duplicates, scan and on-entry timings."""
