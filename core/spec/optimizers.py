"""The optimizers a job can ask for: one model each with only its own fields, a union on ``name``."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from core.spec.base import StrictModel

LearningRate = Annotated[float, Field(gt=0, description="Step size α > 0.")]
Beta = Annotated[float, Field(ge=0, lt=1, description="Exponential average factor in [0, 1).")]
Epsilon = Annotated[float, Field(gt=0, description="Added to the RMS denominator, > 0.")]
EpsilonInsideSqrt = Annotated[
    bool,
    Field(description="True: v / sqrt(s + ε) (the seed). False: v / (sqrt(s) + ε) (PyTorch)."),
]


class GD(StrictModel):
    """Plain (mini-batch) gradient descent: ``W -= α g``."""

    name: Literal["gd"] = "gd"
    learning_rate: LearningRate = 0.0007


class Momentum(StrictModel):
    """Momentum: ``v = β v + (1 − β) g; W -= α v``."""

    name: Literal["momentum"] = "momentum"
    learning_rate: LearningRate = 0.0007
    beta: Beta = 0.9


class Nesterov(StrictModel):
    """Nesterov momentum: ``v = β v + (1 − β) g; W -= α (β v + (1 − β) g)``."""

    name: Literal["nesterov"] = "nesterov"
    learning_rate: LearningRate = 0.0007
    beta: Beta = 0.9


class RMSProp(StrictModel):
    """RMSProp: ``s = β₂ s + (1 − β₂) g²; W -= α g / sqrt(s + ε)``."""

    name: Literal["rmsprop"] = "rmsprop"
    learning_rate: LearningRate = 0.0007
    beta2: Beta = 0.999
    epsilon: Epsilon = 1e-8
    epsilon_inside_sqrt: EpsilonInsideSqrt = True


class Adam(StrictModel):
    """Adam with bias correction: ``W -= α v̂ / sqrt(ŝ + ε)``."""

    name: Literal["adam"] = "adam"
    learning_rate: LearningRate = 0.0007
    beta1: Beta = 0.9
    beta2: Beta = 0.999
    epsilon: Epsilon = 1e-8
    epsilon_inside_sqrt: EpsilonInsideSqrt = True


class AdamW(StrictModel):
    """AdamW: ``W -= α λ W`` (decoupled weight decay), then the Adam step."""

    name: Literal["adamw"] = "adamw"
    learning_rate: LearningRate = 0.0007
    beta1: Beta = 0.9
    beta2: Beta = 0.999
    epsilon: Epsilon = 1e-8
    epsilon_inside_sqrt: EpsilonInsideSqrt = True
    weight_decay: float = Field(default=0.01, ge=0, description="Decoupled weight decay λ >= 0.")


Optimizer = Annotated[GD | Momentum | Nesterov | RMSProp | Adam | AdamW, Field(discriminator="name")]
