// Rendering: the period strip, the staff table, the badge, the pending count, errors.
// Everything a test needs carries a data-testid (see the README's test contract).

const $ = (id) => document.getElementById(id);
const COLUMNS = ["name", "position", "department", "status", "startPeriod", "endPeriod"];

export class View {
  constructor(periods, handlers) {
    this.periods = periods;
    this.table = $("staff-table");
    this.body = $("staff-rows");
    this.handlers = handlers; // {navigate(index), edit(staffId), remove(staffId)}
    this.shown = new Map(); // staff id -> {key, tr}: the rows of the last render
    this.buildStrip();
    $("nav-prev").addEventListener("click", () => handlers.step(-1));
    $("nav-next").addEventListener("click", () => handlers.step(1));
    document.addEventListener("keydown", (event) => {
      if (event.target.closest && event.target.closest("input, select, textarea, dialog")) return;
      if (event.key === "ArrowLeft") handlers.step(-1);
      if (event.key === "ArrowRight") handlers.step(1);
    });
    this.body.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const id = button.closest("tr").dataset.staffId;
      if (button.dataset.action === "edit") handlers.edit(id);
      if (button.dataset.action === "delete") handlers.remove(id);
    });
  }

  buildStrip() {
    const strip = $("period-strip");
    strip.replaceChildren(
      ...this.periods.map((p) => {
        const li = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = p.label;
        button.dataset.testid = "period-chip";
        button.dataset.period = String(p.index);
        button.dataset.hasData = "unknown";
        button.addEventListener("click", () => this.handlers.navigate(p.index));
        li.append(button);
        return li;
      }),
    );
    this.chips = [...strip.querySelectorAll("button")];
  }

  showMode(mode) {
    const el = $("app-mode");
    el.dataset.mode = mode;
    el.textContent = `mode: ${mode}`;
  }

  showDefect(defect, text) {
    if (!defect) return;
    const el = $("defect-banner");
    el.hidden = false;
    el.dataset.defect = defect;
    el.textContent = `DEFECT ${defect} SWITCHED ON: ${text}`;
  }

  showState(state) {
    const el = $("connection-badge");
    el.dataset.state = state;
    el.textContent = state;
  }

  showPending(count) {
    const el = $("pending-count");
    el.dataset.count = String(count);
    el.textContent = `${count} pending`;
    el.hidden = count === 0;
  }

  showError(message) {
    const el = $("error-message");
    el.textContent = message;
    el.hidden = false;
  }

  clearError() {
    $("error-message").hidden = true;
  }

  // The table for `index`: rows, or a loading state when the period is not loaded.
  render(index, rows, loaded, hasData, pendingIds) {
    const period = this.periods[index];
    $("period-label").textContent = period.label;
    $("period-label").dataset.period = String(index);
    $("nav-prev").disabled = index === 0;
    $("nav-next").disabled = index === this.periods.length - 1;
    for (const chip of this.chips) {
      const i = Number(chip.dataset.period);
      const current = String(i === index);
      if (chip.getAttribute("aria-current") !== current) chip.setAttribute("aria-current", current);
      const has = hasData(i);
      if (chip.dataset.hasData !== has) chip.dataset.hasData = has;
    }
    $("loading").hidden = loaded;
    // Only the rows that changed are made again: a member shown in the period before, with
    // the same values, keeps its row (on a phone, rebuilding every row of every period
    // made each switch a long task), and stays where it is in the table: rows are removed
    // and inserted around it, never all replaced, so that its style and layout are not
    // computed again.
    const shown = new Map();
    const trs = loaded ? rows.map((row) => this.kept(row, pendingIds, shown)) : [];
    this.shown = shown;
    this.place(trs);
    this.body.animate([{ opacity: 0.6 }, { opacity: 1 }], { duration: 150, easing: "ease-in-out" });
    this.table.dataset.period = String(index);
    this.table.dataset.state = loaded ? "ready" : "loading";
  }

  // The table's rows become `trs`. Rows kept from the last render come in the same order
  // (both lists follow the members' order), so once the others are gone each new one is
  // put in its place and no kept row moves.
  place(trs) {
    const wanted = new Set(trs);
    for (const child of [...this.body.children]) if (!wanted.has(child)) child.remove();
    let next = this.body.firstElementChild;
    for (const tr of trs) {
      if (tr === next) next = next.nextElementSibling;
      else this.body.insertBefore(tr, next);
    }
  }

  // The row of the last render for this member when nothing it shows has changed.
  kept(row, pendingIds, shown) {
    const pending = pendingIds.has(row.id);
    const key = JSON.stringify([row.version ?? "", pending, ...COLUMNS.map((c) => row[c] ?? "")]);
    const held = this.shown.get(row.id);
    const tr = held && held.key === key ? held.tr : this.row(row, pendingIds);
    shown.set(row.id, { key, tr });
    return tr;
  }

  row(row, pendingIds) {
    const tr = document.createElement("tr");
    tr.dataset.testid = "staff-row";
    tr.dataset.staffId = row.id;
    tr.dataset.version = String(row.version ?? "");
    if (pendingIds.has(row.id)) tr.dataset.pending = "true";
    for (const column of COLUMNS) {
      const td = document.createElement("td");
      td.dataset.testid = `staff-${column}`;
      td.textContent = row[column] ?? "";
      tr.append(td);
    }
    const actions = document.createElement("td");
    for (const [action, label] of [["edit", "Edit"], ["delete", "Delete"]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.action = action;
      button.dataset.testid = `${action}-staff`;
      button.textContent = label;
      actions.append(button);
    }
    tr.append(actions);
    return tr;
  }
}
