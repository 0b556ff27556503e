"""The one reader of data files (uploads to the API and files given to the CLI), and their summary.

Accepted files (the format comes from the file name's extension, or else from the content):

* ``.csv``  one example per row, numbers separated by commas, the LAST column is the 0/1 label; a first
  line that is not all numbers is a header, and skipped.
* ``.npy``  a 2-D numeric array laid out like the CSV: rows are examples, the last column is the label.
* ``.npz``  arrays ``X`` (features × examples, the trainer's layout) and ``Y`` ((1, m) or (m,)).

Every file is checked with ``trainer.data.check_arrays``; a problem is a ``DataError`` whose message says
what is wrong. Nothing is unpickled (``allow_pickle=False``).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path, PurePath
from typing import Any, Literal, get_args

import numpy as np

from trainer.data import check_arrays
from trainer.errors import DataError

DataFormat = Literal["csv", "npy", "npz"]
FORMATS: tuple[str, ...] = get_args(DataFormat)


def file_format(filename: str, data: bytes) -> str:
    """``csv``, ``npy`` or ``npz``: the file name's extension if it is one of these, else the content's
    magic bytes (``\\x93NUMPY`` for .npy, a zip header for .npz), else CSV."""
    suffix = PurePath(filename or "").suffix.lower().lstrip(".")
    if suffix in FORMATS:
        return suffix
    if data.startswith(b"\x93NUMPY"):
        return "npy"
    if data.startswith(b"PK\x03\x04"):
        return "npz"
    return "csv"


def _rows_to_arrays(table: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Rows = examples, last column = label → X (n_x, m), Y (1, m)."""
    if table.ndim != 2 or table.shape[1] < 2:
        raise DataError(
            f"{what} must be a table with one example per row and at least 2 columns (features, then the "
            f"label); got shape {table.shape}"
        )
    return table[:, :-1].T, table[:, -1]


def _parse_csv(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError("the CSV file is not UTF-8 text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise DataError("the CSV file is empty")
    if not _is_number_row(lines[0]):
        lines = lines[1:]
        if not lines:
            raise DataError("the CSV file has a header row but no examples")
    try:
        table = np.loadtxt(lines, delimiter=",", ndmin=2, dtype=np.float64)
    except ValueError as exc:
        raise DataError(f"the CSV file must hold numbers separated by commas: {exc}") from None
    return _rows_to_arrays(table, "the CSV file")


def _is_number_row(line: str) -> bool:
    """Whether a CSV line is all numbers (else it is a header)."""
    try:
        [float(field) for field in line.split(",")]
    except ValueError:
        return False
    return True


def _parse_npy(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        table = np.load(io.BytesIO(data), allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataError(f"not a readable .npy file (object arrays are refused): {exc}") from None
    if not isinstance(table, np.ndarray):
        raise DataError("a .npy upload must hold one array")
    return _rows_to_arrays(table, "the .npy array")


def _parse_npz(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files if name in ("X", "Y")}
            names = sorted(npz.files)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"not a readable .npz file (object arrays are refused): {exc}") from None
    if len(arrays) != 2:
        raise DataError(f"the .npz file must hold arrays X and Y; it has {names}")
    return arrays["X"], arrays["Y"]


_PARSERS = {"csv": _parse_csv, "npy": _parse_npy, "npz": _parse_npz}


def parse(data: bytes, source_format: str) -> tuple[np.ndarray, np.ndarray]:
    """The checked float64 arrays X (n_x, m) and Y (1, m) of a file's bytes in ``source_format``."""
    X, Y = _PARSERS[source_format](data)
    return check_arrays(X, Y)


def read_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """The checked arrays of a data file on disk; DataError saying why it cannot be read."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc}") from None
    return parse(data, file_format(path.name, data))


def summarize(X: np.ndarray, Y: np.ndarray) -> dict[str, Any]:
    """Class counts and per-feature mean, standard deviation, minimum and maximum."""
    positives = int(Y.sum())
    return {
        "positives": positives,
        "negatives": int(Y.size - positives),
        "feature_mean": X.mean(axis=1).tolist(),
        "feature_std": X.std(axis=1).tolist(),
        "feature_min": X.min(axis=1).tolist(),
        "feature_max": X.max(axis=1).tolist(),
    }
