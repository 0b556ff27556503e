"""The benchmarks still run: ``bench/trainer_speed.py``'s smoke mode prints the table with both sides'
accuracies equal, ``--breakdown`` prints every phase, and ``bench/sweep.py``'s smoke mode prints every
measure with stacked members equal to their solo runs. Speed itself is measured by running the
benchmarks, not here."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_bench(*args: str, script: str = "trainer_speed.py") -> str:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return result.stdout


def table_rows(output: str) -> list[list[str]]:
    """The Markdown table's data rows, split into cells."""
    lines = [line for line in output.splitlines() if line.startswith("| ") and "---" not in line]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[1:]]


def test_quick_run_prints_every_job_with_equal_accuracies() -> None:
    rows = table_rows(run_bench("--quick", "--repeat", "1"))
    assert [row[1] for row in rows] == ["gd", "momentum", "adam", "adam"]
    for row in rows:
        reference_seconds, trainer_seconds, ratio = float(row[3]), float(row[4]), float(row[7])
        assert reference_seconds > 0 and trainer_seconds > 0
        assert abs(ratio - trainer_seconds / reference_seconds) < 0.01
        assert row[9] == row[10], f"reference and trainer accuracies differ: {row}"


def test_breakdown_prints_every_phase() -> None:
    rows = table_rows(run_bench("--breakdown", "--quick", "--repeat", "1"))
    assert [row[0] for row in rows] == [
        "gather, per step",
        "forward and backward, per step",
        "update, per step",
        "examples as rows (set-up, once)",
        "final accuracy (once)",
    ]
    assert all(float(row[1]) > 0 for row in rows)


def test_sweep_quick_run_prints_every_measure_with_members_equal_to_their_solo_runs() -> None:
    output = run_bench("--quick", "--repeat", "1", "--members", "8", script="sweep.py")
    rows = table_rows(output)
    assert [row[0] for row in rows] == [
        "one solo run (the seed's Adam job)",
        "stacked sweep, 8 members",
        "8 solo runs, one after another",
        "stacked comparison, gd/momentum/adam",
        "3 solo runs, gd/momentum/adam",
    ]
    assert all(float(row[2]) > 0 and float(row[4]) > 0 for row in rows)
    assert float(rows[1][7]) <= 1e-10 and float(rows[3][7]) <= 1e-10


def test_api_bench_prints_every_path_in_both_phases() -> None:
    output = run_bench("--seconds", "1", "--rounds", "1", "--connections", "4", script="api.py")
    rows = table_rows(output)
    paths = ["bare", "/healthz", "/jobs/{id}`", "/costs", "/jobs?limit=20"]
    assert [row[0] for row in rows] == ["idle"] * 5 + ["training"] * 5
    for phase in (rows[:5], rows[5:]):
        assert all(path in row[1] for path, row in zip(paths, phase, strict=True))
        assert phase[0][4] == "1.00"  # bare against itself
        assert all(float(row[2].replace(",", "")) > 0 and float(row[4]) > 0 for row in phase)
    assert "wrk" in output.splitlines()[0] or "in-Python" in output.splitlines()[0]


def test_the_estimate_benchmark_prints_every_quick_shape() -> None:
    rows = table_rows(run_bench("--quick", "--repeat", "1", script="estimate.py"))
    assert [row[0] for row in rows] == ["seed [5,2] b64", "[64,64] b64 adam"]
    for row in rows:
        measured, estimated, ratio = float(row[2]), float(row[3]), float(row[4])
        assert measured > 0 and estimated > 0
        assert abs(ratio - estimated / measured) < 0.06 * ratio + 0.05
