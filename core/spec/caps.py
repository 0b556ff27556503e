"""The caps that depend on settings and on the data's shape, checked before a job is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import SpecRejected
from core.spec.datasets import InlineDataset
from core.spec.model import TrainingSpec
from trainer.estimate import RunEstimate, estimate

if TYPE_CHECKING:
    from core.config import Settings


def check_caps(spec: TrainingSpec, settings: Settings, n_features: int, n_examples: int) -> None:
    """Refuse a job over the configured caps; each refusal names the field and gives the cap.

    Checked: hidden layers ≤ ``max_layers``, every width ≤ ``max_width``, inline numbers ≤
    ``max_inline_values``, epochs × examples ≤ ``max_epoch_examples``, parameters (from
    ``trainer.estimate``) ≤ ``max_parameters``, a validation split that leaves training examples, then
    the run's estimate (:func:`check_run`).
    """
    if len(spec.layers) > settings.max_layers:
        raise SpecRejected(
            ("layers",), f"{len(spec.layers)} hidden layers is over the cap of {settings.max_layers}"
        )
    for i, width in enumerate(spec.layers):
        if width > settings.max_width:
            raise SpecRejected(("layers", i), f"width {width} is over the cap of {settings.max_width}")
    if isinstance(spec.dataset, InlineDataset):
        values = n_features * n_examples + n_examples
        if values > settings.max_inline_values:
            raise SpecRejected(
                ("dataset", "X"),
                f"inline data has {values} numbers, over the cap of {settings.max_inline_values}",
            )
    if spec.epochs * n_examples > settings.max_epoch_examples:
        raise SpecRejected(
            ("epochs",),
            f"epochs × examples = {spec.epochs} × {n_examples} = {spec.epochs * n_examples} is over the cap "
            f"of {settings.max_epoch_examples}",
        )
    size = estimate(spec.to_train_config(), n_features, n_examples)
    parameters = size.parameters
    if parameters > settings.max_parameters:
        raise SpecRejected(
            ("layers",), f"the network has {parameters} parameters, over the cap of {settings.max_parameters}"
        )
    if spec.validation_fraction > 0 and round(spec.validation_fraction * n_examples) >= n_examples:
        raise SpecRejected(
            ("validation_fraction",),
            f"holding out {spec.validation_fraction} of {n_examples} examples leaves none to train on",
        )
    check_run(size, settings)


def check_run(size: RunEstimate, settings: Settings, what: str = "the job") -> None:
    """Refuse a run (a job, or a stack of an experiment's members: ``what``) whose estimate
    (``trainer.estimate``) is over a cap, naming both numbers: peak memory ≤ ``max_job_memory_bytes``,
    one step ≤ ``max_step_seconds`` (so that cancel, checkpoints and shutdowns come round within about
    that long), the whole run ≤ ``max_job_seconds``."""
    cap = settings.max_job_memory_bytes
    if size.memory_bytes > cap:
        raise SpecRejected(
            (),
            f"{what} needs an estimated {_gib(size.memory_bytes)} ({size.memory_bytes} bytes) of worker "
            f"memory, over the cap of {_gib(cap)} ({cap} bytes, max_job_memory_bytes): use fewer examples, "
            "narrower layers or smaller mini-batches",
        )
    if size.step_seconds > settings.max_step_seconds:
        raise SpecRejected(
            ("mini_batch_size",),
            f"one training step of {what} is estimated at {size.step_seconds:.3g} s, over the cap of "
            f"{settings.max_step_seconds:g} s (max_step_seconds): use smaller mini-batches or narrower "
            "layers",
        )
    if size.seconds > settings.max_job_seconds:
        raise SpecRejected(
            ("epochs",),
            f"{what} is estimated at {size.seconds:.0f} s of training, over the cap of "
            f"{settings.max_job_seconds:g} s (max_job_seconds): use fewer epochs or a smaller job",
        )


def run_fits(size: RunEstimate, settings: Settings) -> bool:
    """Whether a run's estimate is within the caps :func:`check_run` checks."""
    return (
        size.memory_bytes <= settings.max_job_memory_bytes
        and size.step_seconds <= settings.max_step_seconds
        and size.seconds <= settings.max_job_seconds
    )


def _gib(n_bytes: int) -> str:
    return f"{n_bytes / 2**30:.1f} GiB"
