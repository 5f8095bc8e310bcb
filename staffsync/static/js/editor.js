// The edit dialog: one form for editing and for creating a staff member.

const form = () => document.getElementById("edit-fields");
const dialog = () => document.getElementById("edit-form");

export class Editor {
  constructor(periods) {
    this.periods = periods;
    const start = form().elements.startPeriod;
    const end = form().elements.endPeriod;
    end.append(new Option("(no end)", ""));
    for (const p of periods) {
      start.append(new Option(p.label, String(p.index)));
      end.append(new Option(p.label, String(p.index)));
    }
    // What the user chose is read as they choose it (Save submits the form, Cancel too,
    // Escape cancels the dialog), not on the dialog's `close` event: that event comes in a
    // task of its own, and a form opened before it came (seen with clicks made in a
    // rendering callback) had its save answered as a cancel by the late `close`: the edit
    // was dropped without a word.
    this.opened = null; // { row, resolve } of the form on screen
    form().addEventListener("submit", (event) => this.finish(event.submitter?.value === "save"));
    dialog().addEventListener("cancel", () => this.finish(false));
  }

  finish(save) {
    const opened = this.opened;
    if (!opened) return;
    this.opened = null;
    opened.resolve(save ? this.changes(opened.row) : null);
  }

  periodOf(date) {
    if (!date) return "";
    const found = this.periods.find((p) => date <= p.end);
    return String(found ? found.index : this.periods.length - 1);
  }

  // Opens the dialog on `row` (or an empty one) and resolves with the changed fields,
  // or null when cancelled.
  open(row, title) {
    const f = form();
    document.getElementById("edit-title").textContent = title;
    f.elements.name.value = row ? row.name : "";
    f.elements.position.value = row ? row.position : "";
    f.elements.department.value = row ? row.department : "";
    f.elements.status.value = row ? row.status : "active";
    f.elements.startPeriod.value = row ? this.periodOf(row.startPeriod) : "0";
    f.elements.endPeriod.value = row ? this.periodOf(row.endPeriod) : "";
    this.finish(false); // a form still waiting for an answer is one the user left
    dialog().showModal();
    return new Promise((resolve) => {
      this.opened = { row, resolve };
    });
  }

  changes(row) {
    const f = form().elements;
    const start = this.periods[Number(f.startPeriod.value)].start;
    const startPeriod = row && this.periodOf(row.startPeriod) === f.startPeriod.value ? row.startPeriod : start;
    const endPeriod = f.endPeriod.value === ""
      ? null
      : row && this.periodOf(row.endPeriod) === f.endPeriod.value ? row.endPeriod : this.periods[Number(f.endPeriod.value)].end;
    const fields = {
      name: f.name.value,
      position: f.position.value,
      department: f.department.value,
      status: f.status.value,
      startPeriod,
      endPeriod,
    };
    if (!row) return fields;
    return Object.fromEntries(Object.entries(fields).filter(([k, v]) => row[k] !== v && !(row[k] == null && v == null)));
  }
}
