// The client's catalogued defects (../shared/failure-catalogue.md), gathered here so that
// app.js, store.js and connection.js read as the healthy client. Each one patches a live
// instance when the server switches it on (/config.json); none exists otherwise. They are
// there only to prove that the verification suite catches them.

import { randomId } from "./ids.js";

const copyOfAllPeriods = (store) => JSON.parse(JSON.stringify([...store.byPeriod]));

const PATCHES = {
  // F1: navigation closes and reopens the socket (and refetches), as legacy mode does.
  F1(app) {
    app.navigate = (index) => {
      if (!app.canGoTo(index)) return;
      app.current = index;
      app.reload();
    };
  },

  // F2: every navigation asks for the period again, and whatever answer comes last is shown
  // on the period the user is on by then.
  F2(app) {
    const navigate = app.navigate.bind(app);
    const onMessage = app.onMessage.bind(app);
    app.navigate = (index) => {
      if (app.canGoTo(index) && app.mode === "prefetch") {
        app.connection.send({ type: "SYNC_REQUEST", payload: { period: index } });
      }
      navigate(index);
    };
    app.onMessage = (frame) => {
      if (frame.type !== "SYNC_RESPONSE" || app.mode === "legacy") return onMessage(frame);
      app.store.byPeriod.set(app.current, (frame.payload || {}).staff || []);
      return app.render();
    };
  },

  // F3: after three closes without a CONNECTION_ACK the client stops trying.
  F3(app) {
    const connection = app.connection;
    const retry = connection.scheduleRetry.bind(connection);
    connection.scheduleRetry = () => {
      if (connection.failures >= 3) connection.onState("offline");
      else retry();
    };
  },

  // F4: 15 s after each CONNECTION_ACK the connection is dropped for good.
  F4(app) {
    const connection = app.connection;
    const acknowledged = connection.acknowledged.bind(connection);
    let timer = null;
    connection.acknowledged = () => {
      acknowledged();
      clearTimeout(timer);
      timer = setTimeout(() => {
        connection.scheduleRetry = () => connection.onState("offline");
        connection.stopPings();
        connection.ws.close(4000, "connection timeout");
        connection.onState("offline");
      }, 15000);
    };
  },

  // F5: a broadcast changes only the period being viewed.
  F5(app) {
    const place = app.store.place.bind(app.store);
    app.store.place = (row, periods) => {
      const others = [...app.store.byPeriod].filter(([index]) => index !== app.current);
      const kept = others.map(([index, rows]) => [index, rows.slice()]);
      place(row, periods);
      for (const [index, rows] of kept) app.store.byPeriod.set(index, rows);
    };
  },

  // F6: a member shown somewhere keeps the periods it had when its dates change.
  F6(app) {
    const store = app.store;
    const place = store.place.bind(store);
    store.place = (row, periods) => {
      if (periods.length === 0 || store.displayedRow(row.id) === null) return place(row, periods);
      for (const rows of store.byPeriod.values()) {
        const at = rows.findIndex((r) => r.id === row.id);
        if (at >= 0) rows[at] = { ...row };
      }
      return undefined;
    };
  },

  // F7: after a reconnect the client does not ask for the data again.
  F7(app) {
    const onReady = app.onReady.bind(app);
    app.onReady = (isReconnect) => {
      if (isReconnect && app.mode === "prefetch") app.flushQueued();
      else onReady(isReconnect);
    };
  },

  // F8: an edit made while disconnected is shown as saved and never sent.
  F8(app) {
    const submit = app.submit.bind(app);
    app.submit = (rid, frame) => {
      if (app.connection.isOpen) return submit(rid, frame);
      app.view.clearError();
      app.store.forget(rid);
      return app.render();
    };
  },

  // F11: every navigation recomputes every period, blocking the page.
  F11(app) {
    const navigate = app.navigate.bind(app);
    app.navigate = (index) => {
      if (app.canGoTo(index)) {
        for (let pass = 0; pass < 120; pass += 1) {
          for (const [, rows] of copyOfAllPeriods(app.store)) rows.sort((a, b) => a.name.localeCompare(b.name));
        }
      }
      navigate(index);
    };
  },

  // F12: every navigation keeps a copy of all periods alive.
  F12(app) {
    const navigate = app.navigate.bind(app);
    app.retained = [];
    app.navigate = (index) => {
      if (app.canGoTo(index)) app.retained.push(copyOfAllPeriods(app.store));
      navigate(index);
    };
  },

  // F13: an old socket's close handler acts on the current connection.
  F13(app) {
    const connection = app.connection;
    connection.socketClosed = () => connection.lost();
  },

  // F14: a server ERROR is ignored: the optimistic value stays, nothing is shown.
  F14(app) {
    const onMessage = app.onMessage.bind(app);
    app.onMessage = (frame) => (frame.type === "ERROR" ? undefined : onMessage(frame));
  },

  // F16: creates and deletes made while disconnected are dropped when the socket is back
  // (only updates are replayed).
  F16(app) {
    const flush = app.flushQueued.bind(app);
    app.flushQueued = () => {
      for (const [rid, frame] of app.queued) {
        if (frame.type === "STAFF_CREATE" || frame.type === "STAFF_DELETE") {
          app.queued.delete(rid);
          app.outbox.drop(rid);
          app.store.forget(rid);
        }
      }
      flush();
    };
  },

  // F18: an edit sends every text field of the form, as it was filled when the form opened.
  F18(app) {
    const editor = app.editor;
    const changes = editor.changes.bind(editor);
    editor.changes = (row) => {
      const diff = changes(row);
      if (!row) return diff;
      const f = document.getElementById("edit-fields").elements;
      return { name: f.name.value, position: f.position.value, department: f.department.value, status: f.status.value, ...diff };
    };
  },

  // F19: the period label follows the table one painted frame late.
  F19(app) {
    const view = app.view;
    const render = view.render.bind(view);
    let shown = null;
    const label = (index) => {
      const el = document.getElementById("period-label");
      el.textContent = app.periods[index].label;
      el.dataset.period = String(index);
    };
    view.render = (index, ...rest) => {
      render(index, ...rest);
      if (shown !== null && shown !== index) {
        label(shown);
        requestAnimationFrame(() => requestAnimationFrame(() => label(app.current)));
      }
      shown = index;
    };
  },

  // F20: the reconnect backoff doubles without a cap.
  F20(app) {
    const connection = app.connection;
    connection.scheduleRetry = () => {
      clearTimeout(connection.retryTimer);
      const exp = 250 * 2 ** connection.failures;
      connection.retryTimer = setTimeout(() => connection.open(), exp / 2 + Math.random() * (exp / 2));
    };
  },

  // F21: every navigation adds a keydown listener that is never removed.
  F21(app) {
    const navigate = app.navigate.bind(app);
    app.navigate = (index) => {
      if (app.canGoTo(index)) document.addEventListener("keydown", () => app.current);
      navigate(index);
    };
  },

  // F23: an ERROR rolls back updates only: a refused create stays on screen as if saved,
  // a refused delete keeps the row hidden.
  F23(app) {
    const onMessage = app.onMessage.bind(app);
    app.onMessage = (frame) => {
      const rid = (frame.payload || {}).requestId;
      const edit = frame.type === "ERROR" ? app.store.pending.get(rid) : null;
      if (!edit || edit.kind === "update") return onMessage(frame);
      app.store.pending.delete(rid);
      app.outbox.drop(rid);
      app.view.showError(`Not saved: ${frame.payload.message || frame.payload.error}`);
      return app.render();
    };
  },

  // F24: a broadcast row's department and status are not taken in: only the fields the
  // first version of the screen showed (name, position, dates) are updated.
  F24(app) {
    const store = app.store;
    const apply = store.applyServerRow.bind(store);
    store.applyServerRow = (row, periods) => {
      const known = store.server.get(row.id);
      const kept = known ? { department: known.row.department, status: known.row.status } : {};
      apply({ ...row, ...kept }, periods);
    };
  },

  // F25: a page load shows the periods cached at the profile's last load ("instant start"):
  // the first answer of a page is replaced by the cache, and only a page without a cache
  // stores one. Edits made since that load are missing after a reload.
  F25(app) {
    const key = "staffsync.periodsCache";
    const onMessage = app.onMessage.bind(app);
    let first = true;
    app.onMessage = (frame) => {
      if (frame.type !== "SYNC_ALL_PERIODS_RESPONSE") return onMessage(frame);
      const cached = first ? localStorage.getItem(key) : null;
      first = false;
      if (cached === null) {
        localStorage.setItem(key, JSON.stringify((frame.payload || {}).periods || {}));
        return onMessage(frame);
      }
      return onMessage({ ...frame, payload: { ...frame.payload, periods: JSON.parse(cached) } });
    };
  },

  // F26: the page names itself with the profile's stored id (shared by every tab of the
  // browser profile) and counts its request ids from 1: a second tab's writes, or a
  // reloaded tab's, repeat (clientId, requestId) pairs the server has already applied.
  F26(app) {
    const key = "staffsync.clientId";
    if (!localStorage.getItem(key)) localStorage.setItem(key, randomId());
    app.connection.name = localStorage.getItem(key);
    let count = 0;
    app.nextRequestId = () => `r-${(count += 1)}`;
  },

  // F28: name, position and department cells are written as HTML (to allow formatting).
  F28(app) {
    const view = app.view;
    const row = view.row.bind(view);
    view.row = (data, pendingIds) => {
      const tr = row(data, pendingIds);
      for (const column of ["name", "position", "department"]) {
        tr.querySelector(`[data-testid="staff-${column}"]`).innerHTML = data[column] ?? "";
      }
      return tr;
    };
  },

  // F34: the outbox lives in the page's memory only: a write waiting for the network is
  // gone when its tab reloads, closes or crashes, and nothing warns the user.
  F34(app) {
    app.outbox.save = () => {};
  },

  // F35: a write carried over a page load is sent again as a new one: the adopting page
  // gives it a fresh request id under its own name, so a write the server had applied
  // (its answer lost) is applied a second time.
  F35(app) {
    const adopt = app.adopt.bind(app);
    app.adopt = (entry) => {
      app.outbox.drop(entry.requestId);
      const rid = app.nextRequestId();
      const payload = { ...entry.frame.payload };
      if (entry.frame.type === "STAFF_CREATE") payload.tempId = rid;
      if (entry.frame.type === "STAFF_DELETE") payload.requestId = rid;
      const frame = { ...entry.frame, requestId: rid, clientId: app.connection.name, payload };
      app.outbox.save(rid, frame);
      adopt({ ...entry, requestId: rid, frame });
    };
  },

  // F36: a page load takes the outbox into memory and clears it before anything is sent:
  // a second reload, a crash or a closed tab before the network is back loses it.
  F36(app) {
    const adopt = app.adopt.bind(app);
    app.adopt = (entry) => {
      adopt(entry);
      app.outbox.drop(entry.requestId);
    };
  },

  // F40: every row the server sends is taken in, however old: a write's answer repeated
  // after a reconnect (the frame of the first time) brings back a member deleted since.
  F40(app) {
    app.older = () => false;
  },

  // F41: a row the server sends replaces the one held whatever its version: a write's
  // answer repeated after a reconnect (the frame of the first time) is shown over the
  // newer row the resync brought, when a colleague wrote the member in the meantime.
  F41(app) {
    const store = app.store;
    store.applyServerRow = (row, periods) => {
      store.server.set(row.id, { row: { ...row }, periods: [...periods] });
      store.place(row, periods);
    };
  },

  // F42: a reconnect within 2 s of the drop skips the resync ("a blip: nothing can have
  // been missed", as it looks on localhost). A write broadcast during the blip is lost.
  F42(app) {
    const onState = app.onState.bind(app);
    const onReady = app.onReady.bind(app);
    let droppedAt = null;
    app.onState = (state) => {
      if ((state === "reconnecting" || state === "offline") && droppedAt === null) droppedAt = Date.now();
      onState(state);
    };
    app.onReady = (isReconnect) => {
      const blip = isReconnect && droppedAt !== null && Date.now() - droppedAt < 2000;
      droppedAt = null;
      if (blip && app.mode === "prefetch") app.flushQueued();
      else onReady(isReconnect);
    };
  },

  // F43: Save compares the form with the member's row as it is now, not as the form showed
  // it: a field the user left alone still holds the old value, differs from a colleague's
  // newer one, and is sent, overwriting it.
  F43(app) {
    const changes = app.editor.changes.bind(app.editor);
    app.editor.changes = (row) => changes(row ? app.store.displayedRow(row.id) || row : row);
  },

  // F44: while a form is open, writes from the server are held back so that the table
  // does not move under the dialog; Save applies them, Cancel drops them.
  F44(app) {
    const onMessage = app.onMessage.bind(app);
    const dialog = document.getElementById("edit-form");
    const held = [];
    app.onMessage = (frame) => {
      if (dialog.open && ["STAFF_UPDATE", "STAFF_CREATE", "STAFF_DELETE"].includes(frame.type)) {
        held.push(frame);
        return undefined;
      }
      return onMessage(frame);
    };
    dialog.addEventListener("close", () => {
      const frames = held.splice(0);
      if (dialog.returnValue === "save") for (const frame of frames) onMessage(frame);
    });
  },

  // F45: the client gives up once it has been without a connection for 30 s: a patience
  // longer than every outage tried in the lab (20 s at most) and shorter than a deploy.
  F45(app) {
    const connection = app.connection;
    const retry = connection.scheduleRetry.bind(connection);
    const acknowledged = connection.acknowledged.bind(connection);
    let since = null;
    connection.acknowledged = () => {
      since = null;
      acknowledged();
    };
    connection.scheduleRetry = () => {
      since ??= Date.now();
      if (Date.now() - since > 30000) connection.onState("offline");
      else retry();
    };
  },

  // F46: the form makes a period's first day through local time: new Date(y, m - 1, d) is
  // local midnight, and toISOString() gives its UTC date, which east of UTC (Tokyo,
  // Auckland) is the day before. A member given period i starts on the last day of i - 1.
  // In UTC (the lab) the date is right.
  F46(app) {
    const editor = app.editor;
    const changes = editor.changes.bind(editor);
    const viaLocalTime = (iso) => {
      const [y, m, d] = iso.split("-").map(Number);
      return new Date(y, m - 1, d).toISOString().slice(0, 10);
    };
    editor.changes = (row) => {
      const fields = changes(row);
      if (fields.startPeriod) fields.startPeriod = viaLocalTime(fields.startPeriod);
      return fields;
    };
  },

  // F49: the page ignores which of its stored writes the server says it applied before it
  // sent the page: one whose answer was lost is shown pending beside the row the page's
  // snapshot already holds (a new member twice) until the socket's repeated answer.
  F49(app) {
    const start = app.start.bind(app);
    app.start = (snapshot) => start(snapshot, []);
  },

  // F47: a write not answered within 100 ms is taken for lost and sent again under a new
  // request id: a timeout tuned where every answer takes a few milliseconds. Over a mobile
  // round trip (150 ms and more) every write is sent twice, and a new member made twice.
  F47(app) {
    const transmit = app.transmit.bind(app);
    app.transmit = (rid, frame) => {
      transmit(rid, frame);
      setTimeout(() => {
        if (!app.inflight.has(rid) || !app.connection.isOpen) return;
        const again = `${rid}-again`;
        const payload = frame.type === "STAFF_DELETE" ? { ...frame.payload, requestId: again } : frame.payload;
        app.connection.send({ ...frame, requestId: again, payload });
      }, 100);
    };
  },

  // F32: with the prefetch code a legacy page asks for its period as SYNC_PERIOD_REQUEST
  // (a name the server does not know), takes the ERROR, then asks again the old way. Every
  // legacy load and navigation costs an error frame; prefetch pages are untouched.
  F32(app) {
    if (app.mode !== "legacy") return;
    const requestSync = app.requestSync.bind(app);
    const onMessage = app.onMessage.bind(app);
    app.requestSync = () => {
      app.connection.send({ type: "SYNC_PERIOD_REQUEST", payload: { period: app.current } });
      requestSync();
    };
    app.onMessage = (frame) => {
      const p = frame.payload || {};
      if (frame.type === "ERROR" && !p.requestId) return undefined; // "handled": asked again
      return onMessage(frame);
    };
  },

  // F33: a prefetch page builds a text index of every period for searching (2 MiB each,
  // the period's rows repeated) and keeps it for the page's life.
  F33(app) {
    if (app.mode !== "prefetch") return;
    const onMessage = app.onMessage.bind(app);
    app.searchIndex = new Map();
    app.onMessage = (frame) => {
      const result = onMessage(frame);
      if (frame.type !== "SYNC_ALL_PERIODS_RESPONSE") return result;
      for (const [index, rows] of Object.entries((frame.payload || {}).periods || {})) {
        const once = JSON.stringify(rows).length + 1;
        // one flat string (a repeat() would share its parts): the rows, copied to 2 MiB
        const copies = Array.from({ length: Math.ceil((2 * 2 ** 20) / once) }, () => rows);
        app.searchIndex.set(index, JSON.stringify(copies));
      }
      return result;
    };
  },

  // F30: after a reconnect, queued edits wait for the resync, and an edit whose row the
  // server changed meanwhile is dropped as "superseded" (shown saved, never sent).
  F30(app) {
    const onMessage = app.onMessage.bind(app);
    let resyncing = false;
    app.onReady = () => {
      resyncing = true;
      app.requestSync();
    };
    app.onMessage = (frame) => {
      const result = onMessage(frame);
      if (!resyncing || !["SYNC_ALL_PERIODS_RESPONSE", "SYNC_RESPONSE"].includes(frame.type)) return result;
      resyncing = false;
      for (const [rid, queued] of app.queued) {
        const p = queued.payload;
        if (queued.type === "STAFF_UPDATE" && (app.store.knownVersion(p.staffId) ?? 0) > (p.baseVersion ?? 0)) {
          app.queued.delete(rid);
          app.outbox.drop(rid);
          app.store.settle(rid);
        }
      }
      app.flushQueued();
      app.render();
      return result;
    };
  },
};

// The mode a rollout defect gives, or null when none is on. `drawn` is the profile's
// stable bucket (0-99).
// F29: the bucket is drawn again on every page load (no stable id), so a user flips
// between the modes on reload.
// F31: the percentage is taken as the share of the legacy mode: at 10 %, 90 % of the
// users get the new one.
export function defectiveMode(defect, rolloutPercent, drawn) {
  if (defect === "F29") return Math.random() * 100 < rolloutPercent ? "prefetch" : "legacy";
  if (defect === "F31") return drawn < rolloutPercent ? "legacy" : "prefetch";
  return null;
}

// Switches on the client side of `defect`, if it has one; returns whether it did.
export function applyDefect(app, defect) {
  const patch = PATCHES[defect];
  if (patch) patch(app);
  return Boolean(patch);
}
