"""One self-contained HTML report per run: gate table first, then charts (matplotlib,
inline SVG, no CDN), environment, failures with links to their screenshots and traces."""

from __future__ import annotations

import html
import io
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from e2e.gate.cohorts import cohort_notes, cohort_rows, rollback_line, tripped
from e2e.gate.conditions import main_pass, side_by_side_rows
from e2e.gate.kpis import NOT_MEASURED, KpiResult
from e2e.gate.stats import percentile
from e2e.gate.units import fmt, level_label

plt.rcParams.update({"svg.fonttype": "none", "font.size": 9, "figure.dpi": 72})
COLOURS = {
    "pass": "#1b7f3b",
    "warn": "#b26a00",
    "fail": "#b00020",
    "insufficient": "#666",
    NOT_MEASURED: "#999",
}


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg") :]


def _series(samples: list[dict[str, Any]], metric: str) -> list[dict[str, Any]]:
    return [s for s in samples if s["metric"] == metric]


def latency_charts(samples: list[dict[str, Any]], target: float) -> str:
    nav = _series(samples, "navigation.latency_ms")
    if not nav:
        return "<p>No navigation samples.</p>"
    values = [s["value"] for s in nav]
    fig, (hist, line) = plt.subplots(1, 2, figsize=(10, 3))
    hist.hist(values, bins=30, color="#2d5be3")
    p95 = percentile(values, 0.95)
    hist.axvline(p95, color="#b00020", label=f"p95 {p95:.1f} ms")
    hist.axvline(target, color="#1b7f3b", linestyle="--", label=f"target {target:.0f} ms")
    hist.set(xlabel="input to frame (ms)", ylabel="switches", title="Per-switch latency")
    hist.legend()
    by_kind: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, s in enumerate(nav):
        by_kind[s["tags"].get("kind", "?")].append((i, s["value"]))
    for kind, points in by_kind.items():
        line.plot([p[0] for p in points], [p[1] for p in points], ".", label=kind, markersize=4)
    line.set(xlabel="switch (run order)", ylabel="ms", title="Latency timeline")
    line.legend(fontsize=7)
    return _svg(fig)


def heap_chart(samples: list[dict[str, Any]]) -> str:
    heap = _series(samples, "heap.used_bytes")
    if not heap:
        return "<p>No heap samples.</p>"
    fig, ax = plt.subplots(figsize=(10, 3))
    by_kind: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for s in heap:
        by_kind[s["tags"].get("kind", "?")].append(
            (float(s["tags"].get("navigations", 0)), s["value"] / 1024 / 1024)
        )
    for kind, points in by_kind.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=kind, markersize=3)
    ax.set(xlabel="navigations", ylabel="JS heap after GC (MiB)", title="Heap over navigations")
    ax.legend()
    return _svg(fig)


def server_memory_chart(samples: list[dict[str, Any]]) -> str:
    """The server's resident memory in the order the run read it (after every cycle of
    connections, at the end of tests that read it), beside the pages' heap."""
    rss = _series(samples, "server.rss_bytes")
    if not rss:
        return "<p>No server memory samples.</p>"
    fig, ax = plt.subplots(figsize=(10, 2.6))
    by_test: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for i, s in enumerate(rss):
        by_test[str(s.get("test", "?")).split("::")[-1][:40]].append((i, s["value"] / 2**20))
    for test, points in by_test.items():
        ax.plot([p[0] for p in points], [p[1] for p in points], "o-", label=test, markersize=3)
    ax.set(xlabel="reading (run order)", ylabel="server RSS (MiB)", title="Server memory")
    ax.legend(fontsize=7)
    return _svg(fig)


def bars(samples: list[dict[str, Any]], metric: str, title: str) -> str:
    series = _series(samples, metric)
    if not series:
        return f"<p>No {html.escape(metric)} samples.</p>"
    fig, ax = plt.subplots(figsize=(10, 2.6))
    labels = [s["tags"].get("kind", str(i)) for i, s in enumerate(series)]
    ax.bar(range(len(series)), [s["value"] for s in series], color="#2d5be3")
    ax.set_xticks(range(len(series)), labels, rotation=20, fontsize=7)
    ax.set(ylabel="ms", title=title)
    return _svg(fig)


