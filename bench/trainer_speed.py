"""Trainer speed against the course-style reference, BLAS on one thread (a benchmark, not a test).

    .venv/bin/python bench/trainer_speed.py [--repeat 3] [--quick]
    .venv/bin/python bench/trainer_speed.py --breakdown [--repeat 10]

Jobs:

- seed: the seed's job (moons 300, layers 5,2, lr 0.0007, mini-batches of 64, 10000 epochs) with gd,
  momentum and adam;
- wide: 12288 features × 1000 examples from ``np.random.default_rng(0)`` (uniform features, then 0/1
  labels from the same generator), layers 20,7,5, adam, 20 epochs, mini-batches of 64.

Each run is timed end to end (initialisation, per-epoch shuffles, every step, and the training
accuracy, which ``train`` returns and the reference computes with its own ``predict``); the reference
(``tests/trainer/reference.py``, loaded by path) and the trainer alternate, and the table shows the
median of ``--repeat`` runs of each. Targets: trainer/reference <= 0.30 on the seed job, <= 0.45 on
the wide job. The table is Markdown, ready for ``docs/benchmarks.md``.

``--breakdown`` times the phases of the wide job's steps instead (the gather of a mini-batch's rows, the
forward and backward passes, the Adam update; then the set-up and the final accuracy), with the trainer's
own pieces in the trainer's loop order, over one epoch's full mini-batches per repeat.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy is imported, so BLAS starts with one thread

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402

from trainer.backprop import Backprop  # noqa: E402
from trainer.batches import examples_as_rows  # noqa: E402
from trainer.config import OptimizerConfig, TrainConfig  # noqa: E402
from trainer.data import make_moons  # noqa: E402
from trainer.network import accuracy, initialize_parameters, layer_sizes, pack, unpack  # noqa: E402
from trainer.optimizers import make_optimizer  # noqa: E402
from trainer.train import train  # noqa: E402

SEED_TARGET = 0.30
WIDE_TARGET = 0.45


def load_reference():
    """``tests/trainer/reference.py`` as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "course_reference", ROOT / "tests" / "trainer" / "reference.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class Job:
    label: str
    X: np.ndarray
    Y: np.ndarray
    config: TrainConfig
    target: float

    @property
    def steps(self) -> int:
        m = self.X.shape[1]
        batch = self.config.mini_batch_size or m
        return self.config.epochs * math.ceil(m / batch)


@dataclass(frozen=True)
class Row:
    job: Job
    reference_seconds: float
    trainer_seconds: float
    reference_accuracy: float
    trainer_accuracy: float

    @property
    def ratio(self) -> float:
        return self.trainer_seconds / self.reference_seconds


def wide_data() -> tuple[np.ndarray, np.ndarray]:
    """12288 uniform features × 1000 examples and 0/1 labels, all from ``default_rng(0)``."""
    rng = np.random.default_rng(0)
    X = rng.random((12288, 1000))
    Y = rng.integers(0, 2, size=(1, 1000)).astype(np.float64)
    return X, Y


def jobs(quick: bool) -> list[Job]:
    seed_epochs, wide_epochs = (1000, 3) if quick else (10000, 20)
    X, Y = make_moons()
    seed_jobs = [
        Job(name, X, Y, TrainConfig(optimizer=OptimizerConfig(name=name), epochs=seed_epochs), SEED_TARGET)
        for name in ("gd", "momentum", "adam")
    ]
    Xw, Yw = wide_data()
    wide = TrainConfig(layers=(20, 7, 5), optimizer=OptimizerConfig(name="adam"), epochs=wide_epochs)
    return [*seed_jobs, Job("adam (wide)", Xw, Yw, wide, WIDE_TARGET)]


def measure(job: Job, reference, repeat: int) -> Row:
    """Median wall time of ``repeat`` alternating runs of the reference and the trainer, after a warm-up."""
    warm_up = replace(job.config, epochs=2)
    reference.model(job.X, job.Y, warm_up)
    train(job.X, job.Y, warm_up)
    reference_times, trainer_times = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        parameters, _ = reference.model(job.X, job.Y, job.config)
        reference_accuracy = reference.accuracy(job.X, job.Y, parameters)
        reference_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        result = train(job.X, job.Y, job.config)
        trainer_times.append(time.perf_counter() - start)
    return Row(
        job,
        statistics.median(reference_times),
        statistics.median(trainer_times),
        reference_accuracy,
        result.accuracy,
    )


