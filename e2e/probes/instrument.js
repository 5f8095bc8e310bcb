// Injected before the app loads. App-agnostic: relies only on the test contract
// (data-testid="staff-table" with data-period / data-state, rows with data-staff-id).
(() => {
  if (window.__ssProbe) return;
  const probe = {
    navigations: [],   // {target, inputAt, readyAt, frameAt, superseded}
    snapshots: [],     // {t, period, ids} each time the ready table changes
    longTasks: [],     // {start, duration}
    events: [],        // Event Timing entries >= 16 ms: {name, start, duration}
    errors: [],        // uncaught errors and rejections
    firstRowAt: null,  // ms since navigation start, first frame showing a staff row
    waiting: null,     // the navigation being measured
    watching: {},      // staff name -> epoch ms when a row first showed it
    recording: true,   // false: keep no history (heap measurements must not count the probe)
  };
  window.__ssProbe = probe;
  const MAX_SNAPSHOTS = 20000;

  // Marks the next input event as the start of a navigation to `target`.
  probe.expect = (target) => {
    if (probe.waiting && probe.waiting.frameAt === null) probe.waiting.superseded = true;
    probe.waiting = { target, inputAt: null, readyAt: null, frameAt: null, superseded: false };
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
    }

    send(data) {
      let type = "?";
      try { type = JSON.parse(data).type; } catch (err) { type = "<not json>"; }
      if (this.__ssRecord.sent.length < 5000) this.__ssRecord.sent.push({ t: performance.now(), type });
      return super.send(data);
    }
  };
  probe.sentAfter = (type, t) => probe.sockets.some((s) => s.sent.some((f) => f.type === type && f.t > t));

  // Records when a staff name first appears in the table (cross-tab propagation).
  probe.watchName = (text) => { probe.watching[text] = null; check(); };

  const onInput = (event) => {
    if (!event.isTrusted) return;
    const w = probe.waiting;
    if (w && w.inputAt === null) {
      w.inputAt = event.timeStamp;
      check();
    }
  };
  for (const type of ["pointerdown", "keydown"]) window.addEventListener(type, onInput, true);

  let lastKey = "";
  function check() {
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
    for (const text of Object.keys(probe.watching)) {
      if (probe.watching[text] === null && [...document.querySelectorAll('[data-testid="staff-name"]')].some((c) => c.textContent === text)) {
        probe.watching[text] = performance.timeOrigin + performance.now();
      }
    }
    const w = probe.waiting;
    if (w && w.inputAt !== null && w.readyAt === null && ready && period === w.target) {
      w.readyAt = performance.now();
      requestAnimationFrame(() => { w.frameAt = performance.now(); });
    }
  }
  new MutationObserver(check).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ["data-state", "data-period", "data-staff-id"],
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

  probe.fcp = () => {
    const entry = performance.getEntriesByName("first-contentful-paint")[0];
    return entry ? entry.startTime : null;
  };
})();
