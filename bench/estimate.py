"""The time estimate against the trainer's measured time, BLAS on one thread (a benchmark, not a test).

    .venv/bin/python bench/estimate.py [--repeat 3] [--quick]

For each job shape: the measured seconds of one whole run (``Training.run``: shuffles, every step, the
final accuracy) and of its mean step, beside ``trainer.estimate``'s ``seconds`` and ``step_seconds``.
``estimate/measured`` must stay above 1 (the estimate refuses and limits jobs, so it must not be
optimistic) and should stay within about 10 (else it refuses jobs a worker would finish in time). The
table shows the median of ``--repeat`` runs; the load average is printed with it, since the machine may
be shared.
"""

from __future__ import annotations

import os

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_variable] = "1"  # before NumPy is imported, so BLAS starts with one thread

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's packages, ahead of an installed copy

from threadpoolctl import threadpool_limits  # noqa: E402

from trainer import OptimizerConfig, TrainConfig, Training, estimate, load_builtin  # noqa: E402

SHAPES: list[tuple[str, int, TrainConfig]] = [
    ("seed [5,2] b64", 300, TrainConfig(epochs=300)),
    ("[64,64] b64 adam", 20_000, TrainConfig(layers=(64, 64), epochs=1)),
    ("[512] full", 40_000, TrainConfig(layers=(512,), mini_batch_size=None, epochs=3)),
    ("[1024,1024] b256", 5_000, TrainConfig(layers=(1024, 1024), mini_batch_size=256, epochs=1)),
    ("[1024,1024] full", 2_000, TrainConfig(layers=(1024, 1024), mini_batch_size=None, epochs=3)),
    ("[256,128] b3000 adam", 50_000, TrainConfig(layers=(256, 128), mini_batch_size=3000, epochs=2)),
    ("[20,7,5] full 1M", 1_000_000, TrainConfig(layers=(20, 7, 5), mini_batch_size=None, epochs=2)),
]
QUICK = SHAPES[:2]


def measure(n_examples: int, config: TrainConfig) -> tuple[float, float]:
    """Seconds of one whole run and of its mean step."""
    X, Y = load_builtin("moons", n_samples=n_examples)
    training = Training(X, Y, config)
    started = time.perf_counter()
    result = training.run()
    seconds = time.perf_counter() - started
    return seconds, seconds / result.steps


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the small shapes, for a smoke run")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    print("| job | examples | measured s | estimated s | estimate/measured | measured step s | "
          "estimated step s | step estimate/measured |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with threadpool_limits(1):
        for name, m, config in QUICK if args.quick else SHAPES:
            config = TrainConfig(**{**vars(config), "optimizer": OptimizerConfig(name="adam")})
            runs = [measure(m, config) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            step = statistics.median(r[1] for r in runs)
            guess = estimate(config, 2, m)
            print(
                f"| {name} | {m} | {seconds:.3f} | {guess.seconds:.3f} | {guess.seconds / seconds:.1f} | "
                f"{step:.5f} | {guess.step_seconds:.5f} | {guess.step_seconds / step:.1f} |"
            )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
