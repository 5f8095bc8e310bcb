// The editor's controller: navigation, messages from the server, optimistic edits.
// This is the healthy code; the catalogued defects (defects.js) are patched onto an
// instance only when the server switches one on.

import { Connection } from "./connection.js";
import { randomId } from "./ids.js";
import { Outbox } from "./outbox.js";
import { Store } from "./store.js";

let sequence = 0;
const page = randomId();
// unique across the profile's pages, whose writes share one outbox
const newRequestId = () => `r-${page.slice(0, 8)}-${Date.now().toString(36)}-${(sequence += 1)}`;

// When the server made a frame (epoch ms); a frame without a time is taken as new.
const stamp = (frame) => Date.parse(frame.timestamp) || Infinity;

export class App {
  constructor({ config, mode, view, editor }) {
    this.periods = config.periods;
    this.mode = mode;
    this.view = view;
    this.editor = editor;
    this.store = new Store(this.periods);
    this.current = 0;
    this.ready = false;        // all periods (prefetch) or the current one (legacy) loaded
    this.syncedAt = -Infinity; // when the server made the data this page holds
    this.queued = new Map();   // requestId -> frame, made while disconnected
    this.inflight = new Map(); // requestId -> frame, sent, not yet answered
    this.applied = new Set();  // requestIds of stored writes applied before the page was sent
    this.connection = new Connection({
      name: `page-${page}`,
      urlFor: () => this.socketUrl(),
      onMessage: (frame) => this.onMessage(frame),
      onState: (state) => this.onState(state),
      onReady: (isReconnect) => this.onReady(isReconnect),
    });
    // saved writes outlive the page: a reload, another tab or a restart sends them
    this.outbox = new Outbox(this.connection.name, () => this.adoptOrphans());
  }

