"""Data for the trainer: built-in 2-D data sets, checks of user arrays, a validation split.

Layout: features x examples. X is float64 of shape (n_x, m), Y is float64 of shape (1, m) holding 0/1
labels; both C-contiguous.

Built-in generators, each ``make_*(n_samples, noise, seed)``, draw from a private
``np.random.RandomState(seed)`` and never touch NumPy's global state:

- ``make_moons``: bit-identical to ``np.random.seed(seed); sklearn.datasets.make_moons(n_samples,
  noise=noise)`` then ``X.T, y.reshape(1, -1)``. The seed's data is ``make_moons(300, 0.2, 3)``.
- ``make_circles``: bit-identical to scikit-learn's ``make_circles(n_samples, noise=noise, factor=0.5)``.
- ``make_blobs``: bit-identical to scikit-learn's ``make_blobs(n_samples, centers=2, cluster_std=noise)``.
- ``make_flower``: the course's planar "flower" (planar_utils ``load_planar_dataset``: m=400, a=4,
  ``np.random.seed(1)``, noise 0.2 on angle and radius).

scikit-learn's draws, reproduced: ``shuffle`` is ``indices = arange(m); rs.shuffle(indices)``, then the
noise is ``rs.normal(scale=noise, size=(m, 2))`` (drawn whenever noise is not None, even 0).

``check_arrays(X, Y)`` validates user arrays and raises ``DataError`` saying what is wrong.
``split_validation(X, Y, fraction, seed)``: ``perm = np.random.RandomState(seed).permutation(m)``; the
first ``round(fraction * m)`` indices of ``perm`` are the validation set, the rest (in ``perm`` order)
the training set.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal, get_args

import numpy as np

from trainer.errors import ConfigError, DataError

DatasetName = Literal["moons", "circles", "blobs", "flower"]
DATASET_NAMES: tuple[str, ...] = get_args(DatasetName)

Arrays = tuple[np.ndarray, np.ndarray]


def _finish(points: np.ndarray, labels: np.ndarray) -> Arrays:
    """Examples x features points and (m,) labels -> X (n_x, m), Y (1, m), float64 C-contiguous."""
    X = np.ascontiguousarray(points.T, dtype=np.float64)
    Y = np.ascontiguousarray(labels.reshape(1, -1), dtype=np.float64)
    return X, Y


def _shuffle_and_noise(
    points: np.ndarray, labels: np.ndarray, noise: float | None, rs: np.random.RandomState
) -> Arrays:
    """scikit-learn's ``util.shuffle`` followed by its Gaussian noise, with the same draws."""
    indices = np.arange(points.shape[0])
    rs.shuffle(indices)
    points, labels = points[indices], labels[indices]
    if noise is not None:
        points += rs.normal(scale=noise, size=points.shape)
    return points, labels


def _check_size(n_samples: int, minimum: int = 2) -> None:
    if n_samples < minimum:
        raise DataError(f"n_samples must be at least {minimum}, got {n_samples}")


def make_moons(n_samples: int = 300, noise: float | None = 0.2, seed: int = 3) -> Arrays:
    """Two interleaving half circles: outer moon label 0 (n//2 points), inner moon label 1."""
    _check_size(n_samples)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    angles_out = np.linspace(0, np.pi, n_out)
    angles_in = np.linspace(0, np.pi, n_in)
    points = np.vstack(
        [
            np.append(np.cos(angles_out), 1 - np.cos(angles_in)),
            np.append(np.sin(angles_out), 1 - np.sin(angles_in) - 0.5),
        ]
    ).T
    labels = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _finish(*_shuffle_and_noise(points, labels, noise, np.random.RandomState(seed)))


def make_circles(
    n_samples: int = 300, noise: float | None = 0.1, seed: int = 3, factor: float = 0.5
) -> Arrays:
    """A unit circle (label 0) around a circle of radius ``factor`` (label 1)."""
    _check_size(n_samples)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    angles_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    angles_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    points = np.vstack(
        [
            np.append(np.cos(angles_out), np.cos(angles_in) * factor),
            np.append(np.sin(angles_out), np.sin(angles_in) * factor),
        ]
    ).T
    labels = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    return _finish(*_shuffle_and_noise(points, labels, noise, np.random.RandomState(seed)))


