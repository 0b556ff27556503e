"""Stacked training against solo runs, BLAS on one thread (a benchmark, not a test).

    .venv/bin/python bench/sweep.py [--repeat 5] [--solo-sweeps 1] [--quick]

Jobs, all on the seed's data and net (moons 300, layers 5,2, mini-batches of 64, 10000 epochs):

- sweep: the seed's Adam job at 64 learning rates log-spaced from 1e-4 to 1e-1 (``sweep_configs``),
  trained as one stack in this process (``trainer.StackedTraining``), against the same 64 configs
  trained one after another (``trainer.train``) and against one solo run of the seed's Adam job
  (learning rate 0.0007). Target: the stack takes at most 8 times one solo run.
- comparison: the course's gd, momentum and adam (``comparison_configs``) as one stack, against the
  three solo runs.

One solo run, the stacks and the three comparison runs alternate, ``--repeat`` rounds, and the table
shows medians and the ratios of medians, all from this run; the 64 solo runs (64 times longer than one)
are timed ``--solo-sweeps`` times. Every stacked member's parameters are compared with its solo run's.
Times are wall clock and, beside them, CPU time (the code is single-threaded, so CPU time is what the
wall time would be on an idle machine, less the slowdown from sharing caches). The target is on wall
time. The table is Markdown, ready for ``docs/benchmarks.md``. The same sweep through the HTTP service can
reuse ``sweep_configs`` (each config's optimizer is the spec's ``{"name": "adam", "learning_rate": lr}``;
every other field is the spec's default, the seed's job).
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy is imported, so BLAS starts with one thread

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, field, replace  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from bench.trainer_speed import machine  # noqa: E402
from trainer import OptimizerConfig, StackedTraining, TrainConfig, load_builtin, train  # noqa: E402

SWEEP_TARGET = 8.0


def sweep_configs(members: int = 64, epochs: int = 10000) -> list[TrainConfig]:
    """The seed's Adam job at ``members`` learning rates log-spaced from 1e-4 to 1e-1."""
    return [
        TrainConfig(optimizer=OptimizerConfig(name="adam", learning_rate=float(rate)), epochs=epochs)
        for rate in np.logspace(-4, -1, members)
    ]


def comparison_configs(epochs: int = 10000) -> list[TrainConfig]:
    """The course's comparison: the seed's job with gd, momentum and adam."""
    return [
        TrainConfig(optimizer=OptimizerConfig(name=name), epochs=epochs)
        for name in ("gd", "momentum", "adam")
    ]


@dataclass
class Timing:
    """Wall and CPU times of one measure's runs, in seconds."""

    label: str
    seconds: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu_seconds)


def timed(function: Callable[[], object], into: Timing) -> object:
    started, cpu_started = time.perf_counter(), time.process_time()
    result = function()
    into.cpu_seconds.append(time.process_time() - cpu_started)
    into.seconds.append(time.perf_counter() - started)
    return result


def worst_difference(stacked: list, solo: list) -> float:
    """The largest |stacked - solo| over every parameter of every member."""
    return max(
        float(np.max(np.abs(mine.parameters[name] - theirs.parameters[name])))
        for mine, theirs in zip(stacked, solo, strict=True)
        for name in theirs.parameters
    )


def measure(args: argparse.Namespace) -> str:
    X, Y = load_builtin("moons")
    epochs = 200 if args.quick else 10000
    one = TrainConfig(epochs=epochs)
    sweep, comparison = sweep_configs(args.members, epochs), comparison_configs(epochs)
    train(X, Y, replace(one, epochs=2))  # warm-up: imports, first allocations
    for configs in (sweep, comparison):
        StackedTraining(X, Y, [replace(c, epochs=2) for c in configs]).run()
    single = Timing("one solo run (the seed's Adam job)")
    stacked = Timing(f"stacked sweep, {args.members} members")
    solos = Timing(f"{args.members} solo runs, one after another")
    stacked_comparison = Timing("stacked comparison, gd/momentum/adam")
    solo_comparison = Timing("3 solo runs, gd/momentum/adam")
    for _ in range(args.repeat):
        timed(lambda: train(X, Y, one), single)
        sweep_results = timed(lambda: StackedTraining(X, Y, sweep).run(), stacked)
        comparison_results = timed(lambda: StackedTraining(X, Y, comparison).run(), stacked_comparison)
        comparison_solo = timed(lambda: [train(X, Y, c) for c in comparison], solo_comparison)
        print(f"round: {single.seconds[-1]:.2f} s solo, {stacked.seconds[-1]:.2f} s stacked", file=sys.stderr)
    for _ in range(args.solo_sweeps):
        sweep_solo = timed(lambda: [train(X, Y, c) for c in sweep], solos)
    accuracies = " / ".join(f"{r.accuracy:.4f}" for r in comparison_results)
    lines = [
        "| measure | runs | median s | × one solo run | median CPU s | × one solo run (CPU) | target "
        "| worst \\|stacked − solo\\| parameter |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    ratio = stacked.median / single.median
    verdict = "ok" if ratio <= SWEEP_TARGET else "MISSED"
    rows = [
        (single, "", ""),
        (stacked, f"≤ {SWEEP_TARGET:g} {verdict}", f"{worst_difference(sweep_results, sweep_solo):.1e}"),
        (solos, "", ""),
        (stacked_comparison, "", f"{worst_difference(comparison_results, comparison_solo):.1e}"),
        (solo_comparison, "", ""),
    ]
    for timing, target, difference in rows:
        wall = f"{timing.median:.3f} | {timing.median / single.median:.2f}"
        cpu = f"{timing.cpu_median:.3f} | {timing.cpu_median / single.cpu_median:.2f}"
        lines.append(f"| {timing.label} | {len(timing.seconds)} | {wall} | {cpu} | {target} | {difference} |")
    sweep_ratio = stacked.median / solos.median
    comparison_ratio = stacked_comparison.median / solo_comparison.median
    lines += [
        "",
        f"Stacked sweep / {args.members} solo runs: {sweep_ratio:.3f}; stacked comparison / 3 solo runs: "
        f"{comparison_ratio:.3f}. Stacked comparison accuracies (gd / momentum / adam): {accuracies}. "
        f"{epochs} epochs, BLAS limited to 1 thread.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the medians are shown")
    parser.add_argument(
        "--solo-sweeps", type=int, default=1, help="times the solo runs of the sweep are timed"
    )
    parser.add_argument("--members", type=int, default=64, help="learning rates in the sweep")
    parser.add_argument("--quick", action="store_true", help="smoke run: 200 epochs instead of 10000")
    args = parser.parse_args(argv)
    if min(args.repeat, args.solo_sweeps, args.members) < 1:
        parser.error("--repeat, --solo-sweeps and --members must be at least 1")
    with threadpool_limits(limits=1):
        print(f"Machine: {machine()}; load average {os.getloadavg()[0]:.2f} before\n")
        print(measure(args))


if __name__ == "__main__":
    main()
