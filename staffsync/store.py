"""SQLite store: staff rows, written on one thread, read on a small pool.

Every call runs in an executor so database work never blocks the event loop. A write
is committed before its coroutine returns, so a caller that broadcasts after awaiting
it broadcasts only durable rows (unless defect F9 is on).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from staffsync.periods import Period, member_of

T = TypeVar("T")
log = logging.getLogger("staffsync.store")
CHECKPOINT_EVERY_S = 1.0  # how often the WAL is copied into the database, at most

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
CREATE TABLE IF NOT EXISTS applied_requests (
    client_key TEXT NOT NULL,
    request_id TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (client_key, request_id)
);
CREATE INDEX IF NOT EXISTS applied_requests_age ON applied_requests (applied_at);
"""
# Applied writes are remembered this long (a client replays unconfirmed writes when it
# reconnects, within seconds or minutes), and at most this many.
REMEMBER_FOR = dt.timedelta(days=1)
REMEMBER_AT_MOST = 20_000

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


@dataclass(frozen=True)
class Once:
    """A write that must happen at most once: who asked (a client's stable key) and its
    request id. `respond` turns the written row into the frame that answers it, which is
    kept with the request in the same transaction as the write."""

    client_key: str
    request_id: str | None  # None: the client gave no request id; nothing to remember
    respond: Callable[[dict[str, Any]], str]


@dataclass(frozen=True)
class Written:
    """A write's outcome: the row and its frame, or (`repeat`) the frame of the first time."""

    frame: str
    row: dict[str, Any] | None = None
    repeat: bool = False


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds")


def _row(values: sqlite3.Row | tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(COLUMNS, values, strict=True))


READERS = 4  # threads reading the database, each with its own connection


