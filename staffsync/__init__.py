"""Reference staff-sync app: one WebSocket, all periods prefetched."""

__version__ = "0.1.0"
