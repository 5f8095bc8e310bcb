// Entry point: the server's configuration, the client mode, and the React root.

import { newId } from "./ids.js";
import { App } from "./ui.js";

function browserId() {
  const key = "staffsync.react.id";
  let id = localStorage.getItem(key);
  if (!id) {
    id = newId();
    localStorage.setItem(key, id);
  }
  return id;
}

// djb2: a client stays in its rollout bucket across visits.
function bucketOf(text) {
  let hash = 5381;
  for (const ch of text) hash = ((hash * 33) ^ ch.charCodeAt(0)) >>> 0;
  return hash % 100;
}

// the page carries the server's configuration; a page served without it fetches it
async function configuration() {
  const embedded = document.getElementById("staffsync-config");
  if (embedded) return JSON.parse(embedded.textContent);
  return (await fetch("/config.json", { cache: "no-store" })).json();
}

const config = await configuration();
const asked = new URLSearchParams(location.search).get("mode");
const mode = asked === "legacy" || asked === "prefetch"
  ? asked
  : bucketOf(browserId()) < config.rolloutPercent ? "prefetch" : "legacy";
// every period's staff as the server held them when it sent the page, if it sent them
function snapshot() {
  const embedded = document.getElementById("staffsync-snapshot");
  try {
    return embedded ? JSON.parse(embedded.textContent) : null;
  } catch {
    return null; // the socket brings them
  }
}

// the request ids of this profile's kept operations the server applied before it sent the page
function applied() {
  const embedded = document.getElementById("staffsync-applied");
  try {
    return new Set(embedded ? JSON.parse(embedded.textContent).applied || [] : []);
  } catch {
    return new Set(); // the socket's repeated answers release them
  }
}

ReactDOM.createRoot(document.getElementById("root")).render(
  React.createElement(App, { config, mode, snapshot: snapshot(), applied: applied() }),
);
