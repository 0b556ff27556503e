"""Learning-rate decay of the course's newer notebook, per epoch.

The notebook updates the rate *after* epoch ``i`` (counting from 0) with ``epoch_num = i``, so with epochs
counted from 1 here, epochs 1 and 2 run at ``lr0`` and epoch ``k >= 2`` runs at ``decay(lr0, k - 2)``:

    inverse_time    lr = lr0 / (1 + decay_rate * epoch_num)                            (update_lr)
    fixed_interval  lr = lr0 / (1 + decay_rate * floor(epoch_num / time_interval))     (schedule_lr_decay)
"""

from __future__ import annotations

import math

from trainer.config import DecayConfig


def learning_rate_for_epoch(lr0: float, decay: DecayConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (counting from 1) under ``decay``."""
    if decay.name == "none" or epoch <= 2:
        return lr0
    epoch_num = epoch - 2
    if decay.name == "inverse_time":
        return lr0 / (1 + decay.decay_rate * epoch_num)
    return lr0 / (1 + decay.decay_rate * math.floor(epoch_num / decay.time_interval))
