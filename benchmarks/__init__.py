"""Benchmarks of the reference app and of the suite's probe (figures, not pass/fail)."""
