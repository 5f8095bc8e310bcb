// Entry point: read the server's configuration, choose the mode, start the editor.

import { App } from "./app.js";
import { applyDefect, defectiveMode } from "./defects.js";
import { Editor } from "./editor.js";
import { randomId } from "./ids.js";
import { View } from "./view.js";

function stableClientId() {
  const key = "staffsync.clientId";
  let id = localStorage.getItem(key);
  if (!id) {
    id = randomId();
    localStorage.setItem(key, id);
  }
  return id;
}

// FNV-1a: the same client id always lands in the same rollout bucket.
export function bucket(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % 100;
}

function chooseMode(rolloutPercent, override, defect) {
  if (override === "prefetch" || override === "legacy") return override;
  const drawn = bucket(stableClientId());
  return defectiveMode(defect, rolloutPercent, drawn) ?? (drawn < rolloutPercent ? "prefetch" : "legacy");
}

// the page carries the server's configuration; a page served without it fetches it
async function configuration() {
  const embedded = document.getElementById("staffsync-config");
  if (embedded) return JSON.parse(embedded.textContent);
  return (await fetch("/config.json", { cache: "no-store" })).json();
}

// every period's staff as the server held them when it sent the page, if it sent them
function snapshot() {
  const embedded = document.getElementById("staffsync-snapshot");
  if (!embedded) return null;
  try {
    return JSON.parse(embedded.textContent);
  } catch {
    return null; // the socket brings them
  }
}

// the request ids of this profile's stored writes the server applied before it sent the page
function applied() {
  const embedded = document.getElementById("staffsync-applied");
  try {
    return embedded ? JSON.parse(embedded.textContent).applied || [] : [];
  } catch {
    return []; // the socket's repeated answers settle them
  }
}

async function boot() {
  const config = await configuration();
  const override = new URLSearchParams(location.search).get("mode");
  const mode = chooseMode(config.rolloutPercent, override, config.defect);
  let app = null;
  const view = new View(config.periods, {
    step: (delta) => app.step(delta),
    navigate: (index) => app.navigate(index),
    edit: (id) => app.edit(id),
    remove: (id) => app.remove(id),
  });
  view.showMode(mode);
  view.showDefect(config.defect, config.defectText);
  app = new App({ config, mode, view, editor: new Editor(config.periods) });
  if (config.defect) applyDefect(app, config.defect);
  document.getElementById("add-staff").addEventListener("click", () => app.create());
  app.start(snapshot(), applied());
}

boot().catch((err) => {
  console.error("the editor failed to start", err);
  document.getElementById("error-message").hidden = false;
  document.getElementById("error-message").textContent = `The editor failed to start: ${err}`;
});
