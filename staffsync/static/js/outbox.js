// The writes this browser profile saved and the server has not confirmed, kept in
// localStorage so that none is lost when its page reloads, closes or crashes.
//
// One key per write (`staffsync.outbox.<requestId>`: the frame as it was first sent, its
// owner page and when it was saved), so that tabs writing at once never overwrite each
// other's entries. Each page also keeps a heartbeat (`staffsync.page.<pageId>`), removed
// when the page is hidden for good (reload, close) and left to go stale when it crashes.
// A write whose owner has no fresh heartbeat is an orphan: the page that has been open
// longest adopts it and sends it again under its original clientId and requestId, so the
// server's exactly-once rule holds across page loads.

// The entries are also named in a cookie, (clientId, requestId) pairs, oldest first: the
// server sends the next page with those it applied (an answer lost with a socket), and
// that page settles them instead of showing them pending beside the row it already holds.

const ENTRY = "staffsync.outbox.";
const COOKIE = "staffsync-sent";
const COOKIE_AT_MOST = 40; // the server reads as many; a cookie holds about 4 kB
const PAGE = "staffsync.page.";
const BEAT_MS = 1000;
const STALE_MS = 3500; // a heartbeat older than this belongs to a page that is gone
const FORGOTTEN_MS = 60_000; // heartbeats of crashed pages are removed after this

function read(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null; // not ours, or damaged: ignored
  }
}

export class Outbox {
  constructor(pageId, onChange) {
    this.pageId = pageId;
    this.since = Date.now();
    this.saved = 0; // orders writes saved in the same millisecond
    this.onChange = onChange; // () => void: something an adoption may depend on changed
    this.timer = null;
  }

  start() {
    this.beat();
    this.timer = setInterval(() => {
      this.beat();
      this.onChange();
    }, BEAT_MS);
    addEventListener("pagehide", (event) => {
      if (!event.persisted) this.leave();
    });
    addEventListener("pageshow", (event) => {
      if (event.persisted) this.beat();
    });
    addEventListener("storage", (event) => {
      const gone = event.key !== null && event.key.startsWith(PAGE) && event.newValue === null;
      if (event.key === null || gone || event.key.startsWith(ENTRY)) this.onChange();
    });
  }

  beat() {
    localStorage.setItem(PAGE + this.pageId, JSON.stringify({ since: this.since, at: Date.now() }));
  }

  leave() {
    clearInterval(this.timer);
    localStorage.removeItem(PAGE + this.pageId);
  }

  // Written before the write is shown as pending.
  save(requestId, frame) {
    this.saved += 1;
    const entry = { requestId, frame, owner: this.pageId, savedAt: Date.now(), order: this.saved };
    localStorage.setItem(ENTRY + requestId, JSON.stringify(entry));
    this.toCookie();
  }

  drop(requestId) {
    localStorage.removeItem(ENTRY + requestId);
    this.toCookie();
  }

  // the cookie that names the stored writes to the server with the next page request
  toCookie() {
    const sent = this.entries()
      .slice(0, COOKIE_AT_MOST)
      .map((entry) => [entry.frame.clientId, entry.requestId]);
    const value = encodeURIComponent(JSON.stringify(sent));
    const age = sent.length ? 86_400 : 0; // the server remembers an applied write a day
    document.cookie = `${COOKIE}=${value}; path=/; max-age=${age}; samesite=strict`;
  }

  entries() {
    const found = [];
    for (let i = 0; i < localStorage.length; i += 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(ENTRY)) continue;
      const entry = read(key);
      if (entry && entry.frame && entry.requestId) found.push(entry);
    }
    return found.sort((a, b) => a.savedAt - b.savedAt || a.order - b.order);
  }

  // page id -> the time it started, for every page with a fresh heartbeat
  livePages() {
    const now = Date.now();
    const live = new Map([[this.pageId, this.since]]);
    for (let i = localStorage.length - 1; i >= 0; i -= 1) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith(PAGE)) continue;
      const page = read(key);
      const age = page ? now - page.at : Infinity;
      if (age < STALE_MS) live.set(key.slice(PAGE.length), page.since);
      else if (age > FORGOTTEN_MS) localStorage.removeItem(key);
    }
    return live;
  }

  // Writes whose page is gone, oldest first: this page's to adopt when it has been open
  // longest of the profile's live pages (one adopter, so the screens show each write once).
  orphans() {
    const live = this.livePages();
    const eldest = [...live].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))[0][0];
    if (eldest !== this.pageId) return [];
    return this.entries().filter((entry) => !live.has(entry.owner));
  }

  adopt(entry) {
    localStorage.setItem(ENTRY + entry.requestId, JSON.stringify({ ...entry, owner: this.pageId }));
  }
}
