"""descent's trainer: the course's optimization methods in pure NumPy.

It imports nothing from the service, the worker or Redis, takes plain arguments and never reads the
environment.
"""

from trainer.checkpoint import Checkpoint
from trainer.config import DecayConfig, OptimizerConfig, TrainConfig
from trainer.data import DATASET_NAMES, check_arrays, load_builtin, split_validation
from trainer.errors import CheckpointError, ConfigError, DataError, DivergedError, TrainerError
from trainer.estimate import RunEstimate, estimate, estimate_stack
from trainer.network import accuracy, predict, predict_proba
from trainer.stack_checkpoint import StackCheckpoint
from trainer.stacked import MemberResult, StackedTraining
from trainer.stacking import StackKey, check_stack, stack_key
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
    "MemberResult",
    "OptimizerConfig",
    "RunEstimate",
    "StackCheckpoint",
    "StackKey",
    "StackedTraining",
    "TrainConfig",
    "TrainResult",
    "TrainerError",
    "Training",
    "accuracy",
    "check_arrays",
    "check_stack",
    "estimate",
    "estimate_stack",
    "load_builtin",
    "predict",
    "predict_proba",
    "split_validation",
    "stack_key",
    "train",
]
