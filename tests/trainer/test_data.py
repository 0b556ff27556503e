"""trainer.data: built-in data sets (moons bit-identical to scikit-learn), user-array checks, the split."""

import numpy as np
import pytest
import sklearn.datasets

from trainer.data import (
    DATASET_NAMES,
    check_arrays,
    load_builtin,
    make_blobs,
    make_circles,
    make_flower,
    make_moons,
    split_validation,
)
from trainer.errors import ConfigError, DataError


def course_planar_dataset():
    """The course's planar_utils.load_planar_dataset, verbatim apart from names."""
    np.random.seed(1)
    m = 400
    N = int(m / 2)
    X = np.zeros((m, 2))
    Y = np.zeros((m, 1), dtype="uint8")
    a = 4
    for j in range(2):
        ix = range(N * j, N * (j + 1))
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + np.random.randn(N) * 0.2
        r = a * np.sin(4 * t) + np.random.randn(N) * 0.2
        X[ix] = np.c_[r * np.sin(t), r * np.cos(t)]
        Y[ix] = j
    return X.T, Y.T


def test_seed_moons_are_bit_identical_to_sklearn():
    np.random.seed(3)
    X_ref, y_ref = sklearn.datasets.make_moons(n_samples=300, noise=0.2)
    X, Y = load_builtin("moons")
    assert X.shape == (2, 300) and Y.shape == (1, 300)
    assert X.dtype == np.float64 and X.flags.c_contiguous and Y.flags.c_contiguous
    assert np.array_equal(X, X_ref.T)
    assert np.array_equal(Y, y_ref.reshape(1, -1))


@pytest.mark.parametrize(("n_samples", "noise", "seed"), [(301, 0.05, 0), (40, 0.0, 12), (7, 1.3, 99)])
def test_moons_match_sklearn_for_other_settings(n_samples, noise, seed):
    np.random.seed(seed)
    X_ref, y_ref = sklearn.datasets.make_moons(n_samples=n_samples, noise=noise)
    X, Y = make_moons(n_samples, noise, seed)
    assert np.array_equal(X, X_ref.T)
    assert np.array_equal(Y, y_ref.reshape(1, -1))


def test_moons_leave_global_random_state_alone():
    np.random.seed(5)
    expected = np.random.rand(3)
    np.random.seed(5)
    make_moons()
    assert np.array_equal(np.random.rand(3), expected)


def test_circles_and_blobs_match_sklearn():
    X, Y = make_circles(300, 0.1, 4)
    X_ref, y_ref = sklearn.datasets.make_circles(n_samples=300, noise=0.1, factor=0.5, random_state=4)
    assert np.array_equal(X, X_ref.T) and np.array_equal(Y, y_ref.reshape(1, -1))
    X, Y = make_blobs(301, 1.5, 4)
    X_ref, y_ref = sklearn.datasets.make_blobs(n_samples=301, centers=2, cluster_std=1.5, random_state=4)
    assert np.array_equal(X, X_ref.T) and np.array_equal(Y, y_ref.reshape(1, -1))


def test_flower_is_the_course_planar_dataset():
    X_ref, Y_ref = course_planar_dataset()
    X, Y = load_builtin("flower")
    assert X.shape == (2, 400) and Y.shape == (1, 400)
    assert np.array_equal(X, X_ref)
    assert np.array_equal(Y, Y_ref)
    X_odd, Y_odd = make_flower(n_samples=9, noise=0.0, seed=0)
    assert X_odd.shape == (2, 9) and Y_odd.tolist() == [[0] * 4 + [1] * 5]
    assert np.allclose(
        np.hypot(*X_odd),
        np.abs(4 * np.sin(4 * np.linspace(0, 3.12, 4))).tolist()
        + np.abs(4 * np.sin(4 * np.linspace(3.12, 6.24, 5))).tolist(),
    )


@pytest.mark.parametrize("name", DATASET_NAMES)
def test_builtin_shapes_and_label_balance(name):
    X, Y = load_builtin(name, n_samples=101, noise=0.1, seed=0)
    assert X.shape == (2, 101) and Y.shape == (1, 101)
    assert X.dtype == Y.dtype == np.float64
    assert set(np.unique(Y)) == {0.0, 1.0}
    assert abs(int(Y.sum()) - 50.5) == 0.5
    assert np.isfinite(X).all()
    assert np.array_equal(check_arrays(X, Y)[0], X)


def test_builtin_defaults_and_unknown_name():
    assert load_builtin("circles")[0].shape == (2, 300)
    assert load_builtin("blobs")[0].shape == (2, 300)
    with pytest.raises(DataError, match=r"unknown data set 'spiral'.*moons, circles, blobs, flower"):
        load_builtin("spiral")
    with pytest.raises(DataError, match="n_samples must be at least 2, got 1"):
        load_builtin("moons", n_samples=1)


