"""descent's trainer: the course's optimization methods in pure NumPy.

It imports nothing from the service, the worker or Redis, takes plain arguments and never reads the
environment.
"""

from trainer.checkpoint import Checkpoint
from trainer.config import DecayConfig, OptimizerConfig, TrainConfig
from trainer.data import DATASET_NAMES, check_arrays, load_builtin, split_validation
from trainer.errors import CheckpointError, ConfigError, DataError, DivergedError, TrainerError
from trainer.estimate import RunEstimate, estimate
from trainer.network import accuracy, predict, predict_proba
from trainer.train import CostPoint, Training, TrainResult, train

__all__ = [
    "DATASET_NAMES",
    "Checkpoint",
    "CheckpointError",
    "ConfigError",
    "CostPoint",
    "DataError",
    "DecayConfig",
    "DivergedError",
    "OptimizerConfig",
    "RunEstimate",
    "TrainConfig",
    "TrainResult",
    "TrainerError",
    "Training",
    "accuracy",
    "check_arrays",
    "estimate",
    "load_builtin",
    "predict",
    "predict_proba",
    "split_validation",
    "train",
]
