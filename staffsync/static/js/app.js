// The editor's controller: navigation, messages from the server, optimistic edits.

import { Connection } from "./connection.js";
import { Store } from "./store.js";

let sequence = 0;
const newRequestId = () => `r-${Date.now().toString(36)}-${(sequence += 1)}`;

export class App {
  constructor({ config, mode, view, editor }) {
    this.periods = config.periods;
    this.defect = config.defect;
    this.mode = mode;
    this.view = view;
    this.editor = editor;
    this.store = new Store(this.periods, this.defect);
    this.current = 0;
    this.ready = false;        // all periods (prefetch) or the current one (legacy) loaded
    this.queued = new Map();   // requestId -> frame, made while disconnected
    this.inflight = new Map(); // requestId -> frame, sent, not yet answered
    this.retained = [];        // F12 only
    this.connection = new Connection({
      urlFor: () => this.socketUrl(),
      onMessage: (frame) => this.onMessage(frame),
      onState: (state) => this.onState(state),
      onReady: (isReconnect) => this.onReady(isReconnect),
      defect: this.defect,
    });
  }

  socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.mode === "legacy" ? `?period=${this.current}` : "";
    return `${scheme}//${location.host}/staff-sync${query}`;
  }

  start() {
    this.render();
    this.connection.start();
  }

  // Navigation -------------------------------------------------------------------------
  step(delta) {
    this.navigate(this.current + delta);
  }

  navigate(index) {
    if (index < 0 || index >= this.periods.length || index === this.current) return;
    this.current = index;
    if (this.mode === "legacy" || this.defect === "F1") {
      this.ready = false;          // the plan's "before": flush, reconnect, refetch
      this.render();
      this.connection.restart();
      return;
    }
    if (this.defect === "F11") this.recomputeEverything();
    if (this.defect === "F12") this.retained.push(JSON.parse(JSON.stringify([...this.store.byPeriod])));
    if (this.defect === "F2") this.connection.send({ type: "SYNC_REQUEST", payload: { period: index } });
    this.render();
  }

  recomputeEverything() { // F11: work proportional to all data, on every navigation
    let count = 0;
    for (let pass = 0; pass < 120; pass += 1) {
      const copy = JSON.parse(JSON.stringify([...this.store.byPeriod]));
      for (const [, rows] of copy) count += rows.sort((a, b) => a.name.localeCompare(b.name)).length;
    }
    return count;
  }

  // Connection -------------------------------------------------------------------------
  onState(state) {
    this.view.showState(state);
    if (state === "reconnecting" || state === "offline") {
      for (const [rid, frame] of this.inflight) this.queued.set(rid, frame);
      this.inflight.clear();
    }
  }

  onReady(isReconnect) {
    if (this.mode === "legacy") {
      this.connection.send({ type: "SYNC_REQUEST", payload: { period: this.current } });
    } else if (!isReconnect || this.defect !== "F7") {
      this.connection.send({ type: "SYNC_ALL_PERIODS_REQUEST", payload: {} });
    }
    for (const [rid, frame] of this.queued) {
      this.queued.delete(rid);
      this.transmit(rid, frame);
    }
  }

  onMessage(frame) {
    const payload = frame.payload || {};
    switch (frame.type) {
      case "SYNC_ALL_PERIODS_RESPONSE":
        this.store.replaceAll(payload.periods || {});
        this.reapplyPending();
        this.ready = true;
        break;
      case "SYNC_RESPONSE":
        if (payload.period !== this.current && this.defect !== "F2") return;
        if (this.mode === "legacy") {
          this.store.replacePeriod(this.current, payload.staff || []);
          this.reapplyPending();
          this.ready = true;
        } else {
          this.store.byPeriod.set(this.current, payload.staff || []); // F2: lands on whatever is shown
        }
        break;
      case "STAFF_UPDATE":
        this.settle(payload.requestId);
        this.store.applyServerRow(payload.changes, payload.periods || [], this.current);
        break;
      case "STAFF_CREATE":
        this.settle(payload.tempId);
        this.store.applyServerRow(payload, payload.periods || [], this.current);
        break;
      case "STAFF_DELETE":
        this.settle(payload.requestId);
        this.store.removeServerRow(payload.staffId, this.current);
        break;
      case "ERROR":
        if (this.defect === "F14") return;
        this.settle(payload.requestId);
        this.view.showError(`Not saved: ${payload.message || payload.error}`);
        break;
      default:
        console.warn("unhandled message type", frame.type);
        return;
    }
    this.render();
  }

  // Edits ------------------------------------------------------------------------------
  async edit(staffId) {
    const row = this.store.displayedRow(staffId);
    if (!row) return;
    const changes = await this.editor.open(row, `Edit ${row.name}`);
    if (changes && Object.keys(changes).length) this.update(staffId, changes);
  }

  async create() {
    const fields = await this.editor.open(null, "Add staff");
    if (fields) {
      const rid = newRequestId();
      this.store.localCreate(rid, fields, this.current);
      this.submit(rid, { type: "STAFF_CREATE", payload: { ...fields, tempId: rid } });
    }
  }

  update(staffId, changes) {
    const rid = newRequestId();
    const known = this.store.server.get(staffId);
    this.store.localUpdate(rid, staffId, changes, this.current);
    const baseVersion = known ? known.row.version : undefined;
    this.submit(rid, { type: "STAFF_UPDATE", requestId: rid, payload: { staffId, changes, baseVersion } });
  }

  remove(staffId) {
    const rid = newRequestId();
    this.store.localDelete(rid, staffId, this.current);
    this.submit(rid, { type: "STAFF_DELETE", requestId: rid, payload: { staffId, requestId: rid } });
  }

  submit(rid, frame) {
    this.view.clearError();
    if (!this.connection.isOpen) {
      if (this.defect === "F8") this.store.pending.delete(rid); // F8: "saved", never sent
      else this.queued.set(rid, frame);
    } else {
      this.transmit(rid, frame);
    }
    this.render();
  }

  transmit(rid, frame) {
    if (this.connection.send(frame)) this.inflight.set(rid, frame);
    else this.queued.set(rid, frame);
  }

  settle(requestId) {
    if (!requestId) return;
    this.inflight.delete(requestId);
    this.queued.delete(requestId);
    this.store.settle(requestId, this.current);
  }

  reapplyPending() {
    for (const frame of [...this.inflight.values(), ...this.queued.values()]) {
      const p = frame.payload;
      const rid = frame.type === "STAFF_CREATE" ? p.tempId : frame.requestId;
      this.store.pending.delete(rid);
      if (frame.type === "STAFF_UPDATE") this.store.localUpdate(rid, p.staffId, p.changes, this.current);
      if (frame.type === "STAFF_DELETE") this.store.localDelete(rid, p.staffId, this.current);
      if (frame.type === "STAFF_CREATE") this.store.localCreate(rid, p, this.current);
    }
  }

  render() {
    const loaded = this.ready && this.store.hasPeriod(this.current);
    const pendingIds = new Set([...this.store.pending.values()].map((e) => e.staffId));
    const hasData = (i) => (this.store.hasPeriod(i) ? String(this.store.rows(i).length > 0) : "unknown");
    this.view.render(this.current, this.store.rows(this.current), loaded, hasData, pendingIds);
    this.view.showPending(this.store.pending.size);
  }
}
