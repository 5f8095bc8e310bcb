// The screen, as React components. Every element a test needs carries the data-testid of
// the README's test contract.

import { newId } from "./ids.js";
import { Link } from "./link.js";
import { keep, release, watch } from "./outbox.js";
import { effectiveRows, reducer, startingState, tableOf } from "./state.js";

const h = React.createElement;
const { useEffect, useMemo, useReducer, useRef, useState } = React;
const COLUMNS = ["name", "position", "department", "status", "startPeriod", "endPeriod"];
const MAX_TEXT = 100;

const session = newId();
const page = `react-${session}`; // the envelope's clientId of this page's writes
let counter = 0;
const nextId = () => `${session}-${(counter += 1)}`;

function socketUrl(mode, period) {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${location.host}/staff-sync${mode === "legacy" ? `?period=${period}` : ""}`;
}

function indexOfDate(calendar, date) {
  const found = calendar.find((p) => date <= p.end);
  return found ? found.index : calendar.length - 1;
}

function EditForm({ calendar, row, onDone }) {
  const [name, setName] = useState(row ? row.name : "");
  const [position, setPosition] = useState(row ? row.position : "");
  const [department, setDepartment] = useState(row ? row.department : "");
  const [status, setStatus] = useState(row ? row.status : "active");
  const [first, setFirst] = useState(String(row ? indexOfDate(calendar, row.startPeriod) : 0));
  const [last, setLast] = useState(row && row.endPeriod ? String(indexOfDate(calendar, row.endPeriod)) : "");

  function save(event) {
    event.preventDefault();
    const keepStart = row && String(indexOfDate(calendar, row.startPeriod)) === first;
    const keepEnd = row && row.endPeriod && String(indexOfDate(calendar, row.endPeriod)) === last;
    const fields = {
      name,
      position,
      department,
      status,
      startPeriod: keepStart ? row.startPeriod : calendar[Number(first)].start,
      endPeriod: last === "" ? null : keepEnd ? row.endPeriod : calendar[Number(last)].end,
    };
    if (!row) return onDone(fields);
    const changes = Object.fromEntries(Object.entries(fields).filter(([k, v]) => (row[k] ?? null) !== v));
    return onDone(Object.keys(changes).length ? changes : null);
  }

  const options = (withNone) => [
    ...(withNone ? [h("option", { key: "none", value: "" }, "(no end)")] : []),
    ...calendar.map((p) => h("option", { key: p.index, value: String(p.index) }, p.label)),
  ];
  const field = (label, input) => h("label", null, label, " ", input);
  return h(
    "div",
    { className: "modal" },
    h(
      "form",
      { "data-testid": "edit-form", role: "dialog", "aria-label": row ? `Edit ${row.name}` : "Add staff", onSubmit: save },
      field("Name", h("input", { "data-testid": "edit-name", value: name, maxLength: MAX_TEXT, required: true, onChange: (e) => setName(e.target.value) })),
      field("Position", h("input", { "data-testid": "edit-position", value: position, maxLength: MAX_TEXT, onChange: (e) => setPosition(e.target.value) })),
      field("Department", h("input", { "data-testid": "edit-department", value: department, maxLength: MAX_TEXT, onChange: (e) => setDepartment(e.target.value) })),
      field(
        "Status",
        h(
          "select",
          { "data-testid": "edit-status", value: status, onChange: (e) => setStatus(e.target.value) },
          ["active", "on_leave", "inactive"].map((s) => h("option", { key: s, value: s }, s.replace("_", " "))),
        ),
      ),
      field("From", h("select", { "data-testid": "edit-start-period", value: first, onChange: (e) => setFirst(e.target.value) }, options(false))),
      field("Until", h("select", { "data-testid": "edit-end-period", value: last, onChange: (e) => setLast(e.target.value) }, options(true))),
      h(
        "div",
        null,
        h("button", { type: "submit", "data-testid": "edit-save" }, "Save"),
        " ",
        h("button", { type: "button", "data-testid": "edit-cancel", onClick: () => onDone(null) }, "Cancel"),
      ),
    ),
  );
}

function StaffTable(props) {
  return h("div", { className: "table-scroll" }, h(Rows, props));
}

function Rows({ period, ready, rows, pending, onEdit, onDelete }) {
  // the row components keep one handle whose handlers are this render's: a row left as it
  // was is not rendered again (its props are the same), and still calls the newest handler
  const handlers = useRef(null);
  handlers.current = { onEdit, onDelete };
  return h(
    "table",
    { "data-testid": "staff-table", "data-period": String(period), "data-state": ready ? "ready" : "loading" },
    h("thead", null, h("tr", null, ["Name", "Position", "Department", "Status", "From", "Until", ""].map((t) => h("th", { key: t }, t)))),
    h("tbody", null, ready && rows.map((row) => h(Row, { key: row.id, row, pending: pending.has(row.id), handlers }))),
  );
}

// Only a row whose member or pending state changed is made again on a period switch.
const Row = React.memo(function Row({ row, pending, handlers }) {
  return h(
    "tr",
    { "data-testid": "staff-row", "data-staff-id": row.id, "data-version": String(row.version ?? ""), "data-pending": pending ? "true" : undefined },
    COLUMNS.map((c) => h("td", { key: c, "data-testid": `staff-${c}` }, row[c] ?? "")),
    h(
      "td",
      null,
      h("button", { type: "button", "data-testid": "edit-staff", onClick: () => handlers.current.onEdit(row) }, "Edit"),
      h("button", { type: "button", "data-testid": "delete-staff", onClick: () => handlers.current.onDelete(row) }, "Delete"),
    ),
  );
});

function Navigation({ calendar, current, hasData, go }) {
  const period = calendar[current];
  return h(
    "nav",
    { className: "bar", "aria-label": "periods" },
    h("button", { type: "button", "data-testid": "nav-prev", disabled: current === 0, onClick: () => go({ delta: -1 }) }, "‹ previous"),
    h("strong", { "data-testid": "period-label", "data-period": String(current) }, period.label),
    h("button", { type: "button", "data-testid": "nav-next", disabled: current === calendar.length - 1, onClick: () => go({ delta: 1 }) }, "next ›"),
    h(
      "ol",
      { className: "periods" },
      calendar.map((p) =>
        h(
          "li",
          { key: p.index },
          h(
            "button",
            { type: "button", "data-testid": "period-chip", "data-period": String(p.index), "data-has-data": hasData(p.index), "aria-current": String(p.index === current), onClick: () => go({ index: p.index }) },
            p.label,
          ),
        ),
      ),
    ),
  );
}

export function App({ config, mode, snapshot, applied }) {
  const calendar = config.periods;
  const [state, dispatch] = useReducer(reducer, { mode, snapshot }, startingState);
  const [editing, setEditing] = useState(null); // {row} while the form is open
  const link = useRef(null);
  const latest = useRef(state);
  latest.current = state;
  const sent = useRef({ socket: null, ids: new Set() });

  useEffect(() => {
    const l = new Link({
      name: page,
      urlFor: () => socketUrl(mode, latest.current.current),
      onStatus: (status) => dispatch({ type: "status", status }),
      onFrame: (frame) => {
        if (frame.type === "CONNECTION_ACK") {
          const sync = mode === "legacy"
            ? { type: "SYNC_REQUEST", payload: { period: latest.current.current } }
            : { type: "SYNC_ALL_PERIODS_REQUEST", payload: {} };
          l.send(sync);
          return;
        }
        if (frame.type !== "PONG") dispatch({ type: "frame", frame });
      },
    });
    link.current = l;
    l.start();
    return () => l.stop();
  }, [mode]);

  // Operations other pages of the profile left unanswered are taken over; answered ones
  // are forgotten by the profile.
  useEffect(() => watch(page, (ops) => dispatch({ type: "adopt", ops }), applied), []);
  const kept = useRef(new Set());
  useEffect(() => {
    const now = new Set(state.ops.map((op) => op.rid));
    for (const rid of kept.current) if (!now.has(rid)) release(rid);
    kept.current = now;
  }, [state.ops]);

  // Legacy mode: each period has a socket of its own.
  const shown = useRef(state.current);
  useEffect(() => {
    if (mode === "legacy" && shown.current !== state.current) link.current.reopen();
    shown.current = state.current;
  }, [mode, state.current]);

  // Operations go out once per socket, and again on the next one if still unanswered.
  useEffect(() => {
    const l = link.current;
    if (!l || state.status !== "connected") return;
    if (sent.current.socket !== l.ws) sent.current = { socket: l.ws, ids: new Set() };
    for (const op of state.ops) {
      if (!sent.current.ids.has(op.rid) && l.send(op.frame)) sent.current.ids.add(op.rid);
    }
  }, [state.status, state.ops]);

  useEffect(() => {
    const onKey = (event) => {
      if (editing || (event.target.closest && event.target.closest("input, select, textarea, form"))) return;
      if (event.key === "ArrowLeft") dispatch({ type: "go", delta: -1, count: calendar.length });
      if (event.key === "ArrowRight") dispatch({ type: "go", delta: 1, count: calendar.length });
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [editing, calendar.length]);

  // what the rows are depends on the server's rows and the unconfirmed writes, not on the
  // period shown: kept across switches, so that a row the next period shares stays as it is
  const rows = useMemo(() => effectiveRows(state, calendar), [state.rows, state.ops, calendar]);
  const table = useMemo(() => tableOf(rows, state.current), [rows, state.current]);
  const pending = useMemo(() => new Set(state.ops.map((op) => op.staffId)), [state.ops]);
  // the periods with anyone in them, once per change of the rows (not once per chip)
  const staffed = useMemo(() => new Set(Object.values(rows).flatMap((row) => row.periods || [])), [rows]);
  const ready = mode === "legacy" ? state.synced === state.current : state.synced === "all";
  const hasData = (index) => {
    if (mode === "legacy" ? index !== state.current || !ready : !ready) return "unknown";
    return String(staffed.has(index));
  };
  const go = (where) => dispatch({ type: "go", ...where, count: calendar.length });

  function submit(kind, staffId, body) {
    const rid = nextId();
    const frames = {
      update: { type: "STAFF_UPDATE", requestId: rid, clientId: page, payload: { staffId, ...body } },
      create: { type: "STAFF_CREATE", requestId: rid, clientId: page, payload: { ...body.fields, tempId: rid } },
      delete: { type: "STAFF_DELETE", requestId: rid, clientId: page, payload: { staffId } },
    };
    const op = { rid, kind, staffId: staffId ?? rid, ...body, frame: frames[kind] };
    keep(op, page); // stored before it shows as unsaved
    dispatch({ type: "op", op });
  }

  function done(result) {
    const row = editing.row;
    setEditing(null);
    if (!result) return;
    if (row) submit("update", row.id, { changes: result, baseVersion: row.version });
    else submit("create", null, { fields: result });
  }

  function remove(row) {
    if (window.confirm(`Delete ${row.name}?`)) submit("delete", row.id, {});
  }

  return h(
    "div",
    null,
    config.defect && h("div", { className: "banner", "data-testid": "defect-banner", "data-defect": config.defect }, `DEFECT ${config.defect}: ${config.defectText}`),
    h(
      "header",
      { className: "bar" },
      h("h1", null, "Staff schedule"),
      h("span", { "data-testid": "app-mode", "data-mode": mode }, `${mode} mode`),
      h("span", { className: "badge", "data-testid": "connection-badge", "data-state": state.status }, state.status),
      h("span", { "data-testid": "pending-count", "data-count": String(state.ops.length), hidden: state.ops.length === 0 }, `${state.ops.length} unsaved`),
    ),
    h(Navigation, { calendar, current: state.current, hasData, go }),
    h("p", { className: "alert", role: "alert", "data-testid": "error-message", hidden: !state.error }, state.error || ""),
    h("button", { type: "button", "data-testid": "add-staff", onClick: () => setEditing({ row: null }) }, "Add staff"),
    h(StaffTable, { period: state.current, ready, rows: table, pending, onEdit: (row) => setEditing({ row }), onDelete: remove }),
    editing && h(EditForm, { calendar, row: editing.row, onDone: done }),
  );
}
