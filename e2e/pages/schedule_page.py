"""The schedule editor screen: what a user does and sees. No assertions, no hosts."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from playwright.sync_api import Locator, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from e2e.probes.page_probe import describe


class PageExpectation(AssertionError):
    """The page did not reach a state within its time; says what was awaited and shown."""


@dataclass(frozen=True)
class StaffRow:
    id: str
    name: str
    position: str
    department: str
    status: str
    start: str
    end: str
    pending: bool


# Finds a control when it is clicked (controls may move, scroll or wrap): scrolls it into
# view, and returns the centre of its box, or why it cannot be clicked there.
LOCATE = """selector => {
  const el = document.querySelector(selector);
  if (!el) return {error: `no element ${selector}`};
  el.scrollIntoView({block: "nearest", inline: "nearest"});
  const box = el.getBoundingClientRect();
  if (!box.width || !box.height) return {error: `${selector} is not displayed`};
  if (el.disabled) return {error: `${selector} is disabled`};
  const x = box.left + box.width / 2, y = box.top + box.height / 2;
  const hit = document.elementFromPoint(x, y);
  // where the mouse goes: the visual viewport, which a phone may have panned or zoomed
  const vv = window.visualViewport || {offsetLeft: 0, offsetTop: 0, scale: 1};
  const seen = {x: (x - vv.offsetLeft) * vv.scale, y: (y - vv.offsetTop) * vv.scale};
  // Chromium at times hit-tests a row's button as its own table: nothing else is there
  if (hit && hit !== el && hit.contains(el) && hit.tagName === "TABLE") return seen;
  if (!hit || (hit !== el && !el.contains(hit))) {
    const at = (e) => {
      const b = e.getBoundingClientRect();
      return `${b.left | 0},${b.top | 0} ${b.width | 0}x${b.height | 0}`;
    };
    const by = hit ? `${hit.outerHTML.slice(0, 80)} at ${at(hit)}` : "nothing";
    return {error: `${selector} (at ${at(el)}) is covered by ${by};`
      + ` viewport ${innerWidth}x${innerHeight}, animations ${document.getAnimations().length}`};
  }
  return seen;
}"""

READ_ROWS = """table => [...table.querySelectorAll('[data-testid="staff-row"]')].map(r => {
  const cell = (c) => (r.querySelector(`[data-testid="staff-${c}"]`) || {}).textContent || "";
  return {id: r.dataset.staffId, name: cell("name"), position: cell("position"),
          department: cell("department"), status: cell("status"), start: cell("startPeriod"),
          end: cell("endPeriod"), pending: r.dataset.pending === "true"};
})"""


# Before Save: note whether the pending count's value changes from now on (an attribute
# written again with the same value is no change).
# A <dialog> form owes its `close` event from the moment it opens: the event comes in a task
# of its own after the dialog hides. The next form is opened once it has come, since a click
# made in between (the page object clicks inside a polling callback, where no user's tap can
# land) would reach a client still closing the last one.
OWE_CLOSE = """() => {
  const form = document.querySelector('[data-testid="edit-form"]');
  if (!form || form.tagName !== "DIALOG") return;
  window.__ssCloseOwed = true;
  form.addEventListener("close", () => { window.__ssCloseOwed = false; }, {once: true});
}"""
CLOSE_DONE = "() => !window.__ssCloseOwed"

WATCH_PENDING = """() => {
  window.__ssCounted = false;
  const el = document.querySelector('[data-testid="pending-count"]');
  if (!el) return;
  const watch = new MutationObserver((changes) => {
    if (changes.some((c) => c.oldValue !== el.getAttribute("data-count"))) {
      window.__ssCounted = true;
      watch.disconnect();
    }
  });
  watch.observe(el, {attributes: true, attributeFilter: ["data-count"], attributeOldValue: true});
}"""


class SchedulePage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.table: Locator = page.get_by_test_id("staff-table")
        self.badge: Locator = page.get_by_test_id("connection-badge")
        self.pending: Locator = page.get_by_test_id("pending-count")
        self.error: Locator = page.get_by_test_id("error-message")
        self.form: Locator = page.get_by_test_id("edit-form")

    # -- opening ----------------------------------------------------------------------
    def open(self, mode: str | None = None, timeout_ms: float = 30_000) -> None:
        """Load the editor and wait until it shows a period's staff."""
        self.page.goto("/" + (f"?mode={mode}" if mode else ""))
        self.wait_ready(timeout_ms=timeout_ms)

    def wait_ready(self, period: int | None = None, timeout_ms: float = 30_000) -> None:
        selector = '[data-testid="staff-table"][data-state="ready"]'
        if period is not None:
            selector = f'[data-testid="staff-table"][data-state="ready"][data-period="{period}"]'
        what = "the table ready" + ("" if period is None else f" on period {period}")
        self._wait(self.page.locator(selector), "attached", timeout_ms, what)

    def describe(self) -> str:
        """What the page shows now (table, badge, pending, error), for failure messages."""
        return describe(self.page)

    def _wait(self, locator: Locator, state: str, timeout_ms: float, what: str) -> None:
        try:
            locator.wait_for(state=state, timeout=timeout_ms)  # type: ignore[arg-type]
        except PlaywrightTimeout:
            raise PageExpectation(
                f"Expected {what} within {timeout_ms / 1000:.0f} s; the page showed"
                f" {self.describe()}"
            ) from None

    # -- navigating -------------------------------------------------------------------
    def _press(self, selector: str) -> None:
        """A real mouse click at the control's centre, located when it is clicked.

        Raw input (trusted events) without the actionability waits of Locator.click, which
        would make 10 switches a second impossible; the control is found, scrolled into
        view and checked to be the element at that point on every press.
        """
        spot = self.page.evaluate(LOCATE, selector)
        if "error" in spot:
            raise PageExpectation(
                f"cannot click: {spot['error']}; the page showed {self.describe()}"
            )
        self.page.mouse.click(spot["x"], spot["y"])

    def _click(self, selector: str, what: str, timeout_ms: float = 10_000) -> None:
        """Click a control once nothing else covers it, in one step in the page: it is
        located, checked and clicked in the same task, so a table re-rendered meanwhile
        (a reconnecting client repaints) cannot turn the click onto another row."""
        click = f"s => {{ const r = ({LOCATE})(s); if (r.error) return null;"
        click += " document.querySelector(s).click(); return true; }"
        try:
            self.page.wait_for_function(click, arg=selector, timeout=timeout_ms)
        except PlaywrightTimeout:
            why = self.page.evaluate(LOCATE, selector).get("error", "")
            raise PageExpectation(
                f"cannot click {what} within {timeout_ms / 1000:.0f} s: {why}; the page"
                f" showed {self.describe()}"
            ) from None

    def _row_action(self, staff_id: str, action: str) -> None:
        row = f'[data-testid="staff-row"][data-staff-id="{staff_id}"]'
        self._last_form_closed()
        self._click(f'{row} [data-testid="{action}-staff"]', f"{action} of {staff_id}")

    def _last_form_closed(self) -> None:
        try:
            self.page.wait_for_function(CLOSE_DONE, timeout=10_000)
        except PlaywrightTimeout:
            raise PageExpectation(
                "Expected the last form's dialog to fire its close event within 10 s; the page"
                f" showed {self.describe()}"
            ) from None

    def _form_opened(self, what: str) -> None:
        self._wait(self.form, "visible", 10_000, what)
        self.page.evaluate(OWE_CLOSE)

    def go_to_period(self, period: int) -> None:
        """Click the period in the strip."""
        self._press(f'[data-testid="period-chip"][data-period="{period}"]')

    def next(self) -> None:
        self._press('[data-testid="nav-next"]')

    def previous(self) -> None:
        self._press('[data-testid="nav-prev"]')

    def press_next_key(self) -> None:
        self.page.keyboard.press("ArrowRight")

    def period_count(self) -> int:
        return self.page.locator('[data-testid="period-chip"]').count()

    # -- seeing -----------------------------------------------------------------------
    def current_period(self) -> int:
        return int(self.table.get_attribute("data-period") or -1)

    def rows(self) -> list[StaffRow]:
        return [StaffRow(**r) for r in self.table.evaluate(READ_ROWS)]

    def row_ids(self) -> list[str]:
        return [r.id for r in self.rows()]

    def row(self, staff_id: str) -> Locator:
        return self.page.locator(f'[data-testid="staff-row"][data-staff-id="{staff_id}"]')

    def name_cell(self, staff_id: str) -> Locator:
        return self.row(staff_id).get_by_test_id("staff-name")

    def strip_has_data(self) -> dict[int, str]:
        chips = self.page.locator('[data-testid="period-chip"]')
        values = chips.evaluate_all("cs => cs.map(c => [c.dataset.period, c.dataset.hasData])")
        return {int(p): str(v) for p, v in values}

    # -- editing ----------------------------------------------------------------------
    def open_editor(self, staff_id: str) -> None:
        """Open a member's edit form (and leave it open)."""
        self._row_action(staff_id, "edit")
        self._form_opened(f"the edit form of {staff_id} open")

    def submit_form(self) -> None:
        """Press Save on the open form and return: the form closes, or stays open when the
        browser's validation stops the save (a required field left empty)."""
        self.page.get_by_test_id("edit-save").click()

    def cancel_form(self) -> None:
        self.page.get_by_test_id("edit-cancel").click()
        self._wait(self.form, "hidden", 10_000, "the form closed after Cancel")

    def _save(self, counted: bool = True) -> None:
        """Save the open form; with `counted`, return once the page has counted the write
        (its pending count changed: up while unconfirmed, and down again when confirmed, as
        fast as the server answers), or after 10 s if it never does (a write shown as saved
        and never sent: what the test checks next finds it). A closed form alone can come
        first: a client may count the write in a task of its own after the dialog's close
        event."""
        if counted:
            self.page.evaluate(WATCH_PENDING)
        self.page.get_by_test_id("edit-save").click()
        self._wait(self.form, "hidden", 10_000, "the edit form closed after Save")
        if counted:  # never counted (shown as saved, never sent?): the test's checks judge it
            with suppress(PlaywrightTimeout):
                self.page.wait_for_function("() => window.__ssCounted === true", timeout=10_000)

    def name_limit(self) -> int | None:
        """The name field's maxlength, if it has one (read with the form open or closed)."""
        self.open_new_form()
        raw = self.page.get_by_test_id("edit-name").get_attribute("maxlength")
        self.cancel_form()
        return int(raw) if raw and raw.isdigit() else None

    def open_new_form(self) -> None:
        self._last_form_closed()
        self.page.get_by_test_id("add-staff").click()
        self._form_opened("the form to add staff open")

    def fill_form(self, fields: dict[str, str]) -> dict[str, str]:
        """Type into the open form: text fields (name, position, department) are filled, the
        status and the periods (`start-period`, `end-period`, by index; "" for no end) are
        chosen. Returns what each field then holds (a field may stop a value: maxlength)."""
        for field, value in fields.items():
            control = self.page.get_by_test_id(f"edit-{field}")
            if field in ("status", "start-period", "end-period"):
                control.select_option(value)
            else:
                control.fill(value)
        return {f: self.page.get_by_test_id(f"edit-{f}").input_value() for f in fields}

    def begin_edit(self, staff_id: str, fields: dict[str, str]) -> dict[str, str]:
        """Open a member's form and change text fields (name, position, department) and the
        status, without saving (see `save_edit`). Returns what the fields hold."""
        self.open_editor(staff_id)
        return self.fill_form(fields)

    def save_edit(self, counted: bool = True) -> None:
        """Save the form `begin_edit` filled (`counted=False`: do not wait for the page to
        count a write, for a form that may hold no change)."""
        self._save(counted)

    def edit_staff(self, staff_id: str, fields: dict[str, str]) -> None:
        """Change text fields and the status, then save."""
        self.begin_edit(staff_id, fields)
        self._save()

    def rename_staff(self, staff_id: str, name: str) -> None:
        self.open_editor(staff_id)
        self.page.get_by_test_id("edit-name").fill(name)
        self._save()

    def move_staff(
        self, staff_id: str, first_period: int, last_period: int | None, counted: bool = True
    ) -> None:
        """Change the start and end so the member works from `first_period` to `last_period`
        (`counted=False`: the dates may be the ones it has, and nothing be sent)."""
        self.open_editor(staff_id)
        self.page.get_by_test_id("edit-start-period").select_option(str(first_period))
        end = "" if last_period is None else str(last_period)
        self.page.get_by_test_id("edit-end-period").select_option(end)
        self._save(counted)

    def create_staff(
        self, name: str, position: str, first_period: int, last_period: int | None = None
    ) -> dict[str, str]:
        """Add a member; returns what the form's fields held when it was saved."""
        self.open_new_form()
        end = "" if last_period is None else str(last_period)
        held = self.fill_form(
            {
                "name": name,
                "position": position,
                "start-period": str(first_period),
                "end-period": end,
            }
        )
        self._save()
        return held

    def delete_staff(self, staff_id: str) -> None:
        self._row_action(staff_id, "delete")