def make_blobs(n_samples: int = 300, noise: float | None = 1.0, seed: int = 3) -> Arrays:
    """Two Gaussian blobs with standard deviation ``noise``, centres uniform in [-10, 10]^2.

    Label 0 gets the extra point when ``n_samples`` is odd, as in scikit-learn.
    """
    _check_size(n_samples)
    std = 1.0 if noise is None else noise
    rs = np.random.RandomState(seed)
    centers = rs.uniform(-10.0, 10.0, size=(2, 2))
    counts = (n_samples - n_samples // 2, n_samples // 2)
    points = np.vstack([rs.normal(loc=centers[i], scale=std, size=(counts[i], 2)) for i in range(2)])
    labels = np.repeat(np.arange(2), counts)
    indices = np.arange(n_samples)
    rs.shuffle(indices)
    return _finish(points[indices], labels[indices])


def make_flower(n_samples: int = 400, noise: float | None = 0.2, seed: int = 1) -> Arrays:
    """The course's planar flower: ``r = 4 sin(4t) + noise*randn``, ``t`` spread over [3.12 j, 3.12 (j+1)].

    Class j (0, then 1) gets n//2 and n - n//2 points; the points are not shuffled, as in the course.
    """
    _check_size(n_samples)
    scale = 0.0 if noise is None else noise
    rs = np.random.RandomState(seed)
    counts = (n_samples // 2, n_samples - n_samples // 2)
    points = np.zeros((n_samples, 2))
    labels = np.zeros(n_samples, dtype=np.intp)
    start = 0
    for j, count in enumerate(counts):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, count) + rs.randn(count) * scale
        r = 4 * np.sin(4 * t) + rs.randn(count) * scale
        points[start : start + count] = np.c_[r * np.sin(t), r * np.cos(t)]
        labels[start : start + count] = j
        start += count
    return _finish(points, labels)


_GENERATORS: dict[str, Callable[..., Arrays]] = {
    "moons": make_moons,
    "circles": make_circles,
    "blobs": make_blobs,
    "flower": make_flower,
}


def load_builtin(
    name: str, n_samples: int | None = None, noise: float | None = None, seed: int | None = None
) -> Arrays:
    """A built-in data set by name; arguments left as None take the generator's default.

    ``load_builtin("moons")`` is the seed's data: 300 moons, noise 0.2, seed 3.
    """
    try:
        generator = _GENERATORS[name]
    except KeyError:
        known = ", ".join(DATASET_NAMES)
        raise DataError(f"unknown data set {name!r}; the built-in ones are {known}") from None
    given = {"n_samples": n_samples, "noise": noise, "seed": seed}
    return generator(**{key: value for key, value in given.items() if value is not None})


def _where_not_finite(name: str, array: np.ndarray) -> str | None:
    if np.issubdtype(array.dtype, np.integer) or math.isfinite(np.add.reduce(array, axis=None)):
        return None  # a finite sum means every value is finite: one pass, no temporary array
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if count == 0:
        return None
    col, row = (int(i) for i in np.argwhere(bad.T)[0])
    value = array[row, col]
    return (
        f"{name} has {count} non-finite value(s) (NaN or inf); the first, in example {col}, is {value}"
        f" at {name}[{row}, {col}]"
    )


def _as_numeric(name: str, array: object) -> np.ndarray:
    result = np.asarray(array)
    if result.dtype == np.bool_:
        return result.astype(np.float64)
    if not (np.issubdtype(result.dtype, np.integer) or np.issubdtype(result.dtype, np.floating)):
        raise DataError(f"{name} must hold numbers, got an array of dtype {result.dtype}")
    return result


def check_arrays(X: object, Y: object) -> Arrays:
    """Validate user data and return it as float64 C-contiguous X (n_x, m) and Y (1, m).

    The layout is features x examples; Y may also be given as (m,). Raises DataError when an array has
    the wrong number of dimensions, X and Y disagree on m, a value is NaN/inf, a label is not 0 or 1, or
    the set is empty.
    """
    X = _as_numeric("X", X)
    Y = _as_numeric("Y", Y)
    if X.ndim != 2:
        raise DataError(f"X must be 2-D, features x examples (n_x, m); got {X.ndim}-D shape {X.shape}")
    if Y.ndim == 1:
        Y = Y.reshape(1, -1)
    elif Y.ndim != 2 or Y.shape[0] != 1:
        raise DataError(
            f"Y must have shape (1, m) or (m,), one label per example; got shape {Y.shape}"
            " (the layout is features x examples, so labels form a row)"
        )
    n_x, m = X.shape
    if m == 0 or Y.shape[1] == 0:
        raise DataError(
            f"the data set is empty: X has shape {X.shape} and Y {Y.shape}; need at least one example"
        )
    if n_x == 0:
        raise DataError(f"X has no features: shape {X.shape}")
    if Y.shape[1] != m:
        hint = " (X looks transposed)" if X.shape[0] == Y.shape[1] else ""
        raise DataError(
            f"X has {m} examples (columns) but Y has {Y.shape[1]} labels{hint}; the layout is"
            " features x examples: X is (n_x, m) and Y is (1, m)"
        )
    for name, array in (("X", X), ("Y", Y)):
        message = _where_not_finite(name, array)
        if message:
            raise DataError(message)
    wrong = (Y != 0) & (Y != 1)
    if wrong.any():
        values = np.unique(Y[wrong])
        shown = ", ".join(f"{v:g}" for v in values[:5]) + (", ..." if values.size > 5 else "")
        raise DataError(f"labels must be 0 or 1; Y has {int(wrong.sum())} other label(s): {shown}")
    return (np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(Y, dtype=np.float64))


def split_validation(X: np.ndarray, Y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, ...]:
    """Hold out ``round(fraction * m)`` examples: returns (X_train, Y_train, X_val, Y_val).

    ``perm = np.random.RandomState(seed).permutation(m)``; validation is ``perm[:n_val]``, training
    ``perm[n_val:]``. ConfigError if ``fraction`` is not in (0, 1); DataError if either part is empty.
    """
    if not 0.0 < fraction < 1.0:
        raise ConfigError(f"validation fraction must be between 0 and 1 (exclusive), got {fraction}")
    m = X.shape[1]
    n_val = round(fraction * m)
    if n_val == 0 or n_val == m:
        part = "validation" if n_val == 0 else "training"
        raise DataError(f"a validation fraction of {fraction} of {m} examples leaves an empty {part} set")
    perm = np.random.RandomState(seed).permutation(m)
    val, train = perm[:n_val], perm[n_val:]
    return (
        np.ascontiguousarray(X[:, train]),
        np.ascontiguousarray(Y[:, train]),
        np.ascontiguousarray(X[:, val]),
        np.ascontiguousarray(Y[:, val]),
    )
