// Injected before the app loads. App-agnostic: relies only on the test contract
// (data-testid="staff-table" with data-period / data-state, rows with data-staff-id).
(() => {
  if (window.__ssProbe) return;
  const probe = {
    navigations: [],   // {target, inputAt, readyAt, frameAt}
    snapshots: [],     // {t, period, ids} each time the ready table changes
    longTasks: [],     // {start, duration}
    events: [],        // Event Timing entries >= 16 ms: {name, start, duration}
    errors: [],        // uncaught errors and rejections
    firstRowAt: null,  // ms since navigation start, first frame showing a staff row
    waiting: null,     // the navigation being measured
    watching: {},      // key -> {spec, seenAt, frameAt}: when the table first showed a value (epoch ms)
    writes: [],        // write frames sent: {at, type, text, inputAt} (epoch ms)
    received: [],      // write broadcasts received: {at, type, text} (epoch ms)
    lastInputAt: null, // epoch ms of the last trusted pointerdown or keydown
    states: [],        // connection badge changes: {t, state} (page ms)
    disagreements: [], // painted frames whose label, current chip and ready table disagree
    recording: true,   // false: keep no history (heap measurements must not count the probe)
    syncs: 0,          // sync answers (one period or all) its sockets received
  };
  window.__ssProbe = probe;
  const MAX_SNAPSHOTS = 20000;
  const MAX_FRAMES = 2000;
  // One clock for every page of the machine: epoch ms, sub-millisecond.
  const epoch = () => performance.timeOrigin + performance.now();
  const WRITE = /"type"\s*:\s*"(STAFF_UPDATE|STAFF_CREATE|STAFF_DELETE)"/;
  const SYNC = /"type"\s*:\s*"SYNC_(ALL_PERIODS_)?RESPONSE"/;

  // Marks the next input event as the start of a navigation to `target`.
  probe.expect = (target) => {
    probe.waiting = { target, inputAt: null, readyAt: null, frameAt: null };
    probe.navigations.push(probe.waiting);
  };

  // Every WebSocket the page creates, seen from inside the page (routed or not).
  probe.sockets = [];
  const liveSockets = [];
  // Close events of a routed (mocked) socket may bypass listeners: read readyState too.
  probe.socketList = () => {
    for (const [ws, record] of liveSockets) {
      if (record.closedAt === null && ws.readyState === 3) record.closedAt = performance.now();
    }
    return probe.sockets;
  };
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      const record = { url: String(url), createdAt: performance.now(), openAt: null, closedAt: null, sent: [] };
      this.__ssRecord = record;
      probe.sockets.push(record);
      liveSockets.push([this, record]);
      this.addEventListener("open", () => { record.openAt = performance.now(); });
      this.addEventListener("close", () => { record.closedAt = performance.now(); });
      // Registered before the app's own handlers: stamps a broadcast before the app sees it.
      this.addEventListener("message", (event) => {
        if (typeof event.data !== "string") return;
        if (SYNC.test(event.data.slice(0, 200))) probe.syncs += 1;
        const match = WRITE.exec(event.data.slice(0, 200));
        if (match && probe.received.length < MAX_FRAMES) {
          probe.received.push({ at: epoch(), type: match[1], text: event.data.slice(0, 8000) });
        }
      });
    }

    send(data) {
      const at = epoch();
      let type = "?";
      try { type = JSON.parse(data).type; } catch (err) { type = "<not json>"; }
      if (probe.recording && this.__ssRecord.sent.length < 5000) this.__ssRecord.sent.push({ t: performance.now(), type });
      if (/^STAFF_(UPDATE|CREATE|DELETE)$/.test(type) && probe.writes.length < MAX_FRAMES) {
        probe.writes.push({ at, type, text: String(data).slice(0, 8000), inputAt: probe.lastInputAt });
      }
      return super.send(data);
    }
  };

  // Records when the table first shows a value (cross-tab propagation). spec:
  // {staffId?, field = "name", text} a cell of that row (or of any row) showing `text`;
  // {staffId, absent: true} no row of that member in a ready table.
  probe.watch = (key, spec) => {
    probe.watching[key] = { spec, seenAt: null, frameAt: null };
    check();
  };
  const shows = (table, spec) => {
    if (spec.absent) {
      return table.getAttribute("data-state") === "ready"
        && !table.querySelector(`[data-testid="staff-row"][data-staff-id="${CSS.escape(spec.staffId)}"]`);
    }
    const rows = spec.staffId
      ? table.querySelectorAll(`[data-testid="staff-row"][data-staff-id="${CSS.escape(spec.staffId)}"]`)
      : table.querySelectorAll('[data-testid="staff-row"]');
    const cell = `[data-testid="staff-${spec.field || "name"}"]`;
    return [...rows].some((r) => { const c = r.querySelector(cell); return c !== null && c.textContent === spec.text; });
  };

  const onInput = (event) => {
    if (!event.isTrusted) return;
    probe.lastInputAt = epoch();
    const w = probe.waiting;
    if (w && w.inputAt === null) {
      w.inputAt = event.timeStamp;
      check();
    }
  };
  for (const type of ["pointerdown", "keydown"]) window.addEventListener(type, onInput, true);

  // What a painted frame shows: read in an animation frame callback, after the app's own
  // (registered earlier in the task) and before the paint.
  let frameCheck = false;
  const shownPeriods = () => {
    const table = document.querySelector('[data-testid="staff-table"]');
    const label = document.querySelector('[data-testid="period-label"]');
    const chip = document.querySelector('[data-testid="period-chip"][aria-current="true"]');
    return {
      table: table ? table.getAttribute("data-period") : null,
      ready: table ? table.getAttribute("data-state") === "ready" : false,
      label: label ? label.getAttribute("data-period") : null,
      chip: chip ? chip.getAttribute("data-period") : null,
    };
  };
  const checkFrame = () => {
    frameCheck = false;
    const shown = shownPeriods();
    if (!shown.ready) return;
    const agree = shown.label === shown.table && (shown.chip === null || shown.chip === shown.table);
    if (!agree && probe.disagreements.length < MAX_FRAMES) probe.disagreements.push({ t: performance.now(), ...shown });
  };

  let lastKey = "";
  function check() {
    if (!frameCheck) {
      frameCheck = true;
      requestAnimationFrame(checkFrame);
    }
    const badge = document.querySelector('[data-testid="connection-badge"]');
    const state = badge ? badge.getAttribute("data-state") : null;
    const last = probe.states[probe.states.length - 1];
    if (state !== null && (!last || last.state !== state) && probe.states.length < MAX_FRAMES) {
      probe.states.push({ t: performance.now(), state });
    }
    const table = document.querySelector('[data-testid="staff-table"]');
    if (!table) return;
    const ready = table.getAttribute("data-state") === "ready";
    const period = Number(table.getAttribute("data-period"));
    if (ready) {
      const ids = [...table.querySelectorAll('[data-testid="staff-row"]')].map((r) => r.getAttribute("data-staff-id"));
      const key = period + ":" + ids.join(",");
      if (key !== lastKey) {
        lastKey = key;
        if (probe.recording && probe.snapshots.length < MAX_SNAPSHOTS) probe.snapshots.push({ t: performance.now(), period, ids });
      }
      if (probe.firstRowAt === null && ids.length > 0) {
        requestAnimationFrame(() => { if (probe.firstRowAt === null) probe.firstRowAt = performance.now(); });
      }
    }
    for (const watched of Object.values(probe.watching)) {
      if (watched.seenAt === null && shows(table, watched.spec)) {
        watched.seenAt = epoch();
        requestAnimationFrame(() => { watched.frameAt = epoch(); });
      }
    }
    const w = probe.waiting;
    if (w && w.inputAt !== null && w.readyAt === null && ready && period === w.target) {
      w.readyAt = performance.now();
      requestAnimationFrame(() => { w.frameAt = performance.now(); });
    }
  }
  // Every way a DOM can show a value: child lists, text nodes rewritten in place (as React
  // does), attributes.
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, characterData: true, attributes: true,
  });

  const observe = (type, fn, extra = {}) => {
    try {
      new PerformanceObserver((list) => list.getEntries().forEach(fn)).observe({ type, buffered: true, ...extra });
    } catch (err) {
      probe.errors.push(`probe: ${type} not observable: ${err}`);
    }
  };
  observe("longtask", (e) => probe.longTasks.push({ start: e.startTime, duration: e.duration }));
  observe("event", (e) => probe.recording && probe.events.push({ name: e.name, start: e.startTime, duration: e.duration }), { durationThreshold: 16 });
  window.addEventListener("error", (e) => probe.errors.push(String(e.message || e)));
  window.addEventListener("unhandledrejection", (e) => probe.errors.push(`unhandled rejection: ${e.reason}`));

  // What the page shows now, through the test contract only (for failure messages).
  probe.describe = () => {
    const by = (id) => document.querySelector(`[data-testid="${id}"]`);
    const table = by("staff-table");
    const error = by("error-message");
    return {
      table: table ? { period: table.getAttribute("data-period"), state: table.getAttribute("data-state"),
        rows: table.querySelectorAll('[data-testid="staff-row"]').length } : null,
      label: by("period-label") ? by("period-label").textContent : null,
      connection: by("connection-badge") ? by("connection-badge").getAttribute("data-state") : null,
      pending: by("pending-count") ? by("pending-count").getAttribute("data-count") : null,
      error: error && error.offsetParent !== null ? error.textContent : null,
      editFormOpen: by("edit-form") ? by("edit-form").offsetParent !== null : false,
      socketsOpen: probe.socketList().filter((s) => s.closedAt === null).length,
    };
  };

  probe.fcp = () => {
    const entry = performance.getEntriesByName("first-contentful-paint")[0];
    return entry ? entry.startTime : null;
  };
})();