def breakdown(job: Job, repeat: int) -> str:
    """The wide job's step in phases, median ms per step over ``repeat`` epochs, as a Markdown table."""
    config, (n_features, m) = job.config, job.X.shape
    batch = config.mini_batch_size
    inputs = examples_as_rows(job.X)  # the first call also pays for fresh pages; the table shows later ones
    transposes = []
    for _ in range(3):
        started = time.perf_counter()
        inputs = examples_as_rows(job.X)
        transposes.append(time.perf_counter() - started)
    sizes = layer_sizes(n_features, config.layers)
    parameters = pack(initialize_parameters(sizes, config.init_seed), sizes)
    gradient = np.zeros_like(parameters)
    backprop = Backprop(sizes, parameters, gradient, batch)
    optimizer = make_optimizer(config.optimizer)
    # The trainer's private path: the backward pass writes _gain(lr) * g, _update_scaled takes it.
    state, gain = optimizer.init(parameters.size), optimizer._gain(config.optimizer.learning_rate)
    batch_inputs, signs = np.empty((batch, n_features + 1)), (1 - 2 * job.Y)[:, :batch]
    phases = {"gather": [], "forward and backward": [], "update": []}
    for epoch in range(repeat):
        totals = dict.fromkeys(phases, 0.0)
        permutation = np.random.RandomState(config.seed + epoch).permutation(m)
        steps = m // batch
        for step in range(steps):
            t0 = time.perf_counter()
            np.take(
                inputs, permutation[step * batch : (step + 1) * batch], axis=0, out=batch_inputs, mode="clip"
            )
            t1 = time.perf_counter()
            backprop.gradient(batch_inputs, signs, None, gain)
            t2 = time.perf_counter()
            optimizer._update_scaled(
                parameters, gradient, state, epoch * steps + step + 1, config.optimizer.learning_rate
            )
            t3 = time.perf_counter()
            for name, seconds in zip(phases, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                totals[name] += seconds / steps
        for name in phases:
            phases[name].append(totals[name])
    started = time.perf_counter()
    accuracy(unpack(parameters, sizes), job.X, job.Y)
    final_accuracy = time.perf_counter() - started
    lines = ["| phase | ms |", "|---|--:|"]
    lines += [
        f"| {name}, per step | {1e3 * statistics.median(times):.2f} |" for name, times in phases.items()
    ]
    lines.append(f"| examples as rows (set-up, once) | {1e3 * statistics.median(transposes):.1f} |")
    lines.append(f"| final accuracy (once) | {1e3 * final_accuracy:.1f} |")
    return "\n".join(lines)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    blas = [
        f"{info['internal_api']} {info.get('version') or ''} ({info.get('threading_layer', '?')} threading, "
        f"{info['num_threads']} thread)".replace("  ", " ")
        for info in threadpool_info()
        if info["user_api"] == "blas"
    ]
    return (
        f"{os.cpu_count()} CPUs ({cpu_model()}), Python "
        f"{platform.python_version()}, NumPy {np.__version__}, BLAS: {', '.join(blas) or 'none found'}"
    )


def table(rows: list[Row], repeat: int) -> str:
    lines = [
        "| job | optimizer | steps | reference s | trainer s | reference µs/step | trainer µs/step "
        "| trainer/reference | target | reference accuracy | trainer accuracy |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for row in rows:
        job = row.job
        steps = job.steps
        layers = ",".join(map(str, job.config.layers))
        shape = f"{job.X.shape[0]}×{job.X.shape[1]}, {layers}, {job.config.epochs} ep"
        verdict = "ok" if row.ratio <= job.target else "MISSED"
        lines.append(
            f"| {shape} | {job.config.optimizer.name} | {steps} | {row.reference_seconds:.3f} "
            f"| {row.trainer_seconds:.3f} | {1e6 * row.reference_seconds / steps:.1f} "
            f"| {1e6 * row.trainer_seconds / steps:.1f} | {row.ratio:.3f} | ≤ {job.target:.2f} {verdict} "
            f"| {row.reference_accuracy:.4f} | {row.trainer_accuracy:.4f} |"
        )
    lines.append("")
    lines.append(f"Median of {repeat} runs each, BLAS limited to 1 thread, mini-batches of 64.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is shown")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1000 seed epochs, 3 wide epochs")
    parser.add_argument("--breakdown", action="store_true", help="the wide job's step in phases instead")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    reference = load_reference()
    with threadpool_limits(limits=1):
        if args.breakdown:
            print(f"Machine: {machine()}\n")
            print(breakdown(jobs(args.quick)[-1], args.repeat))
            return
        print(machine(), file=sys.stderr)
        rows = []
        for job in jobs(args.quick):
            rows.append(measure(job, reference, args.repeat))
            print(f"measured {job.label}", file=sys.stderr, flush=True)
        print(f"Machine: {machine()}\n")
        print(table(rows, args.repeat))


if __name__ == "__main__":
    main()
