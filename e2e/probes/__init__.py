"""Instrumentation: what the suite observes in the page, on the wire and in processes."""
