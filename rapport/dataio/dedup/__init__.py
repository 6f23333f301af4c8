"""Duplicate detection: match keys and scoring, the on-entry check, the background scan
and dismissals (merging itself lives in the merge feature)."""
