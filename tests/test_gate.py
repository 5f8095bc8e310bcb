"""The gate's statistics, levels, insufficient samples, baseline and exit statuses, on
metrics files recorded from real runs (fixtures/recorded/)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from e2e.gate.cohorts import cohort_rows, rollback_line
from e2e.gate.kpis import (
    NOT_MEASURED,
    Kpi,
    KpiResult,
    evaluate,
    level,
    load_kpis,
    statistic,
    verdict,
)
from e2e.gate.runner import (
    GATE_FAILED,
    ROLLBACK,
    TESTS_AND_GATE_FAILED,
    exit_status,
    run_gate,
)
from e2e.gate.stats import compare, percentile
from e2e.harness.options import ROOT

RECORDED = ROOT / "fixtures" / "recorded"
KPIS = ROOT / "fixtures" / "kpis.json"


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDED / f"{name}-metrics.json").read_text())
    return data


def sample(metric: str, value: float, **tags: str) -> dict[str, Any]:
    return {"metric": metric, "value": value, "unit": "ms", "test": "t", "tags": tags}


def kpi(**overrides: Any) -> Kpi:
    base: dict[str, Any] = {
        "id": "k",
        "title": "k",
        "metric": "m",
        "statistic": "p95",
        "unit": "ms",
        "target": 100.0,
        "fail": 1000.0,
        "min_samples": 20,
    }
    return Kpi(**{**base, **overrides})


def test_percentile_should_interpolate_like_numpy() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == pytest.approx(95.05)
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile([7.0], 0.95) == 7.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [(50, "pass"), (100, "pass"), (101, "warn"), (1000, "warn"), (1001, "fail")],
)
def test_levels_should_follow_target_and_fail(value: float, expected: str) -> None:
    assert level(kpi(), value) == expected


def test_levels_should_invert_when_higher_is_better() -> None:
    stability = kpi(target=0.999, fail=0.95, higher_is_better=True)
    assert [level(stability, v) for v in (1.0, 0.99, 0.9)] == ["pass", "warn", "fail"]


def test_too_few_samples_should_be_insufficient_not_passed() -> None:
    samples = [sample("m", 1.0) for _ in range(19)]
    (result,) = evaluate([kpi()], samples)
    assert result.level == "insufficient"
    assert result.samples == 19
    assert "needs 20" in result.note
    assert verdict([result]) == "insufficient"


def test_filters_and_ratio_of_sums_should_use_only_matching_samples() -> None:
    ratio = kpi(
        statistic="ratio_of_sums",
        metric="e",
        denominator="o",
        filter={"fault": "no"},
        min_samples=1,
        target=0.01,
        fail=0.02,
    )
    samples = [
        sample("e", 1, fault="no"),
        sample("o", 200, fault="no"),
        sample("e", 50, fault="yes"),
        sample("o", 50, fault="yes"),
    ]
    assert statistic(ratio, samples) == (0.005, 1)


def test_recorded_healthy_run_should_pass_every_kpi_with_data() -> None:
    run = recorded("baseurl-healthy")
    results = {r.id: r for r in evaluate(load_kpis(KPIS), run["samples"], tests=run["tests"])}
    assert results["navigation_p95"].level == "pass"
    assert results["navigation_p95"].samples >= 20
    assert results["writes_lost"].value == 0
    newer = ("load_", "dom_", "security_", "cohort_", "server_", "vitals_", "growth_")
    measured = {k: r for k, r in results.items() if not k.startswith(newer)}
    assert all(r.level == "pass" for r in measured.values()), measured
    assert all(r.level == NOT_MEASURED for k, r in results.items() if k.startswith(newer))


def test_recorded_legacy_run_should_fail_the_prefetch_promises() -> None:
    run = recorded("legacy")
    results = {r.id: r for r in evaluate(load_kpis(KPIS), run["samples"])}
    assert results["sockets_per_navigation"].level == "fail"
    assert results["navigation_p95"].value is not None
    assert results["navigation_p95"].value > 300  # every switch waits for the database
    assert verdict(list(results.values())) == "fail"


def test_baseline_should_flag_a_significant_regression() -> None:
    fast = [10.0 + i % 5 for i in range(40)]
    slow = [v * 3 for v in fast]
    flagged = compare(fast, slow)
    assert flagged is not None
    assert flagged.worse
    assert flagged.p_value < 0.001
    same = compare(fast, list(reversed(fast)))
    assert same is not None
    assert not same.worse
    assert compare(fast[:3], slow) is None  # too few samples to test


def test_baseline_regression_should_turn_a_pass_into_a_warning() -> None:
    healthy = recorded("healthy")["samples"]
    slower = [
        dict(s, value=s["value"] * 2.5) if s["metric"] == "navigation.latency_ms" else s
        for s in healthy
    ]
    results = {r.id: r for r in evaluate(load_kpis(KPIS), slower, baseline=healthy)}
    nav = results["navigation_p95"]
    assert nav.baseline is not None
    assert nav.baseline["regression"] is True
    assert nav.level == "warn"
    assert "Mann-Whitney" in nav.note


@pytest.mark.parametrize(
    ("tests_failed", "gate", "mode", "status"),
    [
        (False, "pass", "strict", 0),
        (True, "pass", "strict", 1),
        (False, "fail", "strict", GATE_FAILED),
        (True, "fail", "strict", TESTS_AND_GATE_FAILED),
        (False, "insufficient", "strict", GATE_FAILED),
        (False, "fail", "warn", 0),
        (False, "warn", "strict", 0),
    ],
)
def test_exit_status_should_tell_tests_and_gate_apart(
    tests_failed: bool, gate: str, mode: str, status: int
) -> None:
    assert exit_status(tests_failed, gate, mode) == status


def test_gate_should_write_gate_json_history_and_report(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(RECORDED / "healthy-metrics.json", run_dir / "metrics.json")
    outcome = run_gate(run_dir, KPIS)
    gate = json.loads(outcome.gate_path.read_text())
    assert gate["verdict"] == outcome.verdict
    assert {k["id"] for k in gate["kpis"]} == {k.id for k in load_kpis(KPIS)}
    history = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(history) == 1
    assert json.loads(history[0])["kpis"]["navigation_p95"]["level"] == "pass"
    run_gate(run_dir, KPIS)  # a second run makes a trend
    html = outcome.report_path.read_text()
    assert html.count("<svg") >= 5  # latency x2, heap, reconnect, propagation, trend
    for fetch in ('src="http', 'href="http', "<script src", "<link"):
        assert fetch not in html, f"the report would fetch something: {fetch}"
    assert "<h2>Gate: " in html.split("Navigation latency")[0]  # the gate table comes first
    assert len(html) < 400_000


# -- verdicts a deploy can trust, pinned on recorded runs --------------------------------
def gate_of(name: str) -> tuple[dict[str, Any], list[KpiResult], str]:
    run = recorded(name)
    results = evaluate(load_kpis(KPIS), run["samples"], tests=run["tests"])
    return run, results, verdict(results)


def test_smoke_selection_on_a_healthy_app_should_pass_with_unselected_kpis_not_measured() -> None:
    _, results, gate = gate_of("smoke-healthy")
    by_id = {r.id: r for r in results}
    assert by_id["heap_growth"].level == NOT_MEASURED
    assert "no selected test measures it" in by_id["heap_growth"].note
    left_out = {r.id for r in results if r.level == NOT_MEASURED}
    later = ("load_", "dom_", "security_", "cohort_", "server_", "vitals_", "growth_")
    newer = {r.id for r in results if r.id.startswith(later)}
    assert left_out == {"heap_growth"} | newer
    assert all(r.level == "pass" for r in results if r.id not in left_out), results
    assert by_id["propagation"].samples >= 20  # a p95, not a max of a handful
    assert gate == "pass"
    assert exit_status(False, gate, "strict") == 0


def test_base_url_run_on_a_healthy_deployment_should_pass_although_kill_tests_skip() -> None:
    run, results, gate = gate_of("baseurl-healthy")
    skipped = [t for t in run["tests"].values() if t.get("outcome") == "skipped"]
    assert skipped and all("embedded app" in t["reason"] for t in skipped)
    by_id = {r.id: r for r in results}
    assert by_id["writes_lost"].samples >= 3  # fed by cuts, outages and multi-tab tests
    assert gate == "pass"
    assert exit_status(False, gate, "strict") == 0


def test_kpi_fed_only_by_tests_skipped_for_the_target_should_say_so() -> None:
    run = recorded("baseurl-healthy")
    restart = kpi(id="restart", metric="server.restart_ready_s", statistic="max", min_samples=1)
    (result,) = evaluate([restart], run["samples"], tests=run["tests"])
    assert result.level == NOT_MEASURED
    assert result.note.startswith("its tests were skipped for this target")
    assert "embedded app" in result.note
    assert verdict([result]) == NOT_MEASURED
    assert exit_status(False, NOT_MEASURED, "strict") == GATE_FAILED  # nothing to approve


def test_kpi_whose_tests_ran_with_too_few_samples_should_stay_insufficient() -> None:
    run = recorded("smoke-healthy")
    greedy = kpi(id="nav", metric="navigation.latency_ms", min_samples=1000)
    (result,) = evaluate([greedy], run["samples"], tests=run["tests"])
    assert result.level == "insufficient"


def test_a_metric_the_target_cannot_give_should_be_not_measured_with_the_reason() -> None:
    """A run's notes: no samples and a reason is NOT MEASURED (and a strict gate can still
    pass on the rest); too few samples and a hint stays INSUFFICIENT, with the hint."""
    rss = kpi(id="rss", metric="load.server_rss", statistic="max", min_samples=1)
    ack = kpi(id="ack", metric="load.edit_ack_ms")
    other = kpi(id="other", metric="other", statistic="max", min_samples=1)
    samples = [sample("load.edit_ack_ms", 5.0)] * 3 + [sample("other", 1.0)]
    notes = {
        "load.server_rss": {"unmeasured": "http://h/metrics answered HTTP 404"},
        "load.edit_ack_ms": {"short": "the load phase was bounded (--load-max-seconds)"},
    }
    by_id = {r.id: r for r in evaluate([rss, ack, other], samples, notes=notes)}
    assert by_id["rss"].level == NOT_MEASURED
    assert by_id["rss"].note == "http://h/metrics answered HTTP 404"
    assert by_id["ack"].level == "insufficient"
    assert by_id["ack"].note.endswith("; the load phase was bounded (--load-max-seconds)")
    assert verdict([by_id["rss"], by_id["other"]]) == "pass"
    # a reason given for a metric that did get samples changes nothing
    (measured,) = evaluate([other], samples, notes={"other": {"unmeasured": "no"}})
    assert measured.level == "pass"


def test_metrics_prom_should_be_openmetrics_with_every_kpi_and_its_level(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(RECORDED / "healthy-metrics.json", run_dir / "metrics.json")
    outcome = run_gate(run_dir, KPIS)
    text = (run_dir / "metrics.prom").read_text()
    assert text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(text)}  # type: ignore[no-untyped-call]
    levels = {
        s.labels["kpi"]: s.labels["staffsync_kpi_level"]
        for s in families["staffsync_kpi_level"].samples
        if s.value == 1
    }
    assert levels == {r.id: r.level for r in outcome.results}
    values = {s.labels["kpi"]: s.value for s in families["staffsync_kpi_value"].samples}
    measured = {r.id: r.value for r in outcome.results if r.value is not None}
    assert values == pytest.approx(measured)
    (verdict_now,) = [
        s.labels["staffsync_gate_verdict"]
        for s in families["staffsync_gate_verdict"].samples
        if s.value == 1
    ]
    assert verdict_now == outcome.verdict


def test_smoke_run_on_a_broken_target_should_still_fail() -> None:
    run, results, gate = gate_of("smoke-f1")
    assert "failed" in run["outcomes"].values()
    assert {r.id: r.level for r in results}["sockets_per_navigation"] == "fail"
    assert gate == "fail"
    assert exit_status(True, gate, "strict") == TESTS_AND_GATE_FAILED


def test_gate_note_should_name_the_selection_that_left_a_kpi_out(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    shutil.copy(RECORDED / "smoke-healthy-metrics.json", run_dir / "metrics.json")
    outcome = run_gate(run_dir, KPIS)
    growth = next(r for r in outcome.results if r.id == "heap_growth")
    assert growth.note.endswith('(selection: -m "smoke")')
    assert outcome.verdict == "pass"


def cohort_kpis() -> list[Kpi]:
    return [k for k in load_kpis(KPIS) if k.cohort]


def cohort_samples(heap_mib: float, errors: int = 0) -> list[dict[str, Any]]:
    """Figures of a rollout run: three users in each cohort."""
    out = []
    for cohort in ("prefetch", "legacy"):
        for user in range(3):
            out += [sample("cohort.navigation_ms", 20.0 + i, cohort=cohort) for i in range(12)]
            out += [sample("cohort.first_row_ms", 300.0 + user, cohort=cohort)]
            out += [sample("cohort.heap_bytes", 2.5 * 2**20, cohort=cohort) for _ in range(3)]
            out += [sample("cohort.errors", 0, cohort=cohort)]
            out += [sample("cohort.operations", 26, cohort=cohort)]
            out += [sample("cohort.socket_failures", 0, cohort=cohort)]
            out += [sample("cohort.sockets", 13, cohort=cohort)]
            out += [sample("cohort.reconnect_ms", 300.0, cohort=cohort)]
            out += [sample("cohort.propagation_ms", 100.0, cohort=cohort)]
    for s in out:  # the new cohort's memory, and the legacy cohort's ERROR answers
        if s["metric"] == "cohort.heap_bytes" and s["tags"]["cohort"] == "prefetch":
            s["value"] = heap_mib * 2**20
        if s["metric"] == "cohort.errors" and s["tags"]["cohort"] == "legacy":
            s["value"] = errors
    return out


def test_healthy_cohorts_should_trip_no_rollback_trigger() -> None:
    results = evaluate(cohort_kpis(), cohort_samples(heap_mib=2.5))
    assert {r.level for r in results} == {"pass"}
    assert not [r.id for r in results if r.tripped]


@pytest.mark.parametrize(
    ("heap_mib", "errors", "tripped"),
    [
        (36.4, 0, {"cohort_prefetch_heap"}),  # over 30 MB sustained, under the 50 MB alert
        (2.5, 13, {"cohort_legacy_error_rate"}),  # 50 % of frames answered with ERROR
        (30.0, 0, set()),  # exactly at the trigger: "> 30 MB" is not tripped
    ],
)
def test_a_value_beyond_the_plans_trigger_should_trip_it_in_its_cohort(
    heap_mib: float, errors: int, tripped: set[str]
) -> None:
    results = evaluate(cohort_kpis(), cohort_samples(heap_mib, errors))
    assert {r.id for r in results if r.tripped} == tripped


def test_rollback_should_decide_the_exit_status_of_a_strict_gate_only() -> None:
    assert exit_status(False, "warn", "strict", rollback=True) == ROLLBACK
    assert exit_status(True, "fail", "strict", rollback=True) == ROLLBACK
    assert exit_status(False, "warn", "warn", rollback=True) == 0
    assert exit_status(False, "pass", "strict", rollback=False) == 0


def test_cohort_table_should_set_the_cohorts_side_by_side_and_name_the_trigger() -> None:
    results = evaluate(cohort_kpis(), cohort_samples(heap_mib=36.4))
    rows = cohort_rows(results)
    assert rows[0][0] == "measure" and rows[0][1] == "prefetch: value"
    heap = next(r for r in rows if r[0].startswith("JS heap"))
    assert heap[1] == "36.40 MiB" and heap[2] == "WARN ROLLBACK" and heap[4] == "30.00 MiB"
    assert heap[6] == "PASS"
    lines = [rollback_line(r) for r in results if r.tripped]
    assert lines == [
        "ROLLBACK: memory > 30 MB sustained (prefetch cohort, 36.40 MiB, threshold 30.00 MiB)"
    ]
    assert not cohort_rows(evaluate(cohort_kpis(), [], tests={}))  # no rollout run: no table


def test_gate_json_should_list_the_rollbacks(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    metrics = {"schema": 1, "runId": "r", "samples": cohort_samples(2.5, errors=13)}
    (run / "metrics.json").write_text(json.dumps(metrics))
    outcome = run_gate(run, KPIS)
    gate = json.loads((run / "gate.json").read_text())
    assert gate["rollback"] == [
        "ROLLBACK: error rate > 2 % (legacy cohort, 50.00 %, threshold 2.00 %)"
    ]
    assert [r.id for r in outcome.rollbacks] == ["cohort_legacy_error_rate"]


# -- a run under several conditions -------------------------------------------------------
def test_each_kpi_should_be_judged_per_conditions_and_set_side_by_side(tmp_path: Path) -> None:
    """A run's pass under other conditions (RUN/passes/<name>) is judged on its own samples:
    a KPI fast in the lab and slow under mobile-4g passes in one column and fails in the
    other, and the verdict is the worse."""
    from e2e.gate.conditions import pass_dir, side_by_side_rows

    def run(path: Path, name: str, values: list[float]) -> None:
        path.mkdir(parents=True)
        body = {
            "schema": 1,
            "runId": path.name,
            "environment": {"conditions": {"name": name}},
            "tests": {
                "e2e/t.py::t": {
                    "outcome": "passed",
                    "measures": ["m"],
                    "tags": {"conditions": name},
                }
            },
            "outcomes": {"e2e/t.py::t": "passed"},
            "samples": [sample("m", v, conditions=name) for v in values],
        }
        (path / "metrics.json").write_text(json.dumps(body))

    run(tmp_path / "run", "lab", [10.0] * 30)
    run(pass_dir(tmp_path / "run", "mobile-4g,tokyo"), "mobile-4g,tokyo", [2000.0] * 30)
    kpis = tmp_path / "kpis.json"
    one = {"id": "k", "title": "k", "metric": "m", "statistic": "p95", "unit": "ms"}
    kpis.write_text(json.dumps({"kpis": [one | {"target": 100, "fail": 1000, "minSamples": 20}]}))
    outcome = run_gate(tmp_path / "run", kpis)
    levels = {(r.id, r.conditions): r.level for r in outcome.results}
    assert levels == {("k", "lab"): "pass", ("k", "mobile-4g,tokyo"): "fail"}, levels
    assert outcome.verdict == "fail", outcome.verdict
    rows = side_by_side_rows(outcome.results)
    assert rows[0][1:4] == ("lab: value", "level", "n"), rows[0]
    assert rows[1][2] == "PASS" and rows[1][5] == "FAIL", rows[1]
    prom = (tmp_path / "run" / "metrics.prom").read_text()
    assert 'conditions="mobile-4g,tokyo"' in prom, prom[:400]
    assert "Conditions, side by side" in outcome.report_path.read_text()
