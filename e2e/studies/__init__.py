"""Offline studies built on the suite: the defect proof, the flake check, the plan's claims
and the scale curve. Each runs the suite in child pytest runs and reads their metrics."""
