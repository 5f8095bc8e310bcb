// Unanswered operations survive the page: each is written to localStorage
// (`staffsync.react.op:<rid>`) before it shows as unsaved, and removed once the server
// answered it. Every open page of the profile beats under `staffsync.react.tab:<name>`
// (removed when the page goes away for good, left to age when it crashes); an operation
// whose page no longer beats is taken over by the profile's oldest open page, which sends
// it again unchanged, under the name and request id it was first sent with.

const OP = "staffsync.react.op:";
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

export function keep(op, page) {
  localStorage.setItem(OP + op.rid, JSON.stringify({ op, page, at: Date.now() }));
}

export function release(rid) {
  localStorage.removeItem(OP + rid);
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
  return keys(OP)
    .map(parsed)
    .filter((kept) => kept && kept.op && !names.has(kept.page))
    .sort((a, b) => a.at - b.at || (a.op.rid < b.op.rid ? -1 : 1));
}

// Beats for this page and calls `take(ops)` with each batch of orphans it takes over.
// Returns the function that stops it.
export function watch(page, take) {
  const since = Date.now();
  const beat = () => localStorage.setItem(TAB + page, JSON.stringify({ since, at: Date.now() }));
  const look = () => {
    const orphans = orphansFor(page, since);
    for (const kept of orphans) keep(kept.op, page);
    if (orphans.length) take(orphans.map((kept) => kept.op));
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
