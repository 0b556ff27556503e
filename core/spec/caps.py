"""The caps that depend on settings and on the data's shape, checked before a job is stored."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import SpecRejected
from core.spec.datasets import InlineDataset
from core.spec.model import TrainingSpec
from trainer.estimate import estimate

if TYPE_CHECKING:
    from core.config import Settings


def check_caps(spec: TrainingSpec, settings: Settings, n_features: int, n_examples: int) -> None:
    """Refuse a job over the configured caps; each refusal names the field and gives the cap.

    Checked: hidden layers ≤ ``max_layers``, every width ≤ ``max_width``, inline numbers ≤
    ``max_inline_values``, epochs × examples ≤ ``max_epoch_examples``, parameters (from
    ``trainer.estimate``) ≤ ``max_parameters``, and a validation split that leaves training examples.
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
    parameters = estimate(spec.to_train_config(), n_features, n_examples).parameters
    if parameters > settings.max_parameters:
        raise SpecRejected(
            ("layers",), f"the network has {parameters} parameters, over the cap of {settings.max_parameters}"
        )
    if spec.validation_fraction > 0 and round(spec.validation_fraction * n_examples) >= n_examples:
        raise SpecRejected(
            ("validation_fraction",),
            f"holding out {spec.validation_fraction} of {n_examples} examples leaves none to train on",
        )
