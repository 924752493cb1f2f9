"""Sinfonía benchmarks (issue 8): ``python -m bench`` / ``make bench``. See BENCHMARKS.md."""
