"""The suite's own arithmetic and replay helpers, without a browser."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from e2e.harness.catalogue import CATALOGUE, explain
from e2e.harness.metrics import MetricsRecorder, TestMetrics, UndeclaredMetric
from e2e.harness.navigation import jump_sequence, lasting_growth_per, slope_per
from e2e.harness.options import ROOT
from e2e.studies.proof import MATRIX


def test_jump_sequence_should_replay_from_its_seed() -> None:
    first = jump_sequence(random.Random("483:test_x"), 17, 0, 10)
    again = jump_sequence(random.Random("483:test_x"), 17, 0, 10)
    other = jump_sequence(random.Random("484:test_x"), 17, 0, 10)
    assert first == again
    assert first != other
    assert all(a != b for a, b in zip([0, *first], first, strict=False)), "a jump must move"
    assert all(0 <= p < 17 for p in first)


def test_slope_should_be_growth_per_hundred() -> None:
    xs = [0.0, 32.0, 64.0, 96.0]
    assert slope_per(xs, [1000.0 + 10 * x for x in xs], 100) == pytest.approx(1000.0)
    assert slope_per(xs, [5.0, 5.0, 5.0, 5.0], 100) == 0.0


def test_lasting_growth_should_see_a_climb_and_not_a_count_that_wanders() -> None:
    xs = [32.0 * i for i in range(8)]
    # read in healthy runs: the least-squares slope says +0.2 and +1.4 per 100
    for wander in (
        [76.0, 76.0, 77.0, 76.0, 77.0, 79.0, 76.0, 77.0],
        [79, 75, 75, 76, 78, 77, 77, 78],
    ):
        assert lasting_growth_per(xs, [float(y) for y in wander], 100) == 0.0
    one_per_sweep = [75.0 + i for i in range(8)]
    assert lasting_growth_per(xs, one_per_sweep, 100) == pytest.approx(100 * 5 / 192)
    one_per_navigation = [75.0 + x for x in xs]
    assert lasting_growth_per(xs, one_per_navigation, 100) > 50
    assert lasting_growth_per([0.0], [1.0], 100) == 0.0


def test_explanation_should_name_each_defect_and_the_evidence() -> None:
    message = explain("period 3", "period 2", ("F2", "F6"), "artifacts/run/x")
    assert "Expected period 3; saw period 2" in message
    assert f"F2: {CATALOGUE['F2']}" in message
    assert f"F6: {CATALOGUE['F6']}" in message
    assert message.endswith("Evidence: artifacts/run/x")


def test_proof_matrix_should_cover_the_whole_catalogue() -> None:
    assert set(MATRIX) == set(CATALOGUE)
    assert all(row.tests for row in MATRIX.values())


def test_a_test_should_not_record_a_metric_it_does_not_declare() -> None:
    recorder = MetricsRecorder(run_id="r")
    measure = TestMetrics(recorder, "t", frozenset({"sync.propagation_ms"}))
    measure("sync.propagation_ms", 12.0, "ms")
    with pytest.raises(UndeclaredMetric, match=r"writes\.lost"):
        measure("writes.lost", 0, "count")
    assert [s.metric for s in recorder.samples] == ["sync.propagation_ms"]


def test_bad_option_should_end_the_run_at_once_with_a_usage_error() -> None:
    for bad in (["--defect", "F99"], ["--periods", "0"], ["--outage-seconds", "soon"]):
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "e2e", "--collect-only", "-q", *bad],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 4, (bad, done.stdout, done.stderr)  # pytest's usage error
        assert f"argument {bad[0]}" in done.stderr, done.stderr


def test_fair_interval_should_hold_a_fair_draw_but_not_a_flag_read_backwards() -> None:
    from e2e.harness.rollout import FALSE_ALARM, binomial_cdf, fair_interval

    lo, hi = fair_interval(40, 10)
    assert (lo, hi) == (0, 11)
    assert 1 - binomial_cdf(hi, 40, 0.1) <= FALSE_ALARM / 2  # more than hi: rarer than 1/2000
    assert 1 - binomial_cdf(hi - 1, 40, 0.1) > FALSE_ALARM / 2
    assert not lo <= 36 <= hi  # 90 % in the new mode at a 10 % step (F31)
    assert fair_interval(40, 50) == (10, 30)
    assert fair_interval(40, 0) == (0, 0) and fair_interval(40, 100) == (40, 40)


def test_growth_exponent_should_tell_linear_from_faster_growth() -> None:
    """The gate's growth KPIs read this slope: a cost proportional to the staff is 1, one
    with a fixed part below 1, one per pair of members 2."""
    from e2e.studies.growth import exponent

    sizes = [18.0, 54.0, 180.0]
    linear = exponent([(n, 3.0 * n) for n in sizes])
    fixed_part = exponent([(n, 400.0 + n) for n in sizes])
    quadratic = exponent([(n, 0.01 * n * n) for n in sizes])
    assert abs(linear - 1) < 1e-9, linear
    assert fixed_part < 0.5, fixed_part
    assert abs(quadratic - 2) < 1e-9, quadratic


def _collected(*args: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "e2e", "-m", "core", "--collect-only", "-q", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, (args, done.stdout[-2000:], done.stderr[-2000:])
    return [line.split("::")[1].split("[")[0] for line in done.stdout.splitlines() if "::" in line]


def test_propagation_should_be_timed_alone_under_a_profile_and_beside_others_in_the_lab() -> None:
    """`quiet(shaped=True)`: the cross-tab tests run in the quiet part under a profile (their
    figure is the profile's network and CPU), after the tests that time the page, and in the
    busy part in the lab."""
    cross_tab = "test_edits_should_reach_every_other_tab_across_periods_and_modes"
    first_render = "test_initial_load_should_render_staff_and_record_timings"
    shaped = _collected("--part", "quiet", "--conditions", "mobile-4g,tokyo")
    lab_busy = _collected("--part", "busy", "--conditions", "lab")  # the lab's quiet: the rest
    assert {cross_tab, first_render} <= set(shaped), shaped
    # the page's own timings before the cross-tab tests' writes
    jumps = "test_rapid_random_jumps_should_end_on_the_last_requested_period"
    assert shaped.index(jumps) < shaped.index(cross_tab), shaped
    assert cross_tab in lab_busy and first_render not in lab_busy, sorted(lab_busy)
