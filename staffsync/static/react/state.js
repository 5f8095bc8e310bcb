// What the editor knows: the server's rows (by id, each with the periods it belongs to)
// and the user's operations the server has not answered yet. The table of a period is
// derived from both on every render.

export function initialState(mode) {
  return { mode, status: "connecting", rows: {}, synced: null, syncedAt: -Infinity, current: 0, ops: [], error: null };
}

// The state a page starts in: with every period's staff when it came with them (a
// SYNC_ALL_PERIODS_RESPONSE frame, shown in prefetch mode before the socket opens).
export function startingState({ mode, snapshot }) {
  const empty = initialState(mode);
  if (!snapshot || mode === "legacy" || snapshot.type !== "SYNC_ALL_PERIODS_RESPONSE") return empty;
  return received(empty, snapshot);
}

// The protocol's rule: a member belongs to a period when its start is not after the
// period's end and its end (if any) is not before the period's start.
export function periodsOf(calendar, start, end) {
  return calendar.filter((p) => start <= p.end && (end == null || end >= p.start)).map((p) => p.index);
}

// When the server made a frame (epoch ms); a frame without a time is taken as new.
const madeAt = (frame) => Date.parse(frame.timestamp) || Infinity;

// A row made before the rows held were sent, of a member they do not have: deleted since
// (a repeated answer after a reconnect is the first time's frame). Not to be brought back.
const gone = (state, frame, id) => madeAt(frame) < state.syncedAt && !state.rows[id];

function withoutOp(ops, id) {
  return id == null ? ops : ops.filter((op) => op.rid !== id);
}

function received(state, frame) {
  const p = frame.payload || {};
  switch (frame.type) {
    case "SYNC_ALL_PERIODS_RESPONSE": {
      const rows = {};
      for (const [key, list] of Object.entries(p.periods || {})) {
        for (const row of list || []) {
          const seen = rows[row.id];
          rows[row.id] = { ...row, periods: [...(seen ? seen.periods : []), Number(key)] };
        }
      }
      return { ...state, rows, synced: "all", syncedAt: madeAt(frame) };
    }
    case "SYNC_RESPONSE": {
      if (state.mode !== "legacy" || p.period !== state.current) return state; // a late answer
      const rows = {};
      for (const row of p.staff || []) rows[row.id] = { ...row, periods: row.periods || [p.period] };
      return { ...state, rows, synced: p.period, syncedAt: madeAt(frame) };
    }
    case "STAFF_UPDATE": {
      const row = { ...p.changes, periods: p.periods || [] };
      const known = state.rows[row.id];
      const stale = (known && known.version > row.version) || gone(state, frame, row.id);
      const rows = stale ? state.rows : { ...state.rows, [row.id]: row };
      return { ...state, rows, ops: withoutOp(state.ops, p.requestId) };
    }
    case "STAFF_CREATE": {
      const { tempId, ...row } = p;
      const rows = gone(state, frame, row.id) ? state.rows : { ...state.rows, [row.id]: row };
      return { ...state, rows, ops: withoutOp(state.ops, tempId) };
    }
    case "STAFF_DELETE": {
      const { [p.staffId]: _gone, ...rows } = state.rows;
      return { ...state, rows, ops: withoutOp(state.ops, p.requestId) };
    }
    case "ERROR":
      return { ...state, ops: withoutOp(state.ops, p.requestId), error: `Not saved: ${p.message || p.error}` };
    default:
      return state;
  }
}

export function reducer(state, action) {
  switch (action.type) {
    case "status":
      return { ...state, status: action.status };
    case "frame":
      return received(state, action.frame);
    case "go": {
      const index = Math.max(0, Math.min(action.count - 1, action.index ?? state.current + action.delta));
      if (index === state.current) return state;
      return state.mode === "legacy" ? { ...state, current: index, rows: {}, synced: null } : { ...state, current: index };
    }
    case "op":
      return { ...state, ops: [...state.ops, action.op], error: null };
    case "adopt": {
      // operations of a page that is gone: older than this page's own
      const known = new Set(state.ops.map((op) => op.rid));
      const fresh = action.ops.filter((op) => !known.has(op.rid));
      return fresh.length ? { ...state, ops: [...fresh, ...state.ops] } : state;
    }
    default:
      return state;
  }
}

// The rows as the user should see them: the server's, with the unanswered operations on top.
export function effectiveRows(state, calendar) {
  const rows = { ...state.rows };
  for (const op of state.ops) {
    if (op.kind === "delete") {
      delete rows[op.staffId];
    } else if (op.kind === "update" && rows[op.staffId]) {
      const row = { ...rows[op.staffId], ...op.changes };
      const moved = "startPeriod" in op.changes || "endPeriod" in op.changes;
      rows[op.staffId] = moved ? { ...row, periods: periodsOf(calendar, row.startPeriod, row.endPeriod) } : row;
    } else if (op.kind === "create") {
      const f = op.fields;
      rows[op.rid] = { id: op.rid, version: 0, staffOrder: Number.MAX_SAFE_INTEGER, ...f, periods: periodsOf(calendar, f.startPeriod, f.endPeriod) };
    }
  }
  return rows;
}

export function tableOf(rows, period) {
  return Object.values(rows)
    .filter((row) => (row.periods || []).includes(period))
    .sort((a, b) => a.staffOrder - b.staffOrder || String(a.id).localeCompare(String(b.id)));
}
