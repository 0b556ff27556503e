"""The trainer's exceptions: small, flat, each saying what went wrong in words a user understands."""


class TrainerError(Exception):
    """Base class of every error the trainer raises on purpose."""


class DataError(TrainerError, ValueError):
    """The data cannot be trained on: wrong shape, NaN/inf, non-binary labels, empty set."""


class ConfigError(TrainerError, ValueError):
    """A setting is out of range (learning rate <= 0, beta outside [0, 1), ...)."""


class DivergedError(TrainerError):
    """The cost (or the parameters) stopped being finite; ``epoch`` counts from 1."""

    def __init__(self, epoch: int) -> None:
        super().__init__(f"diverged at epoch {epoch}")
        self.epoch = epoch


class CheckpointError(TrainerError, ValueError):
    """A checkpoint does not fit the run it is resumed into."""
