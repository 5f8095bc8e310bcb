"""The plumbing the scenarios use: the pytest plugin and its options, the target, users,
metrics, the protocol client, shared checks and navigation helpers."""
