"""Rapport benchmarks: dataset generator, loader, runner (see runner.py)."""
