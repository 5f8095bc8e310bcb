"""The schedule editor screen: what a user does and sees. No assertions, no hosts."""

from __future__ import annotations

from dataclasses import dataclass

from playwright.sync_api import Locator, Page


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


READ_ROWS = """table => [...table.querySelectorAll('[data-testid="staff-row"]')].map(r => {
  const cell = (c) => (r.querySelector(`[data-testid="staff-${c}"]`) || {}).textContent || "";
  return {id: r.dataset.staffId, name: cell("name"), position: cell("position"),
          department: cell("department"), status: cell("status"), start: cell("startPeriod"),
          end: cell("endPeriod"), pending: r.dataset.pending === "true"};
})"""


class SchedulePage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.table: Locator = page.get_by_test_id("staff-table")
        self.badge: Locator = page.get_by_test_id("connection-badge")
        self.pending: Locator = page.get_by_test_id("pending-count")
        self.error: Locator = page.get_by_test_id("error-message")
        self.period_label: Locator = page.get_by_test_id("period-label")
        self.mode_label: Locator = page.get_by_test_id("app-mode")
        self.form: Locator = page.get_by_test_id("edit-form")
        self._boxes: dict[str, tuple[float, float]] = {}

    # -- opening ----------------------------------------------------------------------
    def open(self, mode: str | None = None, timeout_ms: float = 30_000) -> None:
        """Load the editor and wait until it shows a period's staff."""
        self.page.goto("/" + (f"?mode={mode}" if mode else ""))
        self.wait_ready(timeout_ms=timeout_ms)

    def wait_ready(self, period: int | None = None, timeout_ms: float = 30_000) -> None:
        selector = '[data-testid="staff-table"][data-state="ready"]'
        if period is not None:
            selector = f'[data-testid="staff-table"][data-state="ready"][data-period="{period}"]'
        self.page.locator(selector).wait_for(state="attached", timeout=timeout_ms)

    # -- navigating -------------------------------------------------------------------
    def chip(self, period: int) -> Locator:
        return self.page.locator(f'[data-testid="period-chip"][data-period="{period}"]')

    def _press(self, target: Locator, key: str) -> None:
        """A real mouse click at the control's centre.

        Navigation controls do not move, so their position is measured once; the click
        itself is raw input (trusted events), without the actionability waits of
        Locator.click that would make 10 switches a second impossible.
        """
        self.page.mouse.click(*self._press_target(target, key))

    def _press_target(self, target: Locator, key: str) -> tuple[float, float]:
        box = self._boxes.get(key)
        if box is None:
            target.wait_for(state="visible")
            measured = target.bounding_box()
            if measured is None:
                raise RuntimeError(f"{key} is not displayed")
            box = (measured["x"] + measured["width"] / 2, measured["y"] + measured["height"] / 2)
            self._boxes[key] = box
        return box

    def measure_controls(self) -> None:
        """Locate every navigation control once, before a timed run of switches."""
        self._press_target(self.page.get_by_test_id("nav-next"), "next")
        self._press_target(self.page.get_by_test_id("nav-prev"), "prev")
        for period in range(self.period_count()):
            self._press_target(self.chip(period), f"chip-{period}")

    def go_to_period(self, period: int) -> None:
        """Click the period in the strip."""
        self._press(self.chip(period), f"chip-{period}")

    def next(self) -> None:
        self._press(self.page.get_by_test_id("nav-next"), "next")

    def previous(self) -> None:
        self._press(self.page.get_by_test_id("nav-prev"), "prev")

    def press_next_key(self) -> None:
        self.page.keyboard.press("ArrowRight")

    def period_count(self) -> int:
        return self.page.locator('[data-testid="period-chip"]').count()

    # -- seeing -----------------------------------------------------------------------
    def current_period(self) -> int:
        return int(self.table.get_attribute("data-period") or -1)

    def is_ready(self) -> bool:
        return self.table.get_attribute("data-state") == "ready"

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

    def connection_state(self) -> str:
        return self.badge.get_attribute("data-state") or ""

    def pending_count(self) -> int:
        return int(self.pending.get_attribute("data-count") or 0)

    def error_text(self) -> str | None:
        return self.error.text_content() if self.error.is_visible() else None

    def mode(self) -> str:
        return self.mode_label.get_attribute("data-mode") or ""

    # -- editing ----------------------------------------------------------------------
    def _open_editor(self, staff_id: str) -> None:
        self.row(staff_id).get_by_test_id("edit-staff").click()
        self.form.wait_for(state="visible")

    def _save(self) -> None:
        self.page.get_by_test_id("edit-save").click()
        self.form.wait_for(state="hidden")

    def rename_staff(self, staff_id: str, name: str) -> None:
        self._open_editor(staff_id)
        self.page.get_by_test_id("edit-name").fill(name)
        self._save()

    def set_position(self, staff_id: str, position: str, department: str | None = None) -> None:
        self._open_editor(staff_id)
        self.page.get_by_test_id("edit-position").fill(position)
        if department is not None:
            self.page.get_by_test_id("edit-department").fill(department)
        self._save()

    def set_status(self, staff_id: str, status: str) -> None:
        self._open_editor(staff_id)
        self.page.get_by_test_id("edit-status").select_option(status)
        self._save()

    def move_staff(self, staff_id: str, first_period: int, last_period: int | None) -> None:
        """Change the start and end so the member works from `first_period` to `last_period`."""
        self._open_editor(staff_id)
        self.page.get_by_test_id("edit-start-period").select_option(str(first_period))
        end = "" if last_period is None else str(last_period)
        self.page.get_by_test_id("edit-end-period").select_option(end)
        self._save()

    def create_staff(
        self, name: str, position: str, first_period: int, last_period: int | None = None
    ) -> None:
        self.page.get_by_test_id("add-staff").click()
        self.form.wait_for(state="visible")
        self.page.get_by_test_id("edit-name").fill(name)
        self.page.get_by_test_id("edit-position").fill(position)
        self.page.get_by_test_id("edit-start-period").select_option(str(first_period))
        end = "" if last_period is None else str(last_period)
        self.page.get_by_test_id("edit-end-period").select_option(end)
        self._save()

    def delete_staff(self, staff_id: str) -> None:
        self.row(staff_id).get_by_test_id("delete-staff").click()