  socketUrl() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const query = this.mode === "legacy" ? `?period=${this.current}` : "";
    return `${scheme}//${location.host}/staff-sync${query}`;
  }

  // `snapshot`: the SYNC_ALL_PERIODS_RESPONSE frame the page came with (prefetch mode shows
  // it at once; the socket syncs again once it opens). `applied`: the request ids of stored
  // writes the server applied before it sent the page (their answers lost).
  start(snapshot = null, applied = []) {
    this.applied = new Set(applied);
    this.outbox.start();
    this.adoptOrphans();
    if (snapshot && this.mode !== "legacy" && snapshot.type === "SYNC_ALL_PERIODS_RESPONSE") {
      this.onMessage(snapshot);
    } else {
      this.render();
    }
    this.connection.start();
  }

  // Navigation -------------------------------------------------------------------------
  step(delta) {
    this.navigate(this.current + delta);
  }

  canGoTo(index) {
    return index >= 0 && index < this.periods.length && index !== this.current;
  }

  navigate(index) {
    if (!this.canGoTo(index)) return;
    this.current = index;
    if (this.mode === "legacy") this.reload();
    else this.render();
  }

  // The plan's "before": flush, reconnect, refetch.
  reload() {
    this.ready = false;
    this.render();
    this.connection.restart();
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
    this.requestSync();
    this.flushQueued();
  }

  requestSync() {
    if (this.mode === "legacy") {
      this.connection.send({ type: "SYNC_REQUEST", payload: { period: this.current } });
    } else {
      this.connection.send({ type: "SYNC_ALL_PERIODS_REQUEST", payload: {} });
    }
  }

  flushQueued() {
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
        this.syncedAt = stamp(frame);
        this.reapplyPending();
        this.ready = true;
        break;
      case "SYNC_RESPONSE":
        if (this.mode !== "legacy" || payload.period !== this.current) return; // a late answer
        this.store.replacePeriod(this.current, payload.staff || []);
        this.syncedAt = stamp(frame);
        this.reapplyPending();
        this.ready = true;
        break;
      case "STAFF_UPDATE":
        this.settle(payload.requestId);
        if (!this.older(frame, payload.changes.id)) this.store.applyServerRow(payload.changes, payload.periods || []);
        break;
      case "STAFF_CREATE":
        this.settle(payload.tempId);
        if (!this.older(frame, payload.id)) this.store.applyServerRow(payload, payload.periods || []);
        break;
      case "STAFF_DELETE":
        this.settle(payload.requestId);
        this.store.removeServerRow(payload.staffId);
        break;
      case "ERROR":
        this.settle(payload.requestId);
        this.view.showError(`Not saved: ${payload.message || payload.error}`);
        break;
      default:
        console.warn("unhandled message type", frame.type);
        return;
    }
    this.render();
  }

  // A row made before the data this page holds was sent, for a member that data does not
  // have: the member was deleted since (a write's answer repeated after a reconnect is
  // the frame of the first time). Putting it back would show a member the server deleted.
  older(frame, staffId) {
    return stamp(frame) < this.syncedAt && !this.store.server.has(staffId);
  }

  // Edits ------------------------------------------------------------------------------
  nextRequestId() {
    return newRequestId();
  }

  async edit(staffId) {
    const row = this.store.displayedRow(staffId);
    if (!row) return;
    const changes = await this.editor.open(row, `Edit ${row.name}`);
    if (changes && Object.keys(changes).length) this.update(staffId, changes);
  }

  async create() {
    const fields = await this.editor.open(null, "Add staff");
    if (fields) {
      const rid = this.nextRequestId();
      this.store.localCreate(rid, fields);
      this.submit(rid, { type: "STAFF_CREATE", requestId: rid, payload: { ...fields, tempId: rid } });
    }
  }

  update(staffId, changes) {
    const rid = this.nextRequestId();
    const baseVersion = this.store.knownVersion(staffId);
    this.store.localUpdate(rid, staffId, changes);
    this.submit(rid, { type: "STAFF_UPDATE", requestId: rid, payload: { staffId, changes, baseVersion } });
  }

  remove(staffId) {
    const rid = this.nextRequestId();
    this.store.localDelete(rid, staffId);
    this.submit(rid, { type: "STAFF_DELETE", requestId: rid, payload: { staffId, requestId: rid } });
  }

  // The write is kept in the profile's outbox before it is shown as pending, under the
  // page's name: whichever page sends it, the server knows it by (clientId, requestId).
  submit(rid, frame) {
    const named = { ...frame, clientId: this.connection.name };
    this.outbox.save(rid, named);
    this.view.clearError();
    if (this.connection.isOpen) this.transmit(rid, named);
    else this.queued.set(rid, named);
    this.render();
  }

  // Writes a page that is gone left unconfirmed: shown as pending here and sent as they were;
  // one the server applied before it sent this page is settled (the page holds its row).
  adoptOrphans() {
    const orphans = [];
    for (const entry of this.outbox.orphans()) {
      const rid = entry.requestId;
      if (this.queued.has(rid) || this.inflight.has(rid)) continue;
      if (this.applied.has(rid)) this.outbox.drop(rid);
      else orphans.push(entry);
    }
    if (orphans.length === 0) return;
    const own = [...this.queued];
    this.queued.clear();
    for (const entry of orphans) this.adopt(entry);
    for (const [rid, frame] of own) this.queued.set(rid, frame); // theirs were saved first
    if (this.connection.isOpen) this.flushQueued();
    this.render();
  }

  adopt(entry) {
    this.outbox.adopt(entry);
    this.queued.set(entry.requestId, entry.frame);
    this.applyLocally(entry.requestId, entry.frame);
  }

  transmit(rid, frame) {
    if (this.connection.send(frame)) this.inflight.set(rid, frame);
    else this.queued.set(rid, frame);
  }

  settle(requestId) {
    if (!requestId) return;
    this.outbox.drop(requestId);
    this.inflight.delete(requestId);
    this.queued.delete(requestId);
    this.store.settle(requestId);
  }

  reapplyPending() {
    for (const frame of [...this.inflight.values(), ...this.queued.values()]) {
      const rid = frame.type === "STAFF_CREATE" ? frame.payload.tempId : frame.requestId;
      this.store.forget(rid);
      this.applyLocally(rid, frame);
    }
  }

  applyLocally(rid, frame) {
    const p = frame.payload;
    if (frame.type === "STAFF_UPDATE") this.store.localUpdate(rid, p.staffId, p.changes);
    if (frame.type === "STAFF_DELETE") this.store.localDelete(rid, p.staffId);
    if (frame.type === "STAFF_CREATE") this.store.localCreate(rid, p);
  }

  render() {
    const loaded = this.ready && this.store.hasPeriod(this.current);
    const hasData = (i) => (this.store.hasPeriod(i) ? String(this.store.rows(i).length > 0) : "unknown");
    this.view.render(this.current, this.store.rows(this.current), loaded, hasData, this.store.pendingIds());
    this.view.showPending(this.store.pendingCount());
  }
}
