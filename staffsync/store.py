"""SQLite store: staff rows, written on one thread, read on a small pool.

Every call runs in an executor so database work never blocks the event loop. A write
is committed before its coroutine returns, so a caller that broadcasts after awaiting
it broadcasts only durable rows (unless defect F9 is on).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from staffsync.periods import Period, member_of

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS staff (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    position TEXT NOT NULL DEFAULT '',
    department TEXT NOT NULL DEFAULT '',
    type TEXT NOT NULL DEFAULT 'full_time',
    status TEXT NOT NULL DEFAULT 'active',
    staff_order INTEGER NOT NULL DEFAULT 0,
    start_period TEXT NOT NULL,
    end_period TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS staff_live ON staff (deleted, staff_order);
"""

# camelCase field of the protocol -> column
COLUMNS = {
    "id": "id",
    "name": "name",
    "position": "position",
    "department": "department",
    "type": "type",
    "status": "status",
    "staffOrder": "staff_order",
    "startPeriod": "start_period",
    "endPeriod": "end_period",
    "createdAt": "created_at",
    "updatedAt": "updated_at",
    "version": "version",
}
SELECT = "SELECT " + ", ".join(COLUMNS.values()) + " FROM staff"


class NotFound(LookupError):
    """No live staff row has that id."""


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _row(values: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(COLUMNS, values, strict=True))


class Store:
    def __init__(
        self, path: Path, periods: list[Period], read_latency_ms: int = 0, durable: bool = True
    ) -> None:
        self.path = path
        self.periods = periods
        self.read_latency_s = read_latency_ms / 1000
        self.durable = durable
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")
        self._readers = ThreadPoolExecutor(4, thread_name_prefix="db-read")
        self._local = threading.local()
        self._uncommitted = 0

    # -- plumbing ------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            self._local.conn = conn
        return conn

    async def _read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            if self.read_latency_s:
                time.sleep(self.read_latency_s)  # emulated round trip to a hosted database
            return fn(self._conn())

        return await asyncio.get_running_loop().run_in_executor(self._readers, run)

    async def _write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        def run() -> T:
            conn = self._conn()
            if not conn.in_transaction:
                conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            if self.durable:
                conn.execute("COMMIT")
            return result

        return await asyncio.get_running_loop().run_in_executor(self._writer, run)

    def with_periods(self, row: dict[str, Any]) -> dict[str, Any]:
        row["periods"] = member_of(self.periods, row["startPeriod"], row["endPeriod"])
        return row

    # -- lifecycle -----------------------------------------------------------------
    async def open(self, seed: list[dict[str, Any]]) -> None:
        def setup(conn: sqlite3.Connection) -> None:
            if conn.execute("SELECT COUNT(*) FROM staff").fetchone()[0]:
                return
            stamp = now()
            conn.executemany(
                "INSERT INTO staff (id, name, position, department, type, status, staff_order,"
                " start_period, end_period, created_at, updated_at) VALUES"
                " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        s["id"],
                        s["name"],
                        s.get("position", ""),
                        s.get("department", ""),
                        s.get("type", "full_time"),
                        s.get("status", "active"),
                        s.get("staffOrder", n),
                        s["startPeriod"],
                        s.get("endPeriod"),
                        stamp,
                        stamp,
                    )
                    for n, s in enumerate(seed)
                ],
            )

        self.path.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.get_running_loop().run_in_executor(
            self._writer, lambda: self._setup_committed(setup)
        )

    def _setup_committed(self, fn: Callable[[sqlite3.Connection], None]) -> None:
        conn = self._conn()
        conn.executescript(SCHEMA)
        conn.execute("BEGIN IMMEDIATE")
        fn(conn)
        conn.execute("COMMIT")

    async def close(self) -> None:
        def flush() -> None:
            conn = getattr(self._local, "conn", None)
            if conn is not None and conn.in_transaction:
                conn.execute("COMMIT")

        await asyncio.get_running_loop().run_in_executor(self._writer, flush)
        self._writer.shutdown(wait=True)
        self._readers.shutdown(wait=True)

    def check(self) -> None:
        """Raise sqlite3.Error unless the database file can be opened and read now."""
        conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=2)
        try:
            conn.execute("SELECT COUNT(*) FROM staff").fetchone()
        finally:
            conn.close()

    # -- reads ---------------------------------------------------------------------
    async def all_staff(self) -> list[dict[str, Any]]:
        def q(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(SELECT + " WHERE deleted = 0 ORDER BY staff_order, id")
            return [self.with_periods(_row(r)) for r in rows]

        return await self._read(q)

    async def all_periods(self) -> dict[str, list[dict[str, Any]]]:
        """Every period's staff from a single query, grouped by membership."""
        grouped: dict[str, list[dict[str, Any]]] = {str(p.index): [] for p in self.periods}
        for row in await self.all_staff():
            for index in row["periods"]:
                grouped[str(index)].append(row)
        return grouped

    async def period(self, index: int) -> list[dict[str, Any]]:
        p = self.periods[index]

        def q(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                SELECT + " WHERE deleted = 0 AND start_period <= ?"
                " AND (end_period IS NULL OR end_period >= ?) ORDER BY staff_order, id",
                (p.end.isoformat(), p.start.isoformat()),
            )
            return [self.with_periods(_row(r)) for r in rows]

        return await self._read(q)

    # -- writes --------------------------------------------------------------------
    async def update(self, staff_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        def q(conn: sqlite3.Connection) -> dict[str, Any]:
            current = conn.execute(SELECT + " WHERE id = ? AND deleted = 0", (staff_id,)).fetchone()
            if current is None:
                raise NotFound(staff_id)
            merged = {**_row(current), **changes}
            if merged["endPeriod"] is not None and merged["endPeriod"] < merged["startPeriod"]:
                raise ValueError("endPeriod is before startPeriod")
            sets = ", ".join(f"{COLUMNS[k]} = ?" for k in changes)
            conn.execute(
                f"UPDATE staff SET {sets}, updated_at = ?, version = version + 1 WHERE id = ?",
                (*changes.values(), now(), staff_id),
            )
            return _row(conn.execute(SELECT + " WHERE id = ?", (staff_id,)).fetchone())

        return self.with_periods(await self._write(q))

    async def create(self, fields: dict[str, Any]) -> dict[str, Any]:
        staff_id = "stf-" + uuid.uuid4().hex[:12]

        def q(conn: sqlite3.Connection) -> dict[str, Any]:
            order = conn.execute("SELECT COALESCE(MAX(staff_order), -1) + 1 FROM staff").fetchone()
            values = {"staffOrder": order[0], **fields}
            stamp = now()
            cols = ["id", *values, "createdAt", "updatedAt"]
            conn.execute(
                f"INSERT INTO staff ({', '.join(COLUMNS[c] for c in cols)})"
                f" VALUES ({', '.join('?' for _ in cols)})",
                (staff_id, *values.values(), stamp, stamp),
            )
            return _row(conn.execute(SELECT + " WHERE id = ?", (staff_id,)).fetchone())

        return self.with_periods(await self._write(q))

    async def delete(self, staff_id: str) -> None:
        def q(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "UPDATE staff SET deleted = 1, updated_at = ?, version = version + 1"
                " WHERE id = ? AND deleted = 0",
                (now(), staff_id),
            )
            if cur.rowcount == 0:
                raise NotFound(staff_id)

        await self._write(q)
