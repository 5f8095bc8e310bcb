"""What every user should see: plain data, no browser and nothing from staffsync/.

Written from the protocol and the test contract: the server's rows with their versions;
each period's members by the suite's own oracle (e2e/harness/oracle.py); each browser
profile's identity (the mode the deployment gave it) and tabs; each tab's period, its
writes waiting for a connection, the view it holds while disconnected, and whether it owes
the user a refusal. Writes are applied by the protocol's rules: a text field at most the
contract's limit in characters, a name not blank, a write for a deleted member refused,
an update raising the row's version by one, the last accepted write of a field winning."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from e2e.harness.oracle import Span, belongs

TEXT_FIELDS = ("name", "position", "department")
STATUSES = ("active", "on_leave", "inactive")


@dataclass
class Row:
    id: str  # the server's id; a handle ("N1") until a create is seen in the database
    name: str
    position: str
    department: str
    status: str
    first: int  # first period it belongs to
    last: int | None  # last period, None: open-ended
    version: int

    def content(self) -> tuple[str, str, str, str]:
        return (self.name, self.position, self.department, self.status)

    def in_period(self, period: int) -> bool:
        return self.first <= period and (self.last is None or period <= self.last)


@dataclass
class Write:
    """One write as the user (or another user through the protocol) asked for it."""

    kind: str  # update, create, delete
    handle: str  # the member's handle (M1, N2, ...)
    changes: dict[str, Any] = field(default_factory=dict)  # fields, or first/last periods
    applied: bool = False  # the server applied it and its answer was lost: a repeat next time
    carried: bool = False  # its tab reloaded, closed or crashed while it waited


# A form's fields as the user types them, and what each is in the model's rows.
FORM_FIELDS = ("name", "position", "department", "status", "first", "last")
NEW_MEMBER: dict[str, Any] = {
    "name": "", "position": "", "department": "", "status": "active", "first": 0, "last": None,
}  # fmt: skip


@dataclass
class Form:
    """An open edit form (of `handle`) or create form (`handle` None) that the user lingers
    over: what it showed when it opened, and what the user typed since."""

    handle: str | None
    opened: dict[str, Any]  # each field's value when the form opened
    typed: dict[str, Any] = field(default_factory=dict)

    def holds(self) -> dict[str, Any]:
        return {**self.opened, **self.typed}

    def changes(self) -> dict[str, Any]:
        """What a save sends: for an edit, the fields the user changed from what the form
        showed (the server keeps a colleague's value of any other); for a create, all."""
        if self.handle is None:
            return self.holds()
        return {k: v for k, v in self.typed.items() if self.opened.get(k) != v}


@dataclass
class Tab:
    name: str
    period: int
    queued: list[Write] = field(default_factory=list)  # typed while disconnected
    view: dict[str, Row] | None = None  # what it holds while disconnected
    refusal_owed: bool = False  # its last write was refused: the refusal must show
    loaded: bool = True  # a legacy tab moved while offline, or a page loaded offline: no data
    # a page loaded offline may show the rows it came with (its `view`: the server's when
    # it was sent), or none until its socket syncs: either is right
    may_show: bool = False
    moved_offline: bool = False  # navigated while disconnected (whatever its mode)
    form: Form | None = None  # a form the user keeps open

    @property
    def usable(self) -> bool:
        """The user can click its rows, whatever the profile's mode: what the exploration's
        choices depend on, so that a mode the deployment draws cannot change them."""
        return self.loaded and not self.moved_offline


@dataclass
class Profile:
    name: str
    mode: str | None = None  # as the deployment assigned it at the first load
    offline: bool = False
    tabs: dict[str, Tab] = field(default_factory=dict)  # oldest first
    stored: list[Write] = field(default_factory=list)  # saved by tabs that are all gone


def row_from_server(row: dict[str, Any], calendar: list[Span]) -> Row:
    member_of = [s.index for s in calendar if belongs(row, s)]
    last: int | None = member_of[-1] if member_of else -1
    if row.get("endPeriod") is None and member_of and member_of[-1] == calendar[-1].index:
        last = None
    return Row(
        id=str(row["id"]),
        name=str(row["name"]),
        position=str(row.get("position") or ""),
        department=str(row.get("department") or ""),
        status=str(row.get("status") or "active"),
        first=member_of[0] if member_of else len(calendar),
        last=last,
        version=int(row.get("version") or 0),
    )


class Model:
    def __init__(self, calendar: list[Span], text_limit: int | None) -> None:
        self.calendar = calendar
        self.text_limit = text_limit
        self.rows: dict[str, Row] = {}  # id -> the server's row
        self.handles: dict[str, str] = {}  # handle -> id (M1.., N1..)
        self.unseen: dict[str, Row] = {}  # handle -> a created row not yet found by id
        self.profiles: dict[str, Profile] = {}
        self.server_up = True
        self.created = 0

    # -- the world ---------------------------------------------------------------------
    def start(self, server_rows: list[dict[str, Any]]) -> None:
        self.rows = {str(r["id"]): row_from_server(r, self.calendar) for r in server_rows}

    def adopt(self, handle: str, staff_id: str) -> None:
        self.handles[handle] = staff_id

    def tabs(self) -> list[tuple[Profile, Tab]]:
        return [(p, t) for p in self.profiles.values() for t in p.tabs.values()]

    def tab(self, profile: str, tab: str) -> Tab:
        return self.profiles[profile].tabs[tab]

    def connected(self, profile: str) -> bool:
        return self.server_up and not self.profiles[profile].offline

    def queue_holder(self) -> tuple[str, str] | None:
        """The one tab holding writes typed while disconnected (the model keeps to one, so
        that the order in which queues are replayed is known); (profile, "") when they wait
        in the storage of a profile with no tab open."""
        for p in self.profiles.values():
            if p.stored:
                return p.name, ""
        for p, t in self.tabs():
            if t.queued:
                return p.name, t.name
        return None

    def waiting(self) -> list[Write]:
        """Every write saved and not yet sent, in tabs or in a profile's storage."""
        return [w for p in self.profiles.values() for w in p.stored] + [
            w for _, t in self.tabs() for w in t.queued
        ]

    def open_form(self, profile: str, tab: str, handle: str | None) -> Form:
        """The user opens a member's edit form (or the create form) and lingers."""
        t = self.tab(profile, tab)
        opened = dict(NEW_MEMBER)
        if handle is not None:
            row = self._find(handle, self.holdings(profile, tab))
            assert row is not None, f"{handle} is not shown on tab {tab}"
            opened = {k: getattr(row, k) for k in FORM_FIELDS}
        t.form = Form(handle, opened)
        return t.form

    def row_of(self, handle: str) -> Row | None:
        if handle in self.unseen:
            return self.unseen[handle]
        staff_id = self.handles.get(handle)
        return None if staff_id is None else self.rows.get(staff_id)

    def live_handles(self) -> list[str]:
        return sorted(h for h in [*self.handles, *self.unseen] if self.row_of(h) is not None)

    # -- what a tab should show --------------------------------------------------------
    def holdings(self, profile: str, tab: str) -> dict[str, Row]:
        """The rows a tab holds: the server's when connected, else its own view."""
        t = self.tab(profile, tab)
        if t.view is not None:
            return t.view
        return self.served()

    def served(self) -> dict[str, Row]:
        """The server's rows, the creates it applied unseen by any page included (a page's
        snapshot holds them)."""
        return {**self.rows, **{f"new:{h}": r for h, r in self.unseen.items()}}

    def screen(self, profile: str, tab: str) -> list[tuple[str, str, str, str]]:
        """The rows (content) the tab must show on its period, in no particular order."""
        period = self.tab(profile, tab).period
        rows = self.holdings(profile, tab).values()
        return sorted(r.content() for r in rows if r.in_period(period))

    def visible_handles(self, profile: str, tab: str) -> list[str]:
        """The exploration's members a user can click on this tab now."""
        t = self.tab(profile, tab)
        if not t.usable:
            return []
        held = self.holdings(profile, tab)
        shown = []
        for handle in self.live_handles():
            staff_id = self.handles.get(handle, f"new:{handle}")
            row = held.get(staff_id)
            if row is not None and row.in_period(t.period) and handle not in self.unseen:
                shown.append(handle)
        return shown

    # -- writes --------------------------------------------------------------------------
    def refusal(self, write: Write, rows: dict[str, Row]) -> str | None:
        """Why the protocol refuses `write` against `rows`, or None when it is accepted."""
        target = self._find(write.handle, rows)
        if write.kind != "create" and target is None:
            return "unknown or deleted member"
        for name in TEXT_FIELDS:
            value = write.changes.get(name)
            if value is None:
                continue
            if self.text_limit is not None and len(value) > self.text_limit:
                return f"{name} longer than {self.text_limit} characters"
        if "name" in write.changes and not str(write.changes["name"]).strip():
            return "blank name"
        if write.kind == "update" and target is not None:
            first = write.changes.get("first", target.first)
            last = write.changes.get("last", target.last)
            if last is not None and last < first:  # a date the user kept meets a colleague's
                return "end before start"
        return None

    def _find(self, handle: str, rows: dict[str, Row]) -> Row | None:
        staff_id = self.handles.get(handle)
        if staff_id is not None:
            return rows.get(staff_id)
        return rows.get(f"new:{handle}")

    def apply(self, write: Write) -> str | None:
        """Apply an accepted write to the server's rows; returns the refusal, if any."""
        why = self.refusal(write, self.rows)
        if why is not None:
            return why
        if write.kind == "create":
            self.unseen[write.handle] = _changed(
                Row(f"new:{write.handle}", "", "", "", "active", 0, None, 1), write.changes
            )
            return None
        staff_id = self.handles[write.handle]
        if write.kind == "delete":
            del self.rows[staff_id]
            return None
        row = _changed(self.rows[staff_id], write.changes)
        row.version += 1
        self.rows[staff_id] = row
        return None

    def apply_locally(self, tab: Tab, write: Write) -> None:
        """A write typed while disconnected: the tab shows it at once (optimistically)."""
        assert tab.view is not None
        key = self.handles.get(write.handle, f"new:{write.handle}")
        if write.kind == "delete":
            tab.view.pop(key, None)
        elif write.kind == "create":
            tab.view[key] = _changed(Row(key, "", "", "", "active", 0, None, 0), write.changes)
        elif key in tab.view:
            tab.view[key] = _changed(tab.view[key], write.changes)

    def leave(self, profile: str, tab: str) -> None:
        """A tab reloads, closes or crashes. What it saved and the server has not confirmed
        stays in the profile's storage: the profile's oldest open tab takes it over (shows it
        pending and sends it), or the next tab opened in the profile does."""
        owner = self.profiles[profile]
        gone = owner.tabs.pop(tab)
        carried = [_carried(w) for w in gone.queued]
        if not carried:
            return
        heir = next(iter(owner.tabs.values()), None)
        if heir is None:
            owner.stored += carried
            return
        heir.queued = carried + heir.queued
        if heir.view is not None:
            for write in carried:
                self.apply_locally(heir, write)

    def arrive(self, profile: str, tab: str) -> list[tuple[Write, str | None]]:
        """A tab opened in a profile whose writes wait in its storage takes them over; when
        connected it sends them at once (returned with their refusals, as `reconnect`). The
        page comes from the server, which says which of them it applied (their answers
        lost): those are settled, not shown waiting (the page's rows hold them)."""
        owner = self.profiles[profile]
        fresh = owner.tabs[tab]
        fresh.queued, owner.stored = [w for w in owner.stored if not w.applied], []
        if self.connected(profile):
            return self._send(fresh)
        for write in fresh.queued:
            if fresh.view is not None:
                self.apply_locally(fresh, write)
        return []

    def _send(self, tab: Tab) -> list[tuple[Write, str | None]]:
        """The tab sends what it queued, in order: a write the server applied before (its
        answer lost) is a repeat, answered as the first time."""
        refusals = [None if w.applied else self.apply(w) for w in tab.queued]
        sent = list(zip(tab.queued, refusals, strict=True))
        if tab.queued:  # a refusal stays shown until the tab's next write
            tab.refusal_owed = any(why is not None for why in refusals)
        tab.queued = []
        return sent

    def disconnect(self, profile: str) -> None:
        for tab in self.profiles[profile].tabs.values():
            if tab.view is None:
                tab.view = copy.deepcopy(self.holdings(profile, tab.name))

    def reconnect(self, profile: str) -> list[tuple[Write, str | None]]:
        """The profile's tabs resync and send what they queued, in order; returns each
        write sent with its refusal, if any."""
        sent: list[tuple[Write, str | None]] = []
        for tab in self.profiles[profile].tabs.values():
            tab.view = None
            tab.loaded, tab.moved_offline, tab.may_show = True, False, False
            sent += self._send(tab)
        return sent

    def members(self, rows: dict[str, Row]) -> dict[int, set[str]]:
        return {
            s.index: {i for i, r in rows.items() if r.in_period(s.index)} for s in self.calendar
        }

    def resolve(self, server_rows: list[dict[str, Any]]) -> list[str]:
        """Give each created row its server id: an unknown row in the database with the
        created content. Returns the ids of unknown rows that match no create (a create
        applied twice, or a row from elsewhere)."""
        strays = []
        for raw in server_rows:
            staff_id = str(raw["id"])
            if staff_id in self.rows:
                continue
            row = row_from_server(raw, self.calendar)
            match = next((h for h, r in self.unseen.items() if r.content() == row.content()), None)
            if match is None:
                strays.append(staff_id)
                continue
            created = self.unseen.pop(match)
            created.id, created.version = staff_id, row.version
            self.rows[staff_id] = created
            self.handles[match] = staff_id
        return strays

    def next_handle(self) -> str:
        self.created += 1
        return f"N{self.created}"


def operations(write: Write) -> list[str]:
    """The coverage matrix's operations (fixtures/coverage.json) a write performs."""
    if write.kind != "update":
        return [write.kind]
    ops = [f"update {f}" for f in (*TEXT_FIELDS, "status") if f in write.changes]
    moved = "first" in write.changes or "last" in write.changes
    return ops + (["move by dates"] if moved else [])


def _carried(write: Write) -> Write:
    return Write(write.kind, write.handle, dict(write.changes), write.applied, carried=True)


def _changed(row: Row, changes: dict[str, Any]) -> Row:
    new = copy.copy(row)
    for key, value in changes.items():
        setattr(new, key, value)
    return new