def propagation_chart(samples: list[dict[str, Any]]) -> str:
    """Each propagation by route, and the median of each leg (where the time went)."""
    series = _series(samples, "sync.propagation_ms")
    if not series:
        return "<p>No propagation samples.</p>"
    fig, (dots, legs) = plt.subplots(1, 2, figsize=(10, 3))
    by_route: dict[str, list[float]] = defaultdict(list)
    for s in series:
        by_route[s["tags"].get("route", s["tags"].get("kind", "?"))].append(s["value"])
    routes = sorted(by_route)
    for n, route in enumerate(routes):
        dots.plot([n] * len(by_route[route]), by_route[route], "o", alpha=0.6, markersize=4)
    dots.set_xticks(range(len(routes)), routes, rotation=15, fontsize=7)
    dots.set(ylabel="ms", title="Write frame sent to reader's frame")
    by_leg: dict[str, list[float]] = defaultdict(list)
    for s in _series(samples, "sync.leg_ms"):
        by_leg[s["tags"].get("leg", "?")].append(s["value"])
    order = [
        k
        for k in ("to_server", "server", "to_reader", "network_and_server", "render")
        if k in by_leg
    ]
    legs.barh(order, [percentile(by_leg[k], 0.5) for k in order], color="#2d5be3")
    legs.invert_yaxis()
    legs.set(xlabel="median ms", title="Where the time goes")
    return _svg(fig)


def growth_section(samples: list[dict[str, Any]]) -> str:
    """First row and navigation over the staff a period on log-log axes, per conditions,
    with each curve's growth exponent (python -m e2e.growth)."""
    costs = (("growth.firstRowMs", "first row", "growth.first_row_exponent"),
             ("growth.navP50Ms", "navigation p50", "growth.navigation_exponent"))  # fmt: skip
    if not _series(samples, costs[0][0]):
        return "<p>Not measured in this run (<code>python -m e2e.growth</code>).</p>"
    fig, axes = plt.subplots(1, 2, figsize=(10, 3))
    for ax, (metric, title, slope) in zip(axes, costs, strict=True):
        for name in dict.fromkeys(
            s["tags"].get("conditions", "") for s in _series(samples, metric)
        ):
            points = sorted(
                (int(s["tags"]["factor"]), s["value"])
                for s in _series(samples, metric)
                if s["tags"].get("conditions", "") == name
            )
            k = next(
                (
                    s["value"]
                    for s in _series(samples, slope)
                    if s["tags"].get("conditions", "") == name
                ),
                float("nan"),
            )
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o",
                    label=f"{name}: exponent {k:.2f}")  # fmt: skip
        ax.set(xscale="log", yscale="log", xlabel="x the bundled staff", ylabel="ms", title=title)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _svg(fig) + "<p>The exponent is the least-squares slope on these axes: 1 is linear.</p>"


