"""The flags that describe one training job, shared by `descent train` (in-process) and `descent submit`
(to a server), so both commands take exactly the same ones.

:class:`SpecOptions` declares each flag once (type, help, panel, default: the seed's job);
:func:`with_spec_options` adds them to a command's own parameters and hands them over as one
``options: SpecOptions`` argument. :meth:`SpecOptions.train_config` is the trainer's config,
:meth:`SpecOptions.job_spec` the JSON body of ``POST /jobs`` (the optimizer with only its own fields).
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_type_hints

import typer

from core.spec.base import FULL_BATCH
from core.spec.optimizers import Optimizer
from trainer.config import DecayConfig, DecayName, OptimizerConfig, OptimizerName, TrainConfig

_RUN = TrainConfig()
_OPT = OptimizerConfig()
_DECAY = DecayConfig()


def _opt(text: str, panel: str = "Optimizer", *names: str, **bounds: float) -> typer.models.OptionInfo:
    return typer.Option(*names, help=text, rich_help_panel=panel, **bounds)


def parse_layers(text: str) -> tuple[int, ...]:
    """``"5,2"`` -> ``(5, 2)``: at least one hidden layer, each of at least one unit."""
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"expected comma-separated integers such as 5,2; got {text!r}", param_hint="--layers"
        ) from None
    if any(size < 1 for size in sizes):
        raise typer.BadParameter(
            f"every hidden layer needs at least 1 unit; got {text!r}", param_hint="--layers"
        )
    return sizes


def parse_mini_batch_size(text: str) -> int | None:
    """``"full"`` -> None (batch gradient descent), else a positive integer (1 is SGD)."""
    if text.strip().lower() == FULL_BATCH:
        return None
    try:
        size = int(text)
    except ValueError:
        size = 0
    if size < 1:
        raise typer.BadParameter(
            f"expected a positive integer or 'full'; got {text!r}", param_hint="--mini-batch-size"
        )
    return size


@dataclass(frozen=True)
class SpecOptions:
    """One job's settings as command-line flags; every default is the seed's job."""

    optimizer: Annotated[OptimizerName, _opt("Update rule.")] = _OPT.name
    learning_rate: Annotated[float, _opt("Initial learning rate.")] = _OPT.learning_rate
    beta: Annotated[float, _opt("Momentum / Nesterov average.")] = _OPT.beta
    beta1: Annotated[float, _opt("Adam's first-moment average.")] = _OPT.beta1
    beta2: Annotated[float, _opt("Adam's / RMSProp's second-moment average.")] = _OPT.beta2
    epsilon: Annotated[float, _opt("Adam / RMSProp epsilon.")] = _OPT.epsilon
    epsilon_outside_sqrt: Annotated[
        bool,
        _opt(
            "v/(sqrt(s)+eps) as PyTorch, instead of the seed's v/sqrt(s+eps).",
            "Optimizer",
            "--epsilon-outside-sqrt",
        ),
    ] = False
    weight_decay: Annotated[float, _opt("AdamW's decoupled weight decay.")] = _OPT.weight_decay
    decay: Annotated[DecayName, _opt("Learning-rate decay per epoch.", "Schedule")] = _DECAY.name
    decay_rate: Annotated[float, _opt("Decay rate.", "Schedule")] = _DECAY.decay_rate
    time_interval: Annotated[int, _opt("Epochs per fixed_interval step.", "Schedule", min=1)] = (
        _DECAY.time_interval
    )
    mini_batch_size: Annotated[str, _opt("Examples per step: an integer, or 'full'.", "Schedule")] = str(
        _RUN.mini_batch_size
    )
    epochs: Annotated[int, _opt("Passes over the training set.", "Schedule", min=1)] = _RUN.epochs
    layers: Annotated[str, _opt("Hidden layer sizes, comma-separated.", "Network")] = ",".join(
        map(str, _RUN.layers)
    )
    init_seed: Annotated[int, _opt("He initialisation seed.", "Network")] = _RUN.init_seed
    seed: Annotated[int, _opt("Shuffle seed; epoch k shuffles with seed + k.", "Schedule")] = _RUN.seed
    dataset: Annotated[
        str,
        _opt(
            "A built-in name (moons, circles, blobs, flower), a .npz with X (n_x, m) and Y (1, m), or a .csv"
            " with one example per row and the 0/1 label last.",
            "Data",
        ),
    ] = "moons"
    n_samples: Annotated[int | None, _opt("Examples of a built-in data set.", "Data", min=2)] = None
    noise: Annotated[float | None, _opt("Noise of a built-in data set.", "Data", min=0.0)] = None
    data_seed: Annotated[int | None, _opt("Seed of a built-in data set.", "Data")] = None
    validation_fraction: Annotated[
        float, _opt("Share of the examples held out for validation accuracy.", "Data", min=0.0, max=1.0)
    ] = _RUN.validation_fraction
    record_every: Annotated[int, _opt("Epochs between cost points.", "Output", min=1)] = _RUN.record_every

    def optimizer_config(self) -> OptimizerConfig:
        return OptimizerConfig(
            name=self.optimizer,
            learning_rate=self.learning_rate,
            beta=self.beta,
            beta1=self.beta1,
            beta2=self.beta2,
            epsilon=self.epsilon,
            epsilon_inside_sqrt=not self.epsilon_outside_sqrt,
            weight_decay=self.weight_decay,
        )

    def train_config(self) -> TrainConfig:
        """The trainer's config (the data is loaded from ``dataset`` separately)."""
        return TrainConfig(
            layers=parse_layers(self.layers),
            optimizer=self.optimizer_config(),
            decay=DecayConfig(name=self.decay, decay_rate=self.decay_rate, time_interval=self.time_interval),
            mini_batch_size=parse_mini_batch_size(self.mini_batch_size),
            epochs=self.epochs,
            record_every=self.record_every,
            seed=self.seed,
            init_seed=self.init_seed,
            validation_fraction=self.validation_fraction,
        )

    def job_spec(self, dataset: dict[str, Any]) -> dict[str, Any]:
        """The ``POST /jobs`` body for these flags and ``dataset`` (a built-in's or ``{"id": …}``)."""
        config = self.train_config()
        optimizer = dataclasses.asdict(config.optimizer)
        fields = _OPTIMIZER_MODELS[self.optimizer].model_fields
        return {
            "optimizer": {name: value for name, value in optimizer.items() if name in fields},
            "dataset": dataset,
            "layers": list(config.layers),
            "mini_batch_size": FULL_BATCH if config.mini_batch_size is None else config.mini_batch_size,
            "epochs": config.epochs,
            "record_every": config.record_every,
            "seed": config.seed,
            "init_seed": config.init_seed,
            "decay": dataclasses.asdict(config.decay),
            "validation_fraction": config.validation_fraction,
        }

    def builtin_dataset(self) -> dict[str, Any]:
        """``dataset`` as the spec's built-in dataset (name and the parameters that were given)."""
        given = {"n_samples": self.n_samples, "noise": self.noise, "seed": self.data_seed}
        return {"name": self.dataset, **{name: value for name, value in given.items() if value is not None}}


_OPTIMIZER_MODELS = {model.model_fields["name"].default: model for model in get_args(get_args(Optimizer)[0])}
"""Each optimizer's spec model, by name (a spec's optimizer takes only its own fields)."""
_HINTS = get_type_hints(SpecOptions, include_extras=True)
SPEC_PARAMETERS = [
    inspect.Parameter(
        field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default, annotation=_HINTS[field.name]
    )
    for field in dataclasses.fields(SpecOptions)
]


def with_spec_options(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` with every :class:`SpecOptions` flag before its own; it gets them as ``options``."""
    own = [
        parameter.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for parameter in inspect.signature(command, eval_str=True).parameters.values()
        if parameter.name != "options"
    ]

    @functools.wraps(command)
    def with_options(**values: Any) -> None:
        options = SpecOptions(**{parameter.name: values.pop(parameter.name) for parameter in SPEC_PARAMETERS})
        command(options=options, **values)

    with_options.__signature__ = inspect.Signature([*SPEC_PARAMETERS, *own])  # type: ignore[attr-defined]
    return with_options
