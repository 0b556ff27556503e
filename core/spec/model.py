"""The spec itself: optimizer, data, network and schedule, and its translation to a ``TrainConfig``."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from core.spec.base import FULL_BATCH, MAX_SEED, Int, MiniBatchSize, PositiveInt, StrictModel
from core.spec.datasets import BuiltinDataset, Dataset
from core.spec.examples import SPEC_EXAMPLES
from core.spec.optimizers import Adam, Optimizer
from trainer.config import DecayConfig, DecayName, OptimizerConfig, TrainConfig


class Decay(StrictModel):
    """Learning-rate decay per epoch (off by default); see ``trainer.schedules``."""

    name: DecayName = "none"
    decay_rate: float = Field(default=1.0, ge=0)
    time_interval: Int = Field(default=1000, ge=1)


class TrainingSpec(StrictModel):
    """What to train: optimizer, data, network and schedule. Defaults reproduce the seed's Adam run."""

    model_config = ConfigDict(
        extra="forbid",
        strict=True,
        allow_inf_nan=False,
        json_schema_extra={"examples": [SPEC_EXAMPLES["adam"]["value"]]},
    )

    optimizer: Optimizer = Field(default_factory=Adam)
    dataset: Dataset = Field(default_factory=BuiltinDataset)
    layers: list[PositiveInt] = Field(
        default_factory=lambda: [5, 2], min_length=1, description="Hidden layer sizes."
    )
    mini_batch_size: MiniBatchSize = Field(
        default=64, description='Examples per step; "full" is batch gradient descent.'
    )
    epochs: Int = Field(default=10000, ge=1)
    record_every: Int = Field(default=100, ge=1, description="A cost point every this many epochs.")
    seed: Int = Field(default=10, ge=0, le=MAX_SEED, description="Shuffle seed; epoch k uses seed + k.")
    init_seed: Int = Field(default=3, ge=0, le=MAX_SEED, description="He initialisation seed.")
    decay: Decay = Field(default_factory=Decay)
    validation_fraction: float = Field(default=0.0, ge=0, lt=1, description="Share held out for validation.")

    def to_train_config(self) -> TrainConfig:
        """The trainer's plain config for this spec (the dataset is loaded separately)."""
        return TrainConfig(
            layers=tuple(self.layers),
            optimizer=OptimizerConfig(**self.optimizer.model_dump()),
            decay=DecayConfig(**self.decay.model_dump()),
            mini_batch_size=None if self.mini_batch_size == FULL_BATCH else self.mini_batch_size,
            epochs=self.epochs,
            record_every=self.record_every,
            seed=self.seed,
            init_seed=self.init_seed,
            validation_fraction=self.validation_fraction,
        )