def load_section(samples: list[dict[str, Any]]) -> str:
    """Users, CPU and memory over the seconds of the load, and its timings' percentiles."""
    users = _series(samples, "load.users_connected")
    if not users:
        return (
            "<p>No load in this run (<code>-m load</code> or <code>python -m e2e.load</code>).</p>"
        )

    def by_second(metric: str, scale: float = 1.0) -> tuple[list[int], list[float]]:
        points = sorted(
            (int(s["tags"].get("second", 0)), s["value"] * scale) for s in _series(samples, metric)
        )
        return [p[0] for p in points], [p[1] for p in points]

    fig, (count, cpu, rss) = plt.subplots(1, 3, figsize=(10, 2.8))
    count.plot(*by_second("load.users_connected"), color="#2d5be3")
    count.set(xlabel="s", ylabel="connected", title="Users connected")
    cpu.plot(*by_second("load.server_cpu_percent"), label="app")
    cpu.plot(*by_second("load.generator_cpu_percent"), label="generator")
    cpu.set(xlabel="s", ylabel="% of a core", title="CPU")
    cpu.legend(fontsize=7)
    rss.plot(*by_second("load.server_rss_bytes", 1 / 2**20), color="#b26a00")
    rss.set(xlabel="s", ylabel="MiB", title="App RSS")
    fig.tight_layout()
    rows = []
    for metric in (
        "load.sync_all_ms",
        "load.edit_ack_ms",
        "load.broadcast_ms",
        "load.legacy_sync_ms",
    ):
        xs = [s["value"] for s in _series(samples, metric)]
        if xs:
            cells = "".join(f"<td>{fmt(percentile(xs, q), 'ms')}</td>" for q in (0.5, 0.95, 0.99))
            rows.append(f"<tr><td><code>{metric}</code></td><td>{len(xs)}</td>{cells}</tr>")
    table = (
        "<table><tr><th>timing</th><th>n</th><th>p50</th><th>p95</th><th>p99</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    return _svg(fig) + table


def triage_section(run_dir: Path) -> str:
    """What the heap snapshots found, when the heap test took them."""
    files = sorted(run_dir.glob("heap-triage-*.json"))
    if not files:
        return (
            "<p>No heap snapshots were taken (growth stayed under the KPI's target;"
            " --heap-snapshots takes them always).</p>"
        )
    parts = []
    for path in files:
        triage = json.loads(path.read_text(encoding="utf-8"))
        rows = "".join(
            f"<tr><td>{g['count']}</td><td>{html.escape(g['kind'])}</td>"
            f"<td>{html.escape(g['name'])}</td><td>{fmt(g['retained_bytes'], 'bytes')}</td>"
            f"<td><code>{html.escape(' -> '.join(g['path'][-5:]))}</code></td></tr>"
            for g in triage["groups"]
        )
        parts.append(
            f"<p>{html.escape(triage.get('test', path.stem))}: {triage['newObjects']} objects"
            f" ({fmt(triage['newSelfBytes'], 'bytes')}) made during {triage['navigations']}"
            f" navigations outlived as many more ({html.escape(path.name)}).</p>"
            "<table><tr><th>count</th><th>kind</th><th>constructor</th><th>retains</th>"
            f"<th>held by</th></tr>{rows}</table>"
        )
    return "".join(parts)


def trend_chart(entries: list[dict[str, Any]], results: list[KpiResult]) -> str:
    if len(entries) < 2:
        return "<p>The trend needs two runs or more in the history.</p>"
    shown = [
        r for r in results if any(e["kpis"].get(r.id, {}).get("value") is not None for e in entries)
    ]
    if not shown:
        return "<p>No KPI of this run was measured in the runs of the history.</p>"
    cols = 3
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(10, 1.9 * rows), squeeze=False)
    for ax, r in zip(axes.flat, shown, strict=False):
        xs, ys, cs = [], [], []
        for i, e in enumerate(entries):
            k = e["kpis"].get(r.id, {})
            if k.get("value") is not None:
                xs.append(i)
                ys.append(k["value"])
                cs.append(COLOURS.get(k.get("level", ""), "#666"))
        ax.plot(xs, ys, "-", color="#999", linewidth=1)
        ax.scatter(xs, ys, c=cs, s=12, zorder=3)
        ax.axhline(r.target, color="#1b7f3b", linestyle="--", linewidth=0.8)
        ax.set_title(r.title, fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in list(axes.flat)[len(shown) :]:
        ax.axis("off")
    fig.tight_layout()
    return _svg(fig)


def _failures(run_dir: Path, outcomes: dict[str, str]) -> str:
    failed = [t for t, o in outcomes.items() if o == "failed"]
    if not failed:
        return "<p>No test failed.</p>"
    evidence = run_dir / "playwright"
    folders = sorted(p for p in evidence.iterdir() if p.is_dir()) if evidence.exists() else []
    items = []
    for test in failed:
        name = test.split("::")[-1].split("[")[0].replace("_", "-")
        links = [
            f'<a href="{html.escape(str(f.relative_to(run_dir) / x.name))}">'
            f"{html.escape(x.name)}</a>"
            for f in folders
            if name in f.name
            for x in sorted(f.iterdir())
        ]
        items.append(f"<li><code>{html.escape(test)}</code> {' '.join(links)}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _html_table(rows: list[tuple[str, ...]]) -> str:
    """Rows of text as a table, the first row its head."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows[1:]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cohorts(results: list[KpiResult]) -> str:
    """A rollout run's cohorts side by side, and the rollback triggers they tripped."""
    rows = cohort_rows(results)
    if not rows:
        return ""
    alarms = "".join(
        f'<p style="color:{COLOURS["fail"]};font-weight:bold">{html.escape(rollback_line(r))}</p>'
        for r in tripped(results)
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in cohort_notes(results))
    return (
        "<h2>Rollout cohorts, side by side</h2>"
        + alarms
        + _html_table(rows)
        + (f"<ul>{notes}</ul>" if notes else "")
    )


def _conditions(results: list[KpiResult]) -> str:
    """A run judged under several conditions: each KPI per profile, side by side."""
    rows = side_by_side_rows(results)
    return f"<h2>Conditions, side by side</h2>{_html_table(rows)}" if rows else ""


def _gate_table(results: list[KpiResult], gate_verdict: str) -> str:
    cohorts = _cohorts(results) + _conditions(results)
    results = [r for r in main_pass(results) if not r.cohort]
    rows = []
    for r in results:
        cells = [fmt(r.value, r.unit), fmt(r.target, r.unit), fmt(r.fail, r.unit)]
        rows.append(
            f"<tr><td>{html.escape(r.title)}</td>"
            + "".join(f"<td>{html.escape(c)}</td>" for c in cells)
            + f'<td style="color:{COLOURS[r.level]};font-weight:bold">{level_label(r.level)}</td>'
            f"<td>{r.samples}</td><td>{html.escape(r.method)}</td><td>{html.escape(r.note)}</td></tr>"
        )
    colour = COLOURS.get(gate_verdict, "#666")
    return (
        f'<h2>Gate: <span style="color:{colour}">{level_label(gate_verdict)}</span></h2>'
        "<table><tr><th>KPI</th><th>value</th><th>target</th><th>fail beyond</th><th>level</th>"
        "<th>n</th><th>method</th><th>note</th></tr>" + "".join(rows) + "</table>" + cohorts
    )


def render(
    run_dir: Path,
    run: dict[str, Any],
    results: list[KpiResult],
    gate_verdict: str,
    trend: list[dict[str, Any]],
) -> Path:
    samples = run["samples"]
    nav_target = next((r.target for r in results if r.id == "navigation_p95"), 100.0)
    env = run.get("environment", {})
    env_rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in env.items()
    )
    outcomes = run.get("outcomes", {})
    counts = {o: list(outcomes.values()).count(o) for o in ("passed", "failed", "skipped")}
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>staffsync-verify {html.escape(run["runId"])}</title>
<style>body{{font:13px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330}}
table{{border-collapse:collapse;margin:.5rem 0}}
td,th{{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}}
h2{{margin-top:1.6rem}}svg{{max-width:100%;height:auto}}</style></head><body>
<h1>staffsync-verify run {html.escape(run["runId"])}</h1>
<p>Tests: {counts["passed"]} passed, {counts["failed"]} failed, {counts["skipped"]} skipped.
Mode: {html.escape(str(env.get("mode")))}; defect: {html.escape(str(env.get("defect")))}.</p>
{_gate_table(results, gate_verdict)}
<h2>Navigation latency</h2>{latency_charts(samples, nav_target)}
<h2>Heap over navigations</h2>{heap_chart(samples)}
<h2>Server memory over the run</h2>{server_memory_chart(samples)}
<h2>Reconnect after faults</h2>{bars(samples, "recovery.reconnect_ms", "Reconnect time by fault")}
<h2>Cross-tab propagation</h2>{propagation_chart(samples)}
<h2>Heap growth triage</h2>{triage_section(run_dir)}
<h2>Load</h2>{load_section(samples)}
<h2>Cost as the work grows</h2>{growth_section(samples)}
<h2>Trend over the last {len(trend)} runs</h2>{trend_chart(trend, results)}
<h2>Failures</h2>{_failures(run_dir, outcomes)}
<h2>Environment</h2><table>{env_rows}</table>
<p>Raw figures: <a href="metrics.json">metrics.json</a>, <a href="gate.json">gate.json</a>,
<a href="junit.xml">junit.xml</a>.</p></body></html>"""
    path = run_dir / "report.html"
    path.write_text(body, encoding="utf-8")
    return path
