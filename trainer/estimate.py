"""A run's size before it starts, so that a service can refuse oversized jobs and size time limits.

Memory is counted in float64 values (8 bytes each) from the arrays the trainer allocates, for ``m``
examples of ``n`` features, ``m_t`` of them trained on (``m_v`` held out for validation), hidden layers
``h_1 … h_k``, ``P`` parameters per member, ``S`` optimizer slots and ``B`` examples per mini-batch
(``B'``, the last, smaller mini-batch of an epoch, if any)::

    data        (n + 1) m × (2 with a validation split, else 1)    X and Y as loaded (and split)
    rows        (n + 1) m_t + 6 m_t + (n + 1) × shuffled           [X.T | 1], labels, signs, permutation
    vectors     per member P (3 + S)                               parameters, gradient, scratch, slots;
                and, stacked, P (2 + S) more                       a group's scratch, an ended member's copy
    passes      per member and mini-batch size b in (B, B'):       c = 4 solo (Z, A, slope, delta),
                b (1 + Σ_l (c h_l + 1))                            3 stacked (Z and delta share a buffer)
    first       2 × members × (n + 1) h_1, stacked only            the first layers gathered side by side
    then the larger of
    evaluation  m_t × max_l (2 h_(l-1) [l > 1] + 2 h_l)           the forward pass of ``accuracy`` on every
                + P (1 + S) per member                             training example (h_(k+1) = 1), beside
                                                                   a checkpoint not yet written
    checkpoint  4 P (1 + S) per member                             a checkpoint's copy, its .npz being
                                                                   written, its bytes, and the one before

``shuffled`` is ``m_t`` when the rows fit in ``trainer.batches.GATHER_PER_BATCH_BYTES`` (the epoch is
shuffled whole) and ``B + B'`` otherwise (each mini-batch is gathered). The evaluation runs after the
last step with the passes' buffers still allocated, so it adds to them; a checkpoint is taken between
epochs and dropped once a worker's writer thread stored it, so only its bytes can still be there during
the evaluation. Measured against the peak resident set of a worker running the job
(``tests/worker/test_memory_estimate.py``), this is within 25 % (docs/benchmarks.md: within 7 %).

Time, in seconds, is a pessimistic model of the same loop::

    step     = STEP_SECONDS + flops_step / FLOPS_PER_SECOND + values_step × VALUE_SECONDS
    flops_step  = 6 P B × members                  two products forward, four backward, per parameter
    values_step = B (n + 1) + B Σ_l (h_l + 1) × members × 8 + P × members × (6 + 2 S)
                                                   the gather, the elementwise passes over the
                                                   activations, the optimizer's passes over the vectors
    seconds  = steps × (the step of a full mini-batch)
               + epochs × m_t (n + 8) × VALUE_SECONDS      the epoch's shuffle
               + 2 P m × members / FLOPS_PER_SECOND        the final evaluation

``step_seconds`` is the estimate of one full mini-batch's step: the longest stretch in which a run cannot
look at its cancel flag, its checkpoint or its worker's shutdown. ``values_step`` counts each activation
value once per pass over it (about eight a step). The constants are several times slower than what
``bench/estimate.py`` measures on one BLAS thread, so that the estimate is pessimistic on a loaded
machine too: a step's Python at ``STEP_SECONDS`` (measured 60–150 µs), BLAS at ``FLOPS_PER_SECOND``
(measured 15–20 GFLOP/s on wide layers), a pass over a value at ``VALUE_SECONDS`` (measured 1.3–2.7 ns
on arrays larger than the cache, up to 17 ns when the buffers are first touched). On the 2-core machine of
docs/benchmarks.md, shared (load average 3.6–4.7), the estimate was 1.0–3.8 times the measured time; the
full-batch, memory-bound shapes are the closest to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trainer.batches import GATHER_PER_BATCH_BYTES
from trainer.config import TrainConfig
from trainer.network import layer_sizes, parameter_count
from trainer.optimizers import make_optimizer
from trainer.stacking import check_stack

STEP_SECONDS = 2e-4
FLOPS_PER_SECOND = 4e9
VALUE_SECONDS = 1e-8
VALUE_BYTES = 8


@dataclass(frozen=True)
class RunEstimate:
    """A run's size, known before it starts: parameter count, optimizer steps, floating-point
    operations (about 6 per parameter per example per epoch), peak memory in bytes, and the pessimistic
    time of the whole run and of its longest step, in seconds."""

    parameters: int
    steps: int
    flops: float
    memory_bytes: int
    seconds: float
    step_seconds: float


def estimate(config: TrainConfig, n_features: int, n_examples: int) -> RunEstimate:
    """The size of a run on ``n_examples`` examples of ``n_features`` features, before it starts."""
    return estimate_stack([config], n_features, n_examples)


def estimate_stack(configs: Sequence[TrainConfig], n_features: int, n_examples: int) -> RunEstimate:
    """The size of a stack of ``configs`` (``trainer.stacked``; one config is a solo run) on ``n_examples``
    examples of ``n_features`` features, before it starts (the formulas: the module's docstring).

    The members take their steps together, so ``steps`` is one member's; ``parameters``, ``flops``,
    memory and time are the members'. Raises ``ConfigError`` when the configs cannot share a stack
    (``trainer.stacking.check_stack``).
    """
    check_stack(configs)
    shared, k = configs[0], len(configs)
    n, hidden = n_features, shared.layers
    sizes = layer_sizes(n, hidden)
    m_v = round(shared.validation_fraction * n_examples)
    m_t = n_examples - m_v
    batch = min(shared.mini_batch_size or m_t, m_t) or 1
    last = m_t % batch
    per_epoch = math.ceil(m_t / batch)
    steps = shared.epochs * per_epoch
    n_params = parameter_count(sizes)
    slots = [len(make_optimizer(c.optimizer).slots) for c in configs]

    data = (n + 1) * n_examples * (2 if m_v else 1)
    whole = (n + 1) * m_t * VALUE_BYTES <= GATHER_PER_BATCH_BYTES
    rows = (n + 1) * m_t + 6 * m_t + (n + 1) * (m_t if whole else batch + last)
    vectors = sum(n_params * (3 + s) for s in slots)
    if k > 1:
        vectors += sum(n_params * (2 + s) for s in slots)
    state = sum(n_params * (1 + s) for s in slots)
    per_unit = 4 if k == 1 else 3
    passes = k * (batch + last) * (1 + sum(per_unit * h + 1 for h in hidden))
    first = 2 * k * (n + 1) * hidden[0] if k > 1 else 0
    outs = [*hidden, 1]
    evaluation = m_t * max(2 * outs[i] + (2 * outs[i - 1] if i else 0) for i in range(len(outs)))
    memory = VALUE_BYTES * (data + rows + vectors + passes + first + max(evaluation + state, 4 * state))

    flops = 6.0 * k * n_params * m_t * shared.epochs
    step_values = batch * (n + 1) + 8 * k * batch * sum(h + 1 for h in hidden)
    step_values += sum(n_params * (6 + 2 * s) for s in slots)
    step_seconds = STEP_SECONDS + 6.0 * k * n_params * batch / FLOPS_PER_SECOND + step_values * VALUE_SECONDS
    seconds = (
        steps * step_seconds
        + shared.epochs * m_t * (n + 8) * VALUE_SECONDS
        + 2.0 * k * n_params * n_examples / FLOPS_PER_SECOND
    )
    return RunEstimate(k * n_params, steps, flops, memory, seconds, step_seconds)
