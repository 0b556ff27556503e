"""core.frames: the epochs a job keeps boundary frames at, its byte budget, and a frame's bytes."""

from __future__ import annotations

import numpy as np
import pytest

from core.frames import frame_bytes, frame_epochs, frame_parameters, kept_frame_epochs
from trainer.network import pack, parameter_count


@pytest.mark.parametrize(
    ("epochs", "frames", "expected"),
    [
        (200, 5, [1, 51, 100, 150, 200]),  # linspace: 1, 50.75, 100.5, 150.25, 200 (100.5 rounds to even)
        (10, 4, [1, 4, 7, 10]),
        (3, 20, [1, 2, 3]),  # fewer epochs than frames: every epoch once
        (1, 20, [1]),
        (10000, 1, [1]),
        (10000, 0, []),
        (0, 20, []),
    ],
)
def test_frame_epochs_are_the_rounded_linspace_from_1_to_the_last(
    epochs: int, frames: int, expected: list[int]
) -> None:
    assert frame_epochs(epochs, frames) == expected


@pytest.mark.parametrize(("epochs", "frames"), [(10000, 20), (37, 20), (20, 20), (21, 20), (999, 7)])
def test_frame_epochs_include_the_first_and_last_and_are_distinct(epochs: int, frames: int) -> None:
    chosen = frame_epochs(epochs, frames)
    assert chosen[0] == 1 and chosen[-1] == epochs
    assert chosen == sorted(set(chosen)) and len(chosen) <= frames
    assert len(chosen) == min(frames, epochs)


def test_only_2_feature_models_keep_frames_and_the_budget_caps_their_count() -> None:
    # a (2, 5, 2, 1) net: 15 + 12 + 3 = 30 parameters, 120 bytes a frame
    assert kept_frame_epochs(2, 30, 1000, 20, 1 << 20) == frame_epochs(1000, 20)
    assert kept_frame_epochs(3, 30, 1000, 20, 1 << 20) == [], "a boundary is drawn for 2 features only"
    assert kept_frame_epochs(2, 30, 1000, 20, 120 * 5 + 119) == frame_epochs(1000, 5)
    assert kept_frame_epochs(2, 30, 1000, 20, 119) == [], "not even one frame fits"
    assert kept_frame_epochs(2, 30, 1000, 0, 1 << 20) == [], "0 frames: off"


def test_a_frame_is_the_parameter_vector_as_float32() -> None:
    sizes = (2, 3, 1)
    parameters = {
        "W1": np.array([[0.1, -2.0], [1 / 3, 4.0], [5.0, -6.5]]),
        "b1": np.array([[0.25], [-1.0], [1e-3]]),
        "W2": np.array([[7.0, -0.125, 2 / 3]]),
        "b2": np.array([[-0.5]]),
    }
    data = frame_bytes(pack(parameters, sizes))
    assert len(data) == 4 * parameter_count(sizes), "4 bytes a parameter"
    frame = frame_parameters(data, sizes)
    assert list(frame) == ["W1", "b1", "W2", "b2"]
    for name, array in parameters.items():
        assert frame[name].shape == array.shape
        assert np.array_equal(frame[name], array.astype(np.float32).astype(np.float64)), name
    with pytest.raises(ValueError, match="not one of a net"):
        frame_parameters(data, (2, 4, 1))
