"""Check the torch.optim mappings of docs/optimizers.md numerically: one table, one row per mapping.

torch is not a dependency of descent. Run this from a scratch venv that has torch and NumPy, with the
worktree on the path (the trainer needs only NumPy)::

    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch numpy threadpoolctl
    PYTHONPATH=. /tmp/torch-venv/bin/python bench/torch_mappings.py

Each row feeds the same gradients (random, float64, over ``--steps`` steps, a fresh one each step) to
descent's optimizer and to the torch.optim it maps to, and prints the largest difference between the two
parameter vectors over all steps, relative to the parameters' size. A decay row runs descent's per-epoch
rate against ``torch.optim.lr_scheduler.LambdaLR`` (one epoch a step).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/trainer.py is beside this file: keep its folder off sys.path so `import trainer` is the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from trainer.config import DecayConfig, OptimizerConfig  # noqa: E402
from trainer.optimizers import make_optimizer  # noqa: E402
from trainer.schedules import learning_rate_for_epoch  # noqa: E402

LR, BETA, BETA1, BETA2, EPS, WD = 0.01, 0.9, 0.9, 0.999, 1e-8, 0.01


def mappings() -> list[tuple[str, OptimizerConfig, str, object, DecayConfig | None]]:
    """(name, descent's optimizer, the torch expression, a torch.optim factory, decay)."""
    outside = {"epsilon_inside_sqrt": False}
    return [
        (
            "gd",
            OptimizerConfig(name="gd", learning_rate=LR),
            "SGD(lr)",
            lambda p: torch.optim.SGD(p, lr=LR),
            None,
        ),
        (
            "momentum",
            OptimizerConfig(name="momentum", learning_rate=LR, beta=BETA),
            "SGD(lr·(1−β), momentum=β)",
            lambda p: torch.optim.SGD(p, lr=LR * (1 - BETA), momentum=BETA),
            None,
        ),
        (
            "nesterov",
            OptimizerConfig(name="nesterov", learning_rate=LR, beta=BETA),
            "SGD(lr·(1−β), momentum=β, nesterov=True)",
            lambda p: torch.optim.SGD(p, lr=LR * (1 - BETA), momentum=BETA, nesterov=True),
            None,
        ),
        (
            "momentum (the guess dampening=β)",
            OptimizerConfig(name="momentum", learning_rate=LR, beta=BETA),
            "SGD(lr, momentum=β, dampening=β)",
            lambda p: torch.optim.SGD(p, lr=LR, momentum=BETA, dampening=BETA),
            None,
        ),
        (
            "rmsprop, ε outside",
            OptimizerConfig(name="rmsprop", learning_rate=LR, beta2=BETA2, epsilon=EPS, **outside),
            "RMSprop(lr, alpha=β2, eps=ε)",
            lambda p: torch.optim.RMSprop(p, lr=LR, alpha=BETA2, eps=EPS),
            None,
        ),
        (
            "adam, ε outside",
            OptimizerConfig(name="adam", learning_rate=LR, beta1=BETA1, beta2=BETA2, epsilon=EPS, **outside),
            "Adam(lr, betas=(β1, β2), eps=ε)",
            lambda p: torch.optim.Adam(p, lr=LR, betas=(BETA1, BETA2), eps=EPS),
            None,
        ),
        (
            "adamw, ε outside",
            OptimizerConfig(
                name="adamw",
                learning_rate=LR,
                beta1=BETA1,
                beta2=BETA2,
                epsilon=EPS,
                weight_decay=WD,
                **outside,
            ),
            "AdamW(lr, betas=(β1, β2), eps=ε, weight_decay=wd)",
            lambda p: torch.optim.AdamW(p, lr=LR, betas=(BETA1, BETA2), eps=EPS, weight_decay=WD),
            None,
        ),
        (
            "adam, ε inside (the course's)",
            OptimizerConfig(name="adam", learning_rate=LR, beta1=BETA1, beta2=BETA2, epsilon=EPS),
            "Adam(lr, betas=(β1, β2), eps=ε)",
            lambda p: torch.optim.Adam(p, lr=LR, betas=(BETA1, BETA2), eps=EPS),
            None,
        ),
        (
            "gd, inverse_time decay",
            OptimizerConfig(name="gd", learning_rate=LR),
            "SGD(lr) + LambdaLR(λ e: 1/(1 + rate·max(e−1, 0)))",
            lambda p: torch.optim.SGD(p, lr=LR),
            DecayConfig(name="inverse_time", decay_rate=0.3),
        ),
        (
            "gd, fixed_interval decay",
            OptimizerConfig(name="gd", learning_rate=LR),
            "SGD(lr) + LambdaLR(λ e: 1/(1 + rate·⌊max(e−1, 0)/interval⌋))",
            lambda p: torch.optim.SGD(p, lr=LR),
            DecayConfig(name="fixed_interval", decay_rate=0.3, time_interval=4),
        ),
    ]


def torch_lambda(decay: DecayConfig):
    """The LambdaLR factor of epoch ``e`` (torch counts from 0 and steps the scheduler after each epoch)."""
    if decay.name == "inverse_time":
        return lambda e: 1 / (1 + decay.decay_rate * max(e - 1, 0))
    return lambda e: 1 / (1 + decay.decay_rate * (max(e - 1, 0) // decay.time_interval))


def largest_difference(
    config: OptimizerConfig, factory, decay: DecayConfig | None, steps: int, size: int
) -> float:
    rng = np.random.default_rng(0)
    start = rng.normal(size=size)
    ours, theirs = start.copy(), torch.tensor(start.copy(), requires_grad=True)
    optimizer, reference = make_optimizer(config), factory([theirs])
    scheduler = None if decay is None else torch.optim.lr_scheduler.LambdaLR(reference, torch_lambda(decay))
    state = optimizer.init(size)
    worst = 0.0
    for step in range(1, steps + 1):
        grad = rng.normal(size=size)
        lr = (
            config.learning_rate
            if decay is None
            else learning_rate_for_epoch(config.learning_rate, decay, step)
        )
        optimizer.update(ours, grad * optimizer.gain(lr), state, step, lr)
        theirs.grad = torch.tensor(grad)
        reference.step()
        if scheduler is not None:
            scheduler.step()
        worst = max(worst, float(np.max(np.abs(ours - theirs.detach().numpy())) / np.max(np.abs(ours))))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--size", type=int, default=1000)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {args.steps} steps of {args.size} parameters, float64\n")
    print("| descent | torch.optim | largest relative difference |")
    print("|---|---|---|")
    for name, config, expression, factory, decay in mappings():
        difference = largest_difference(config, factory, decay, args.steps, args.size)
        print(f"| {name} | `{expression}` | {difference:.1e} |")


if __name__ == "__main__":
    main()
