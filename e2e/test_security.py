"""Security checks a pre-deploy gate runs against any target: a socket from a foreign origin
is refused, text that looks like markup is shown as text on every screen (never run), and an
oversized frame is refused while its connection and the server live on. Each records
`security.failed_checks`, which the gate's security KPI sums (target 0)."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from e2e.harness.catalogue import explain
from e2e.harness.metrics import TestMetrics
from e2e.harness.plugin import OpenUser
from e2e.harness.propagation import PROPAGATION_TIMEOUT_MS
from e2e.harness.staffing import visit
from e2e.harness.target import Target
from e2e.harness.wire import WireClient
from e2e.probes.sentinel import NAME, content_ran

FOREIGN_ORIGIN = "https://attacker.example"
# Markup that runs the page's sentinel if a client writes it as HTML (under 100 characters)
MARKUP = f"<img src=x onerror=\"{NAME}('img')\"><b>b</b></td>&amp;"
OVERSIZED_BYTES = 256 * 1024  # over the 64 KiB the reference server allows a frame


def record(measure: TestMetrics, failed: bool) -> None:
    measure("security.failed_checks", 1 if failed else 0, "count")


@pytest.mark.smoke
@pytest.mark.fault
@pytest.mark.measures("security.failed_checks")
def test_socket_from_a_foreign_origin_should_be_refused(
    target: Target, measure: TestMetrics
) -> None:
    try:
        client = WireClient(target.ws_url, origin=FOREIGN_ORIGIN, timeout=5)
    except InvalidStatus as exc:
        status = exc.response.status_code
        record(measure, not 400 <= status < 500)
        assert 400 <= status < 500, explain(
            f"the upgrade from Origin {FOREIGN_ORIGIN} refused as forbidden (HTTP 4xx)",
            f"HTTP {status}",
            ("F15",),
        )
        return
    client.close()
    record(measure, True)
    pytest.fail(
        explain(
            f"the upgrade from Origin {FOREIGN_ORIGIN} refused (HTTP 403)",
            "a connection, acknowledged",
            ("F15",),
        )
    )


@pytest.mark.smoke
@pytest.mark.measures("security.failed_checks")
def test_markup_should_be_shown_as_text_on_every_screen(
    open_user: OpenUser, target: Target, measure: TestMetrics
) -> None:
    """A name that looks like markup, saved by one user: every observer (another prefetch
    tab, a legacy tab) shows its characters, and nothing of it runs."""
    writer, reader, legacy = open_user("W"), open_user("R"), open_user("L", mode="legacy")
    period = writer.schedule.current_period()
    staff_id = str(target.rows()[period][0]["id"])
    for tab in (reader, legacy):
        visit(tab, period)
    name = f"{MARKUP} {time.monotonic_ns() % 10**4}"
    writer.schedule.rename_staff(staff_id, name)
    failed = []
    for user in (writer, reader, legacy):
        cell = user.schedule.name_cell(staff_id)
        try:
            expect(cell).to_have_text(name, timeout=PROPAGATION_TIMEOUT_MS, use_inner_text=False)
            elements = cell.evaluate("c => c.children.length")
        except AssertionError:
            elements = -1
        ran = content_ran(user.page)
        if elements != 0 or ran:
            shown = cell.inner_html() if cell.count() else "(no row)"
            failed.append(f"{user.name}: cell holds {shown[:120]!r}, content ran {ran}")
    record(measure, bool(failed))
    assert not failed, explain(
        f"{name!r} shown as text (no element made of it, nothing run) on every screen",
        failed,
        ("F28",),
        writer.evidence,
    )


@pytest.mark.smoke
@pytest.mark.fault
@pytest.mark.measures("security.failed_checks")
def test_oversized_frame_should_be_refused_and_survived(
    target: Target, measure: TestMetrics
) -> None:
    """A frame far over the size a client needs: answered with ERROR (or that connection
    alone closed), while a bystander stays connected and the server healthy."""
    with target.wire() as bystander, target.wire() as sender:
        frame = {"type": "PING", "payload": {"pad": "x" * OVERSIZED_BYTES}}
        sender.send_raw(json.dumps(frame))
        try:
            reply = sender.recv_until(lambda f: f["type"] in ("ERROR", "PONG"), timeout=10)
            answer = reply["type"]
        except ConnectionClosed:
            answer = "closed"
        try:
            bystander.send("PING", {"timestamp": time.time()})
            bystander.recv_until(lambda f: f["type"] == "PONG", timeout=10)
            bystander_ok = True
        except (ConnectionClosed, TimeoutError):
            bystander_ok = False
    healthy = target.health().get("status") == "healthy"
    failed = answer == "PONG" or not bystander_ok or not healthy
    record(measure, failed)
    assert not failed, explain(
        f"a {OVERSIZED_BYTES // 1024} KiB frame refused (ERROR, or its connection closed),"
        " a bystander answered, the server healthy",
        f"answer {answer}, bystander {'answered' if bystander_ok else 'lost'},"
        f" health {target.health()}",
        ("F15",),
    )
