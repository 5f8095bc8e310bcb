// Unanswered operations survive the page: each is written to localStorage
// (`staffsync.react.op:<rid>`) before it shows as unsaved, and removed once the server
// answered it. Every open page of the profile beats under `staffsync.react.tab:<name>`
// (removed when the page goes away for good, left to age when it crashes); an operation
// whose page no longer beats is taken over by the profile's oldest open page, which sends
// it again unchanged, under the name and request id it was first sent with.

// The kept operations are also named in a cookie, (clientId, requestId) pairs, oldest first:
// the server sends the next page with those it applied (an answer lost with a socket), and
// that page releases them instead of showing them unsaved beside the row it already holds.

const OP = "staffsync.react.op:";
const COOKIE = "staffsync-sent";
const COOKIE_AT_MOST = 40; // the server reads as many; a cookie holds about 4 kB
const TAB = "staffsync.react.tab:";
const BEAT_MS = 1000;
const GONE_AFTER_MS = 3500;

function parsed(key) {
  try {
    return JSON.parse(localStorage.getItem(key));
  } catch {
    return null;
  }
}

function keys(prefix) {
  const found = [];
  for (let i = 0; i < localStorage.length; i += 1) {
    const key = localStorage.key(i);
    if (key && key.startsWith(prefix)) found.push(key);
  }
  return found;
}

function kept() {
  return keys(OP)
    .map(parsed)
    .filter((entry) => entry && entry.op)
    .sort((a, b) => a.at - b.at || (a.op.rid < b.op.rid ? -1 : 1));
}

function toCookie() {
  const sent = kept()
    .slice(0, COOKIE_AT_MOST)
    .map((entry) => [entry.op.frame && entry.op.frame.clientId, entry.op.rid]);
  const age = sent.length ? 86_400 : 0; // the server remembers an applied write a day
  document.cookie = `${COOKIE}=${encodeURIComponent(JSON.stringify(sent))}; path=/; max-age=${age}; samesite=strict`;
}

export function keep(op, page) {
  localStorage.setItem(OP + op.rid, JSON.stringify({ op, page, at: Date.now() }));
  toCookie();
}

export function release(rid) {
  localStorage.removeItem(OP + rid);
  toCookie();
}

// The operations of pages that are gone, oldest first, when `page` (open since `since`)
// is the oldest page of the profile still beating; else none.
function orphansFor(page, since) {
  const now = Date.now();
  const open = [[page, since]];
  for (const key of keys(TAB)) {
    const beat = parsed(key);
    const name = key.slice(TAB.length);
    if (beat && now - beat.at < GONE_AFTER_MS) {
      if (name !== page) open.push([name, beat.since]);
    } else if (!beat || now - beat.at > 60 * GONE_AFTER_MS) {
      localStorage.removeItem(key);
    }
  }
  open.sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  if (open[0][0] !== page) return [];
  const names = new Set(open.map(([name]) => name));
  return kept().filter((entry) => !names.has(entry.page));
}

// Beats for this page and calls `take(ops)` with each batch of orphans it takes over; an
// orphan whose request id is in `applied` (applied before the server sent this page) is
// released instead. Returns the function that stops it.
export function watch(page, take, applied = new Set()) {
  const since = Date.now();
  const beat = () => localStorage.setItem(TAB + page, JSON.stringify({ since, at: Date.now() }));
  const look = () => {
    const orphans = [];
    for (const entry of orphansFor(page, since)) {
      if (applied.has(entry.op.rid)) release(entry.op.rid);
      else orphans.push(entry);
    }
    for (const entry of orphans) keep(entry.op, page);
    if (orphans.length) take(orphans.map((entry) => entry.op));
  };
  const onStorage = (event) => {
    if (event.key === null || event.key.startsWith(OP) || (event.key.startsWith(TAB) && event.newValue === null)) look();
  };
  const onHide = (event) => {
    if (!event.persisted) localStorage.removeItem(TAB + page);
  };
  beat();
  look();
  const timer = setInterval(() => {
    beat();
    look();
  }, BEAT_MS);
  addEventListener("storage", onStorage);
  addEventListener("pagehide", onHide);
  return () => {
    clearInterval(timer);
    removeEventListener("storage", onStorage);
    removeEventListener("pagehide", onHide);
  };
}
