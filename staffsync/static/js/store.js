// Staff of every period, as the server sent them, plus optimistic edits not yet confirmed.

export function memberOf(periods, startPeriod, endPeriod) {
  return periods
    .filter((p) => startPeriod <= p.end && (endPeriod === null || endPeriod === undefined || endPeriod >= p.start))
    .map((p) => p.index);
}

function byOrder(a, b) {
  return a.staffOrder - b.staffOrder || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export class Store {
  constructor(periods) {
    this.periods = periods;      // [{index, start, end, label}]
    this.byPeriod = new Map();   // period index -> [row], or absent when not loaded
    this.server = new Map();     // id -> {row, periods}: the last row the server confirmed
    this.pending = new Map();    // requestId -> {kind, staffId, frame}
  }

  hasPeriod(index) {
    return this.byPeriod.has(index);
  }

  rows(index) {
    return this.byPeriod.get(index) || [];
  }

  // The version of the server's row the user is editing (a write's baseVersion).
  knownVersion(staffId) {
    const known = this.server.get(staffId);
    return known ? known.row.version : undefined;
  }

  pendingCount() {
    return this.pending.size;
  }

  pendingIds() {
    return new Set([...this.pending.values()].map((edit) => edit.staffId));
  }

  // Drops an optimistic edit without showing the server's row again (it is being re-applied).
  forget(requestId) {
    this.pending.delete(requestId);
  }

  // All periods at once (SYNC_ALL_PERIODS_RESPONSE): replaces everything known.
  replaceAll(periodsPayload) {
    this.byPeriod = new Map();
    this.server = new Map();
    for (const p of this.periods) {
      const rows = (periodsPayload[String(p.index)] || []).map((r) => ({ ...r }));
      rows.sort(byOrder);
      this.byPeriod.set(p.index, rows);
      for (const row of rows) {
        const known = this.server.get(row.id);
        if (known) known.periods.push(p.index);
        else this.server.set(row.id, { row: { ...row }, periods: [p.index] });
      }
    }
  }

  // One period (legacy SYNC_RESPONSE): the others are flushed, and so is what the server
  // said of their rows (a member deleted meanwhile must not come back with a refusal).
  replacePeriod(index, staff) {
    this.byPeriod = new Map([[index, staff.map((r) => ({ ...r })).sort(byOrder)]]);
    this.server = new Map(staff.map((row) => [row.id, { row: { ...row }, periods: row.periods || [index] }]));
  }

  // The server's row (STAFF_UPDATE / STAFF_CREATE broadcast) with the periods it belongs to.
  applyServerRow(row, periods) {
    const known = this.server.get(row.id);
    if (known && known.row.version > row.version) return; // an older echo than what we hold
    this.server.set(row.id, { row: { ...row }, periods: [...periods] });
    this.place(row, periods);
  }

  removeServerRow(staffId) {
    this.server.delete(staffId);
    this.place({ id: staffId }, []);
  }

  // Put `row` in exactly the loaded periods listed, and take it out of the others.
  place(row, periods) {
    const target = new Set(periods);
    for (const [index, rows] of this.byPeriod) {
      const at = rows.findIndex((r) => r.id === row.id);
      if (at >= 0) rows.splice(at, 1);
      if (target.has(index)) {
        rows.push({ ...row });
        rows.sort(byOrder);
      }
    }
  }

  // Optimistic edits ------------------------------------------------------------------
  localUpdate(requestId, staffId, changes) {
    const known = this.server.get(staffId);
    this.pending.set(requestId, { kind: "update", staffId }); // pending even before any data
    if (!known) return false;
    const current = this.displayedRow(staffId) || known.row;
    const row = { ...current, ...changes };
    this.place(row, memberOf(this.periods, row.startPeriod, row.endPeriod));
    return true;
  }

  localCreate(requestId, fields) {
    const row = { id: requestId, staffOrder: 1e9, version: 0, status: "active", type: "full_time", ...fields };
    this.pending.set(requestId, { kind: "create", staffId: requestId });
    this.place(row, memberOf(this.periods, row.startPeriod, row.endPeriod ?? null));
  }

  localDelete(requestId, staffId) {
    this.pending.set(requestId, { kind: "delete", staffId });
    this.place({ id: staffId }, []);
  }

  displayedRow(staffId) {
    for (const rows of this.byPeriod.values()) {
      const row = rows.find((r) => r.id === staffId);
      if (row) return row;
    }
    return null;
  }

  // The server accepted (echo) or refused (ERROR) the request: show the server's row again.
  settle(requestId) {
    const edit = this.pending.get(requestId);
    if (!edit) return null;
    this.pending.delete(requestId);
    if (edit.kind === "create") {
      this.place({ id: edit.staffId }, []);
      return edit;
    }
    const known = this.server.get(edit.staffId);
    if (known) this.place(known.row, known.periods);
    return edit;
  }
}