class Store:
    def __init__(
        self,
        path: Path,
        periods: list[Period],
        read_latency_ms: int = 0,
        durable: bool = True,
        end_exclusive: bool = False,
        row_by_row: bool = False,
    ) -> None:
        self.path = path
        self.periods = periods
        self.read_latency_s = read_latency_ms / 1000
        self.durable = durable  # False is defect F9
        self.end_exclusive = end_exclusive  # True is defect F22
        self.row_by_row = row_by_row  # True is defect F48
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="db-write")
        self._readers = ThreadPoolExecutor(READERS, thread_name_prefix="db-read")
        # WAL checkpoints run here, beside the writer: SQLite's automatic one runs inside
        # the commit that fills the WAL to 1000 pages, and held that write (and its
        # broadcast) 100-150 ms every few seconds under load
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="db-checkpoint")
        self._checkpoint_due = 0.0
        self._local = threading.local()
        self._remembered = 0

    # -- plumbing ------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # see _checkpoint
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
                self._checkpoint_soon()
            return result

        return await asyncio.get_running_loop().run_in_executor(self._writer, run)

    def _checkpoint_soon(self) -> None:
        """After a commit: a passive checkpoint in its own thread, at most one a second.
        Passive: it copies what the WAL holds into the database without taking the write
        lock, so writes go on meanwhile."""
        now_s = time.monotonic()
        if now_s < self._checkpoint_due:
            return
        self._checkpoint_due = now_s + CHECKPOINT_EVERY_S
        self._checkpointer.submit(self._checkpoint)

    def _checkpoint(self) -> None:
        try:
            self._conn().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error as exc:  # the next one tries again; the WAL keeps every write
            log.warning("WAL checkpoint failed: %s", exc)

    def with_periods(self, row: dict[str, Any]) -> dict[str, Any]:
        row["periods"] = member_of(
            self.periods, row["startPeriod"], row["endPeriod"], self.end_exclusive
        )
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
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, lambda: self._setup_committed(setup))
        # Every reader thread and its connection from the start: made as reads first came
        # at once, each held two more descriptors for good, which a server watched for what
        # it keeps after its clients leave showed as left over.
        together = threading.Barrier(READERS)

        def open_reader() -> None:
            self._conn()
            together.wait(timeout=10)  # each on its own thread: the pool makes all of them

        await asyncio.gather(
            *(loop.run_in_executor(self._readers, open_reader) for _ in range(READERS))
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
        self._checkpointer.shutdown(wait=True)
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

    async def _row_by_row(self) -> list[dict[str, Any]]:
        """Defect F48: the ids first, then each member's row by a query of its own (one
        database round trip per member, unseen at 0 ms)."""

        def ids(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT id FROM staff WHERE deleted = 0 ORDER BY staff_order, id")
            return [r[0] for r in rows]

        found = []
        for staff_id in await self._read(ids):

            def one(conn: sqlite3.Connection, staff_id: str = staff_id) -> dict[str, Any] | None:
                row = conn.execute(SELECT + " WHERE id = ? AND deleted = 0", (staff_id,)).fetchone()
                return None if row is None else self.with_periods(_row(row))

            if (row := await self._read(one)) is not None:
                found.append(row)
        return found

    async def applied(self, sent: list[tuple[str, str]]) -> list[str]:
        """Of these (client key, request id) pairs, the request ids this server applied and
        still remembers: a page carries them, so that it does not show a stored write that
        was applied (its answer lost) as waiting, beside the row the page already holds."""
        if not sent:
            return []

        def q(conn: sqlite3.Connection) -> list[str]:
            found = []
            for key, rid in sent:
                seen = conn.execute(
                    "SELECT 1 FROM applied_requests WHERE client_key = ? AND request_id = ?",
                    (key, rid),
                ).fetchone()
                if seen is not None:
                    found.append(rid)
            return found

        return await self._read(q)

    async def all_periods(self) -> dict[str, list[dict[str, Any]]]:
        """Every period's staff from a single query, grouped by membership."""
        grouped: dict[str, list[dict[str, Any]]] = {str(p.index): [] for p in self.periods}
        rows = await (self._row_by_row() if self.row_by_row else self.all_staff())
        for row in rows:
            for index in row["periods"]:
                grouped[str(index)].append(row)
        return grouped

    async def period(self, index: int) -> list[dict[str, Any]]:
        p = self.periods[index]

        def q(conn: sqlite3.Connection) -> list[dict[str, Any]]:
            ends = "end_period > ?" if self.end_exclusive else "end_period >= ?"
            rows = conn.execute(
                SELECT + " WHERE deleted = 0 AND start_period <= ?"
                f" AND (end_period IS NULL OR {ends}) ORDER BY staff_order, id",
                (p.end.isoformat(), p.start.isoformat()),
            )
            return [self.with_periods(_row(r)) for r in rows]

        return await self._read(q)

    # -- writes --------------------------------------------------------------------
    async def _write_once(
        self, once: Once, fn: Callable[[sqlite3.Connection], dict[str, Any]]
    ) -> Written:
        """Run the write unless this request was applied before; keep its answer with it."""

        def q(conn: sqlite3.Connection) -> Written:
            if once.request_id is None:
                row = self.with_periods(fn(conn))
                return Written(once.respond(row), row)
            seen = conn.execute(
                "SELECT response FROM applied_requests WHERE client_key = ? AND request_id = ?",
                (once.client_key, once.request_id),
            ).fetchone()
            if seen is not None:
                return Written(seen[0], repeat=True)
            row = self.with_periods(fn(conn))
            frame = once.respond(row)
            conn.execute(
                "INSERT INTO applied_requests (client_key, request_id, applied_at, response)"
                " VALUES (?, ?, ?, ?)",
                (once.client_key, once.request_id, now(), frame),
            )
            self._remembered += 1
            if self._remembered % 500 == 0:
                self._forget_old(conn)
            return Written(frame, row)

        return await self._write(q)

    def _forget_old(self, conn: sqlite3.Connection) -> None:
        cutoff = (dt.datetime.now(dt.UTC) - REMEMBER_FOR).isoformat(timespec="milliseconds")
        conn.execute("DELETE FROM applied_requests WHERE applied_at < ?", (cutoff,))
        conn.execute(
            "DELETE FROM applied_requests WHERE rowid NOT IN"
            " (SELECT rowid FROM applied_requests ORDER BY applied_at DESC LIMIT ?)",
            (REMEMBER_AT_MOST,),
        )

    async def update(self, staff_id: str, changes: dict[str, Any], once: Once) -> Written:
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

        return await self._write_once(once, q)

    async def create(self, fields: dict[str, Any], once: Once) -> Written:
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

        return await self._write_once(once, q)

    async def delete(self, staff_id: str, once: Once) -> Written:
        def q(conn: sqlite3.Connection) -> dict[str, Any]:
            cur = conn.execute(
                "UPDATE staff SET deleted = 1, updated_at = ?, version = version + 1"
                " WHERE id = ? AND deleted = 0",
                (now(), staff_id),
            )
            if cur.rowcount == 0:
                raise NotFound(staff_id)
            return _row(conn.execute(SELECT + " WHERE id = ?", (staff_id,)).fetchone())

        return await self._write_once(once, q)
