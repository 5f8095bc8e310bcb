"""Catalogued defects of a server that keeps something of every connection it ever had
(F37-F39). Each exists only to prove that the suite watches the server's resources; the
healthy server keeps nothing of a connection once it has closed."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import IO, Any


@dataclass
class Leaks:
    defect: str | None
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    files: list[IO[bytes]] = field(default_factory=list)

    @property
    def keeps_clients(self) -> bool:
        """F37: a closed connection stays in the hub (counted, iterated, never freed)."""
        return self.defect == "F37"

    def opened(self, client: Any) -> None:
        # F38: every connection starts a watchdog task that nobody cancels
        if self.defect == "F38":
            self.tasks.add(asyncio.create_task(_watch(client)))
        # F39: every connection opens a trace file that is never closed
        if self.defect == "F39":
            self.files.append(open(os.devnull, "rb"))  # noqa: SIM115 (the defect)

    async def release(self) -> None:
        """At shutdown only: what the defects kept."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for file in self.files:
            file.close()


async def _watch(client: Any) -> None:
    while True:
        await asyncio.sleep(3600)
        if client is None:  # keeps the connection's client alive with the task
            return