def test_check_arrays_accepts_flat_labels_and_converts():
    X = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    X_out, Y_out = check_arrays(X, np.array([True, False, True]))
    assert X_out.dtype == np.float64 and X_out.flags.c_contiguous
    assert Y_out.shape == (1, 3) and Y_out.tolist() == [[1.0, 0.0, 1.0]]
    assert np.array_equal(check_arrays(X, [[0, 1, 1]])[1], [[0.0, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("X", "Y", "message"),
    [
        (np.zeros(3), np.zeros(3), r"X must be 2-D, features x examples \(n_x, m\); got 1-D shape \(3,\)"),
        (np.zeros((2, 3, 1)), np.zeros(3), "got 3-D"),
        (np.zeros((2, 3)), np.zeros((3, 1)), r"Y must have shape \(1, m\) or \(m,\).*got shape \(3, 1\)"),
        (np.zeros((2, 0)), np.zeros((1, 0)), "the data set is empty"),
        (np.zeros((0, 4)), np.zeros(4), "X has no features"),
        (
            np.zeros((2, 5)),
            np.zeros(4),
            r"X has 5 examples \(columns\) but Y has 4 labels; the layout is"
            r" features x examples",
        ),
        (np.zeros((4, 2)), np.zeros(4), r"X has 2 examples .* Y has 4 labels \(X looks transposed\)"),
        (np.array([["a", "b"]]), np.zeros(2), "X must hold numbers"),
    ],
)
def test_check_arrays_shape_errors(X, Y, message):
    with pytest.raises(DataError, match=message):
        check_arrays(X, Y)


def test_check_arrays_reports_non_finite_values_with_count_and_first_index():
    X = np.zeros((2, 5))
    X[1, 3] = np.nan
    X[0, 4] = np.inf
    with pytest.raises(DataError, match=r"X has 2 non-finite value\(s\).*in example 3, is nan at X\[1, 3\]"):
        check_arrays(X, np.zeros(5))
    with pytest.raises(DataError, match=r"Y has 1 non-finite value\(s\).*in example 2, is -inf at Y\[0, 2\]"):
        check_arrays(np.zeros((2, 5)), np.array([0, 1, -np.inf, 1, 0]))


def test_check_arrays_names_the_bad_labels():
    with pytest.raises(DataError, match=r"labels must be 0 or 1; Y has 3 other label\(s\): -1, 0.5, 2"):
        check_arrays(np.zeros((1, 5)), np.array([0, 2, 0.5, -1, 1]))
    with pytest.raises(DataError, match=r": 2, 3, 4, 5, 6, \.\.\."):
        check_arrays(np.zeros((1, 7)), np.arange(1, 8))


def test_split_sizes_disjoint_and_seeded():
    X, Y = load_builtin("moons")
    X_train, Y_train, X_val, Y_val = split_validation(X, Y, 0.2, seed=10)
    assert X_train.shape == (2, 240) and Y_train.shape == (1, 240)
    assert X_val.shape == (2, 60) and Y_val.shape == (1, 60)
    perm = np.random.RandomState(10).permutation(300)
    assert np.array_equal(X_val, X[:, perm[:60]]) and np.array_equal(Y_train, Y[:, perm[60:]])
    train_cols = {tuple(col) for col in X_train.T}
    val_cols = {tuple(col) for col in X_val.T}
    assert not train_cols & val_cols
    assert len(train_cols | val_cols) == 300
    again = split_validation(X, Y, 0.2, seed=10)
    assert np.array_equal(again[2], X_val)
    assert not np.array_equal(split_validation(X, Y, 0.2, seed=11)[2], X_val)


def test_split_rounds_the_validation_count():
    X, Y = np.zeros((1, 10)), np.zeros((1, 10))
    assert split_validation(X, Y, 0.25, seed=0)[2].shape == (1, 2)
    assert split_validation(X, Y, 0.26, seed=0)[2].shape == (1, 3)


def test_split_errors():
    X, Y = np.zeros((2, 10)), np.zeros((1, 10))
    with pytest.raises(DataError, match=r"0\.01 of 10 examples leaves an empty validation set"):
        split_validation(X, Y, 0.01, seed=0)
    with pytest.raises(DataError, match=r"0\.99 of 10 examples leaves an empty training set"):
        split_validation(X, Y, 0.99, seed=0)
    with pytest.raises(ConfigError, match="between 0 and 1"):
        split_validation(X, Y, 1.0, seed=0)
